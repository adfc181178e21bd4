// `boxplay save`: stored images into one tarball that other tools load.
//
//   docker-archive (default): the layout `docker save` writes since Docker 25 — an OCI layout
//     (oci-layout, index.json, blobs/sha256/HEX: one file per layer, config and manifest)
//     plus Docker's own manifest.json (Config, RepoTags, Layers as paths into blobs/) and
//     `repositories`. `docker load`, `podman load` and skopeo's `docker-archive:` read
//     manifest.json; `boxplay load` reads the OCI part, so the digests survive a round trip.
//     manifest.json holds one platform per image (docker save's limit): --platform, else
//     the first of boxplay's default platforms whose layers are in the store.
//   oci-archive: the OCI layout alone, each name as org.opencontainers.image.ref.name (what
//     `skopeo copy … oci-archive:FILE:NAME` writes).
//
// Layers are written as stored (compressed): loaders detect the compression, and rewriting
// them would change the manifests' digests. The output is deterministic — sorted members,
// fixed owners, modes and times — so saving the same images twice gives the same bytes.
// Every blob is hashed while it is copied; a damaged store fails the save. A file is written
// beside its final path and renamed when complete, so a failed save leaves nothing behind.

import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, promises as fsp } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { Writable } from 'node:stream'
import { DEFAULT_PLATFORM_ORDER, type ResolvedImage, resolveImage } from '../../web/oci/image.js'
import type { Descriptor } from '../../web/oci/manifest.js'
import { OCI_INDEX } from '../../web/oci/media-types.js'
import { type Platform, formatPlatform } from '../../web/oci/platform.js'
import { parseReference } from '../../web/oci/reference.js'
import { digestHex } from '../store/blobs.js'
import { CONTAINERD_NAME, REF_NAME } from '../store/layout.js'
import { splitName } from '../store/names.js'
import type { ImageEntry, Store } from '../store/store.js'
import { type TarSink, TarWriter } from './tar-writer.js'

export type SaveFormat = 'docker-archive' | 'oci-archive'

export interface SaveOptions {
  format?: SaveFormat
  /** The platform docker-archive's manifest.json describes for multi-platform images. */
  platform?: Platform
}

export interface SaveResult {
  format: SaveFormat
  images: { name: string | null; digest: string }[]
  blobs: number
  bytes: number
}

export class SaveError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SaveError'
  }
}

interface StoredBlob {
  digest: string
  size: number
}

interface Planned {
  entry: ImageEntry
  /** Blobs of this image present in the store (an index's platforms pulled without layers have none). */
  blobs: StoredBlob[]
  /** docker-archive only: the one platform manifest.json describes. */
  image?: ResolvedImage
}

/** Checks every image and gathers its blobs before anything is written. */
async function plan(store: Store, queries: readonly string[], opts: SaveOptions): Promise<Planned[]> {
  if (queries.length === 0) throw new SaveError('save needs at least one IMAGE')
  const planned: Planned[] = []
  const seen = new Set<string>()
  for (const q of queries) {
    const entry = await store.get(q)
    const key = `${entry.name ?? ''}\0${entry.descriptor.digest}`
    if (seen.has(key)) continue
    seen.add(key)
    const reached = await store.reach(entry.descriptor)
    const blobs: StoredBlob[] = []
    for (const digest of reached.digests) {
      if (store.hasBlob(digest)) blobs.push({ digest, size: (await fsp.stat(store.blobPath(digest))).size })
    }
    const p: Planned = { entry, blobs }
    if (opts.format !== 'oci-archive') p.image = await dockerPlatform(store, entry, opts.platform)
    planned.push(p)
  }
  return planned
}

/** The platform of an image that docker-archive's manifest.json can describe. */
async function dockerPlatform(store: Store, entry: ImageEntry, want: Platform | undefined): Promise<ResolvedImage> {
  const shown = entry.name ?? entry.descriptor.digest
  const complete = (image: ResolvedImage): boolean => store.hasBlob(image.manifest.config.digest) && image.layers.every((l) => store.hasBlob(l.digest))
  if (want) {
    const image = await resolveImage(store.contentSource(), shown, want)
    if (!complete(image)) throw new SaveError(`image ${shown} has no ${formatPlatform(want)} layers in the store: pull it with --platform ${formatPlatform(want)}`)
    return image
  }
  let first: unknown
  for (const p of [undefined, ...DEFAULT_PLATFORM_ORDER]) {
    try {
      const image = await resolveImage(store.contentSource(), shown, p)
      if (complete(image)) return image
    } catch (e) {
      first ??= e
    }
  }
  if (first instanceof Error && !/not in the store/.test(first.message)) throw first
  throw new SaveError(`image ${shown} has no platform whose layers are all in the store: pull it again, or save it with --format oci-archive`)
}

