// `boxplay load`: images from files into the store.
//   - an OCI image layout directory: every image of its index.json, under its name;
//   - an OCI archive (an OCI layout inside a tar, what `skopeo copy … oci-archive:` writes);
//   - a `docker save` tarball: manifest.json + config + layer tars (uncompressed or gzip),
//     including the newer docker save that also embeds an OCI layout.
// A tarball may itself be gzip-compressed (`docker save | gzip`).
//
// Names: `io.containerd.image.name` (docker's full name) if present, else the OCI
// `org.opencontainers.image.ref.name` — normalised to the familiar form when it is a full
// reference (`docker.io/library/busybox:latest` → `busybox:latest`), kept verbatim when it
// is a bare tag such as `v1`; docker save's RepoTags likewise. Unnamed images are stored
// without a name (shown as <none>, usable by digest).
//
// Every file of a tarball is streamed once to a temp file in the store, hashed on the way;
// blobs named by digest must match it. Only what an image uses is moved into blobs/.

import { createReadStream, existsSync, promises as fsp, statSync } from 'node:fs'
import { join, posix } from 'node:path'
import { createGunzip } from 'node:zlib'
import { type Descriptor, parseImageConfig, parseIndex } from '../../web/oci/manifest.js'
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST } from '../../web/oci/media-types.js'
import { readTar } from '../../web/oci/tar.js'
import { commitBlob, readVerified, writeVerified } from '../store/blobs.js'
import { CONTAINERD_NAME, REF_NAME, readIndex } from '../store/layout.js'
import { storeNameFor } from '../store/names.js'
import type { Store } from '../store/store.js'
import type { TempDir } from '../store/temp.js'
import { reachableDescriptors } from '../store/walk.js'

export class LoadError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LoadError'
  }
}

export interface LoadResult {
  format: 'oci-layout' | 'oci-archive' | 'docker-archive'
  /** Names added (unnamed images appear as their digest). */
  images: { name: string | null; digest: string }[]
}

/** The store name for a name found in a layout or tarball. */
export function loadedName(annotations: Record<string, string> | undefined): string | undefined {
  const full = annotations?.[CONTAINERD_NAME]
  if (full) {
    try {
      return storeNameFor(full)
    } catch {
      // fall through to the OCI name
    }
  }
  const name = annotations?.[REF_NAME]
  if (!name) return undefined
  if (/[:/@]/.test(name)) {
    try {
      return storeNameFor(name)
    } catch {
      return name
    }
  }
  return name
}

export async function load(store: Store, path: string): Promise<LoadResult> {
  let st
  try {
    st = statSync(path)
  } catch {
    throw new LoadError(`cannot load ${path}: no such file or directory`)
  }
  if (st.isDirectory()) return loadLayoutDir(store, path)
  return loadTarball(store, path)
}

// ---------------------------------------------------------------------------------------
// An OCI layout directory.

async function loadLayoutDir(store: Store, dir: string): Promise<LoadResult> {
  if (!existsSync(join(dir, 'index.json')) || !existsSync(join(dir, 'oci-layout'))) {
    throw new LoadError(`${dir} is not an OCI image layout (it needs oci-layout and index.json)`)
  }
  const index = await readIndex(join(dir, 'index.json'))
  const blobPath = (digest: string) => join(dir, 'blobs', 'sha256', digest.slice(7))
  const read = async (digest: string) => {
    if (!existsSync(blobPath(digest))) return undefined
    return readVerified(blobPath(digest), digest).catch((e: Error) => {
      throw new LoadError(`${dir}: blobs/sha256/${digest.slice(7)} does not match its digest (${e.message.replace(/^.*has digest/, 'it has digest').replace(/: the store.*$/, '')}): the layout is corrupt`)
    })
  }
  return store.withTemp(async (tmp) => {
    const items: { name: string | undefined; descriptor: Descriptor }[] = []
    const required: string[] = []
    for (const d of index.manifests) {
      if (!existsSync(blobPath(d.digest))) throw new LoadError(`${dir} names ${d.digest}, but that blob is not in its blobs/sha256/`)
      for (const b of await reachableDescriptors(read, d)) {
        const src = blobPath(b.digest)
        if (!existsSync(src)) continue // another platform's layers, not included
        if (!store.hasBlob(b.digest)) await store.putBlob(tmp, createReadStream(src, { highWaterMark: 1 << 20 }), { digest: b.digest })
        required.push(b.digest)
      }
      items.push({ name: loadedName(d.annotations), descriptor: withoutNames(d) })
    }
    await store.setNames(items, required)
    return { format: 'oci-layout' as const, images: items.map((i) => ({ name: i.name ?? null, digest: i.descriptor.digest })) }
  })
}

