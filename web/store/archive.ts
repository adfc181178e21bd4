// Tarballs the page hands a learner: a kept image as `docker save` writes it (the layout
// server/image/save.ts writes: an OCI layout plus Docker's manifest.json and repositories,
// so `boxplay load`, `docker load` and `podman load` read it), and a container's changes as
// the plain layer tar. Deterministic: sorted members, owner 0:0, mtime 0.
// (server/image/tar-writer.ts is the same small writer for Node; web/ cannot import it.)

import { concatBytes } from '../oci/bytes.js'
import { parseManifest } from '../oci/manifest.js'
import { OCI_INDEX } from '../oci/media-types.js'
import { parseReference } from '../oci/reference.js'
import { decompressBytes } from '../oci/compression.js'
import type { BrowserStore } from './browser-store.js'
import { StoreError } from './errors.js'

const BLOCK = 512
const encoder = new TextEncoder()

function header(name: string, type: '0' | '5', size: number): Uint8Array {
  const h = new Uint8Array(BLOCK)
  const put = (offset: number, text: string) => h.set(encoder.encode(text), offset)
  const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, '0')}\0`
  if (encoder.encode(name).byteLength > 100) throw new StoreError('invalid', `archive member name ${name} is longer than 100 bytes`)
  put(0, name)
  put(100, octal(type === '5' ? 0o755 : 0o644, 8))
  put(108, octal(0, 8))
  put(116, octal(0, 8))
  put(124, octal(size, 12))
  put(136, octal(0, 12))
  h.fill(0x20, 148, 156)
  put(156, type)
  put(257, 'ustar\0')
  put(263, '00')
  let sum = 0
  for (const b of h) sum += b
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `)
  return h
}

/** An in-memory tar of directories and files, in the order given. */
export function tarOf(members: readonly { name: string; bytes?: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const m of members) {
    if (m.bytes === undefined) {
      parts.push(header(m.name.endsWith('/') ? m.name : `${m.name}/`, '5', 0))
      continue
    }
    parts.push(header(m.name, '0', m.bytes.byteLength), m.bytes)
    const rest = m.bytes.byteLength % BLOCK
    if (rest) parts.push(new Uint8Array(BLOCK - rest))
  }
  parts.push(new Uint8Array(2 * BLOCK))
  return concatBytes(parts)
}

const hex = (digest: string) => digest.slice('sha256:'.length)
const json = (v: unknown) => encoder.encode(JSON.stringify(v))

/** Kept images as one `docker save` tarball (docker-archive). */
export async function saveImages(store: BrowserStore, names: readonly string[]): Promise<Uint8Array> {
  if (names.length === 0) throw new StoreError('invalid', 'choose at least one image to download')
  const blobs = new Map<string, Uint8Array>()
  const indexEntries: unknown[] = []
  const items: { Config: string; RepoTags: string[]; Layers: string[] }[] = []
  const repositories: Record<string, Record<string, string>> = {}
  for (const name of names) {
    const record = await store.images.get(name)
    const manifestBytes = await store.blobs.get(record.digest)
    const manifest = parseManifest(manifestBytes, record.mediaType)
    blobs.set(record.digest, manifestBytes)
    blobs.set(manifest.config.digest, await store.blobs.get(manifest.config.digest))
    for (const l of manifest.layers) blobs.set(l.digest, await store.blobs.get(l.digest))
    indexEntries.push({
      mediaType: record.mediaType,
      digest: record.digest,
      size: manifestBytes.byteLength,
      annotations: { 'io.containerd.image.name': parseReference(record.name).toString(), 'org.opencontainers.image.ref.name': record.name.slice(record.name.lastIndexOf(':') + 1) },
    })
    items.push({ Config: `blobs/sha256/${hex(manifest.config.digest)}`, RepoTags: [record.name], Layers: manifest.layers.map((l) => `blobs/sha256/${hex(l.digest)}`) })
    const colon = record.name.lastIndexOf(':')
    const top = manifest.layers.at(-1)
    if (top) (repositories[record.name.slice(0, colon)] ??= {})[record.name.slice(colon + 1)] = hex(top.digest)
  }
  const members: { name: string; bytes?: Uint8Array }[] = [{ name: 'blobs' }, { name: 'blobs/sha256' }]
  for (const digest of [...blobs.keys()].sort()) members.push({ name: `blobs/sha256/${hex(digest)}`, bytes: blobs.get(digest)! })
  members.push(
    { name: 'index.json', bytes: json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: indexEntries }) },
    { name: 'manifest.json', bytes: json(items) },
    { name: 'oci-layout', bytes: json({ imageLayoutVersion: '1.0.0' }) },
    { name: 'repositories', bytes: json(repositories) },
  )
  return tarOf(members)
}

/** A container's changes as a plain tar (its writable layer, whiteouts included). */
export async function containerChangesTar(store: BrowserStore, nameOrId: string): Promise<Uint8Array> {
  const kept = await store.containers.layer(nameOrId)
  if (!kept) return tarOf([])
  return decompressBytes(kept.record.changes!.mediaType, kept.blob)
}