/** The whole archive, written through `sink`. */
async function writeArchive(store: Store, planned: Planned[], format: SaveFormat, sink: TarSink): Promise<SaveResult> {
  const tar = new TarWriter(sink)
  const blobs = new Map<string, StoredBlob>()
  for (const p of planned) for (const b of p.blobs) blobs.set(b.digest, b)
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1))
  const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))

  await tar.directory('blobs')
  await tar.directory('blobs/sha256')
  let bytes = 0
  for (const b of sorted) {
    await tar.stream(`blobs/sha256/${digestHex(b.digest)}`, b.size, verifiedStream(store.blobPath(b.digest), b.digest))
    bytes += b.size
  }

  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: planned.map((p) => indexEntry(p.entry, format)),
  }
  await tar.file('index.json', json(index))
  if (format === 'docker-archive') {
    // One manifest.json entry per platform manifest, with every name that points at it.
    const items = new Map<string, { Config: string; RepoTags: string[] | null; Layers: string[] }>()
    const repositories: Record<string, Record<string, string>> = {}
    for (const p of planned) {
      const image = p.image!
      const item = items.get(image.digest) ?? {
        Config: `blobs/sha256/${digestHex(image.manifest.config.digest)}`,
        RepoTags: null,
        Layers: image.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`),
      }
      if (p.entry.name !== undefined) {
        item.RepoTags = [...(item.RepoTags ?? []), p.entry.name]
        const { repository, tag } = splitName(p.entry.name)
        const top = image.layers.at(-1)
        if (top && tag && !tag.startsWith('sha256:')) (repositories[repository] ??= {})[tag] = digestHex(top.digest)
      }
      items.set(image.digest, item)
    }
    await tar.file('manifest.json', json([...items.values()]))
    await tar.file('oci-layout', json({ imageLayoutVersion: '1.0.0' }))
    await tar.file('repositories', json(repositories))
  } else {
    await tar.file('oci-layout', json({ imageLayoutVersion: '1.0.0' }))
  }
  await tar.end()
  return { format, images: planned.map((p) => ({ name: p.entry.name ?? null, digest: p.entry.descriptor.digest })), blobs: sorted.length, bytes }
}

/** index.json's entry for an image: Docker names it as docker save does, OCI by its stored name. */
function indexEntry(entry: ImageEntry, format: SaveFormat): Descriptor {
  const { annotations, ...d } = entry.descriptor
  const ann: Record<string, string> = { ...(annotations ?? {}) }
  delete ann[REF_NAME]
  delete ann[CONTAINERD_NAME]
  if (entry.name !== undefined) {
    if (format === 'docker-archive') {
      let full: string | undefined
      try {
        full = parseReference(entry.name).toString()
      } catch {
        full = undefined // a store-local name that is no reference: only the tag annotation
      }
      if (full) ann[CONTAINERD_NAME] = full
      ann[REF_NAME] = splitName(entry.name).tag || 'latest'
    } else {
      ann[REF_NAME] = entry.name
    }
  }
  return Object.keys(ann).length > 0 ? { ...d, annotations: ann } : d
}

async function* verifiedStream(path: string, digest: string): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk)
    yield chunk
  }
  const got = `sha256:${hash.digest('hex')}`
  if (got !== digest) throw new SaveError(`blob ${digest} in the store has digest ${got}: the store is damaged; run prune and pull the image again`)
}

/** Saves to a file, atomically: a temp file beside it, renamed when complete. */
export async function saveToFile(store: Store, queries: readonly string[], file: string, opts: SaveOptions = {}): Promise<SaveResult> {
  const format = opts.format ?? 'docker-archive'
  const planned = await plan(store, queries, { ...opts, format })
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  let fh: fsp.FileHandle
  try {
    fh = await fsp.open(tmp, 'wx', 0o644)
  } catch (e) {
    throw new SaveError(`cannot write ${file}: ${(e as Error).message}`)
  }
  try {
    const result = await writeArchive(store, planned, format, {
      write: async (bytes) => {
        await fh.write(bytes)
      },
    })
    await fh.close()
    await fsp.rename(tmp, file)
    return result
  } catch (e) {
    await fh.close().catch(() => undefined)
    await fsp.rm(tmp, { force: true })
    throw e
  }
}

/** Saves to a stream (stdout), honouring backpressure. Refuses a terminal, as docker does. */
export async function saveToStream(store: Store, queries: readonly string[], out: Writable & { isTTY?: boolean }, opts: SaveOptions = {}): Promise<SaveResult> {
  if (out.isTTY) throw new SaveError('refusing to write a tarball to a terminal: use -o FILE, or redirect standard output')
  const format = opts.format ?? 'docker-archive'
  const planned = await plan(store, queries, { ...opts, format })
  return writeArchive(store, planned, format, {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        out.write(bytes, (e) => (e ? reject(e) : resolve()))
      }),
  })
}