function withoutNames(d: Descriptor): Descriptor {
  const { annotations, ...rest } = d
  const keep = { ...(annotations ?? {}) }
  delete keep[REF_NAME]
  return Object.keys(keep).length > 0 ? { ...rest, annotations: keep } : rest
}

// ---------------------------------------------------------------------------------------
// Tarballs.

interface Member {
  tmpPath: string
  digest: string
  size: number
  /** Kept in memory when small (JSON documents). */
  bytes?: Uint8Array
}

/** Documents (JSON, manifests, configs) are also kept in memory; layers only on disk. */
function keepInMemory(path: string, size: number): boolean {
  if (size > 1 << 20) return false
  return !path.includes('/') || path.endsWith('.json') || (path.startsWith('blobs/') && size <= 256 << 10)
}

async function fileSource(path: string): Promise<AsyncIterable<Uint8Array>> {
  const fh = await fsp.open(path, 'r')
  const head = Buffer.alloc(2)
  await fh.read(head, 0, 2, 0)
  await fh.close()
  const file = createReadStream(path, { highWaterMark: 1 << 20 })
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 1 << 18 })
    file.on('error', (e) => gunzip.destroy(e))
    return file.pipe(gunzip)
  }
  return file
}

function cleanPath(p: string): string {
  return posix.normalize(p.replace(/^\/+/, '')).replace(/^(\.\/)+/, '').replace(/\/$/, '')
}

async function loadTarball(store: Store, path: string): Promise<LoadResult> {
  return store.withTemp(async (tmp) => {
    const members = new Map<string, Member>()
    const links = new Map<string, string>()
    try {
      for await (const entry of readTar(await fileSource(path))) {
        const name = cleanPath(entry.path)
        if (entry.type === 'symlink') links.set(name, cleanPath(posix.join(posix.dirname(name), entry.linkname)))
        else if (entry.type === 'hardlink') links.set(name, cleanPath(entry.linkname))
        if (entry.type !== 'file') continue
        const tmpPath = tmp.name('member')
        if (keepInMemory(name, entry.size)) {
          const bytes = await entry.bytes()
          const w = await writeVerified(tmpPath, (async function* () {
            yield bytes
          })())
          members.set(name, { tmpPath, ...w, bytes })
        } else {
          const w = await writeVerified(tmpPath, entry.chunks())
          members.set(name, { tmpPath, ...w })
        }
      }
    } catch (e) {
      throw new LoadError(`cannot read ${path} as a tar archive: ${(e as Error).message}`)
    }
    const get = (p: string): Member | undefined => {
      let key = cleanPath(p)
      for (let hops = 0; hops < 16 && !members.has(key) && links.has(key); hops++) key = links.get(key)!
      return members.get(key)
    }
    if (get('oci-layout') && get('index.json')) return loadOciArchive(store, tmp, get, members.has('manifest.json'))
    if (get('manifest.json')) return loadDockerArchive(store, tmp, get)
    throw new LoadError(`${path} is neither a docker save tarball (no manifest.json) nor an OCI archive (no oci-layout + index.json)`)
  })
}

type Lookup = (path: string) => Member | undefined

async function memberBytes(m: Member): Promise<Uint8Array> {
  return m.bytes ?? new Uint8Array(await fsp.readFile(m.tmpPath))
}

async function loadOciArchive(store: Store, tmp: TempDir, get: Lookup, alsoDocker: boolean): Promise<LoadResult> {
  const indexBytes = await memberBytes(get('index.json')!)
  const index = parseIndex(indexBytes)
  const blob = (digest: string): Member | undefined => {
    const m = get(`blobs/sha256/${digest.slice(7)}`)
    if (m && m.digest !== digest) throw new LoadError(`the archive's blobs/sha256/${digest.slice(7)} does not match its name (it hashes to ${m.digest}): the archive is corrupt`)
    return m
  }
  const read = async (digest: string) => {
    const m = blob(digest)
    return m ? memberBytes(m) : undefined
  }
  const items: { name: string | undefined; descriptor: Descriptor }[] = []
  const required: string[] = []
  for (const d of index.manifests) {
    if (!blob(d.digest)) throw new LoadError(`the archive's index.json names ${d.digest}, which the archive does not contain`)
    for (const b of await reachableDescriptors(read, d)) {
      const m = blob(b.digest)
      if (!m) continue // e.g. a newer docker save: only the host platform's layers are included
      await commitBlob(m.tmpPath, store.blobPath(b.digest)).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e // already committed for an earlier image of this archive
      })
      required.push(b.digest)
    }
    items.push({ name: loadedName(d.annotations), descriptor: withoutNames(d) })
  }
  await store.setNames(items, required)
  void tmp
  return { format: alsoDocker ? 'docker-archive' : 'oci-archive', images: items.map((i) => ({ name: i.name ?? null, digest: i.descriptor.digest })) }
}

interface DockerManifestItem {
  Config?: unknown
  RepoTags?: unknown
  Layers?: unknown
}

async function loadDockerArchive(store: Store, tmp: TempDir, get: Lookup): Promise<LoadResult> {
  let items: DockerManifestItem[]
  try {
    items = JSON.parse(new TextDecoder().decode(await memberBytes(get('manifest.json')!))) as DockerManifestItem[]
    if (!Array.isArray(items)) throw new Error('not an array')
  } catch (e) {
    throw new LoadError(`the tarball's manifest.json is not a docker save manifest (${(e as Error).message})`)
  }
  const names: { name: string | undefined; descriptor: Descriptor }[] = []
  const required: string[] = []
  const put = async (m: Member): Promise<void> => {
    if (!store.hasBlob(m.digest)) {
      await fsp.link(m.tmpPath, store.blobPath(m.digest)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e
      })
    }
    required.push(m.digest)
  }
  for (const [i, item] of items.entries()) {
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers) || item.Layers.some((l) => typeof l !== 'string')) {
      throw new LoadError(`manifest.json entry ${i} lacks Config or Layers`)
    }
    const configMember = get(item.Config)
    if (!configMember) throw new LoadError(`manifest.json entry ${i} names config ${item.Config}, which the tarball does not contain`)
    const configBytes = await memberBytes(configMember)
    const config = parseImageConfig(configBytes)
    const layers: Descriptor[] = []
    for (const [j, layerPath] of (item.Layers as string[]).entries()) {
      const m = get(layerPath)
      if (!m) throw new LoadError(`manifest.json entry ${i} names layer ${layerPath}, which the tarball does not contain`)
      const fh = await fsp.open(m.tmpPath, 'r')
      const head = Buffer.alloc(2)
      await fh.read(head, 0, 2, 0)
      await fh.close()
      const gzip = head[0] === 0x1f && head[1] === 0x8b
      if (!gzip && config.rootfs.diff_ids[j] !== undefined && config.rootfs.diff_ids[j] !== m.digest) {
        throw new LoadError(`layer ${layerPath} hashes to ${m.digest} but the image config says ${config.rootfs.diff_ids[j]}: the tarball is corrupt`)
      }
      await put(m)
      layers.push({ mediaType: gzip ? OCI_LAYER_GZIP : OCI_LAYER_TAR, digest: m.digest, size: m.size })
    }
    if (layers.length !== config.rootfs.diff_ids.length) {
      throw new LoadError(`manifest.json entry ${i} has ${layers.length} layers but its config lists ${config.rootfs.diff_ids.length}`)
    }
    await put(configMember)
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: configMember.digest, size: configMember.size },
        layers,
      }),
    )
    const written = await store.putBytes(tmp, manifest)
    required.push(written.digest)
    const descriptor: Descriptor = { mediaType: OCI_MANIFEST, digest: written.digest, size: written.size }
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t): t is string => typeof t === 'string') : []
    if (tags.length === 0) names.push({ name: undefined, descriptor })
    for (const t of tags) {
      let name: string
      try {
        name = storeNameFor(t)
      } catch {
        name = t
      }
      names.push({ name, descriptor })
    }
  }
  await store.setNames(names, required)
  return { format: 'docker-archive', images: names.map((n) => ({ name: n.name ?? null, digest: n.descriptor.digest })) }
}
