// Layer indexes: one layer's tar entries as metadata only, each regular file named by the
// sha256 of its content. A browser builds an image's RootFs from the indexes of its layers
// and fetches a file's bytes only when something reads it, by content (so identical files
// across layers and images are one download, cacheable forever). Entries stay in tar order
// and go through applyLayer, so whiteouts, opaque directories and hardlinks mean exactly what
// they mean in the layer itself. No Node APIs: the server and the static build produce
// indexes with the same code the browser reads them with.

import { type LayerEntry, applyLayer } from './apply-layer.js'
import { decompressBytes } from './compression.js'
import { DigestError, sha256Hex, verifyDigest } from './digest.js'
import { RootFs, type FileData } from './rootfs.js'
import type { TarEntryType } from './tar.js'
import { readTarSync } from './tar.js'
import type { LayerRef, RunImage } from '../runtimes/runtime.js'

export const LAYER_INDEX_VERSION = 1

export interface IndexEntry {
  path: string
  type: TarEntryType
  mode: number
  uid: number
  gid: number
  mtime: number
  /** Regular files: content length. */
  size?: number
  /** Regular files with content: the sha256 (hex) of the content. */
  sha256?: string
  /** Symlinks and hardlinks: the target, as archived. */
  linkname?: string
}

export interface LayerIndex {
  version: typeof LAYER_INDEX_VERSION
  /** The compressed layer blob this index describes. */
  digest: string
  entries: IndexEntry[]
}

export class LayerIndexError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LayerIndexError'
  }
}

/**
 * Indexes one layer blob. `onContent` receives each distinct file body once (by hash), so a
 * producer can publish it; the bodies are views into the decompressed layer.
 */
export async function indexLayer(
  layer: Pick<LayerRef, 'digest' | 'mediaType'>,
  blob: Uint8Array,
  onContent?: (sha256: string, data: Uint8Array) => void | Promise<void>,
  opts: { maxBytes?: number } = {},
): Promise<LayerIndex> {
  const tar = await decompressBytes(layer.mediaType, blob, opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes })
  const entries: IndexEntry[] = []
  const seen = new Set<string>()
  for (const e of readTarSync(tar)) {
    // Fixed key order: the JSON of an index is deterministic.
    const entry: IndexEntry = { path: e.path, type: e.type, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: Math.floor(e.mtime) }
    if (e.type === 'file') {
      entry.size = e.data.byteLength
      if (e.data.byteLength > 0) {
        const hex = await sha256Hex(e.data)
        entry.sha256 = hex
        if (!seen.has(hex)) {
          seen.add(hex)
          await onContent?.(hex, e.data)
        }
      }
    }
    if (e.type === 'symlink' || e.type === 'hardlink') entry.linkname = e.linkname
    entries.push(entry)
  }
  return { version: LAYER_INDEX_VERSION, digest: layer.digest, entries }
}

/** Checks JSON from elsewhere is a layer index (a wrong or damaged one fails here, not mid-boot). */
export function parseLayerIndex(json: unknown, digest: string): LayerIndex {
  const bad = (why: string): never => {
    throw new LayerIndexError(`the index of layer ${digest} is not usable: ${why}; rebuild it (boxplay's playground/widget step) or serve the layer without an index`)
  }
  if (typeof json !== 'object' || json === null) return bad('it is not a JSON object')
  const o = json as Partial<LayerIndex>
  if (o.version !== LAYER_INDEX_VERSION) return bad(`version ${String(o.version)}, expected ${LAYER_INDEX_VERSION}`)
  if (o.digest !== digest) return bad(`it describes ${String(o.digest)}`)
  if (!Array.isArray(o.entries)) return bad('it has no entries')
  for (const e of o.entries as unknown[]) {
    const x = e as Partial<IndexEntry>
    if (typeof x.path !== 'string' || typeof x.type !== 'string' || typeof x.mode !== 'number' || typeof x.uid !== 'number' || typeof x.gid !== 'number' || typeof x.mtime !== 'number') {
      return bad(`an entry lacks path, type, mode, uid, gid or mtime`)
    }
    if (x.type === 'file' && (typeof x.size !== 'number' || (x.size > 0 && !/^[a-f0-9]{64}$/.test(String(x.sha256))))) {
      return bad(`file entry "${x.path}" lacks its size or content hash`)
    }
  }
  return o as LayerIndex
}

/** Where indexes and contents come from (a `boxplay serve`, a static layout). */
export interface LayerIndexSource {
  /** The layer's index, or undefined when this source has none for it (then the blob is used). */
  index(layer: LayerRef): Promise<LayerIndex | undefined>
  /** A file's content by sha256 hex, verified against it. */
  content(sha256: string, size: number): Promise<Uint8Array>
}

/** Index entries as applyLayer entries whose file data loads on first read. */
export function lazyEntries(index: LayerIndex, source: Pick<LayerIndexSource, 'content'>): LayerEntry[] {
  return index.entries.map((e) => {
    let data: FileData = EMPTY
    if (e.type === 'file' && e.size && e.sha256) {
      const { size, sha256 } = e
      data = { size, load: () => source.content(sha256, size) }
    }
    return { path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, linkname: e.linkname ?? '', data }
  })
}

const EMPTY = new Uint8Array(0)

/**
 * Builds an image's RootFs from layer indexes: only the indexes are fetched now, file
 * contents when read. A layer the source has no index for is fetched whole, as buildRootFs does.
 */
export async function buildLazyRootFs(image: RunImage, source: LayerIndexSource): Promise<RootFs> {
  const fs = new RootFs()
  const indexes = await Promise.all(image.layers.map((l) => source.index(l)))
  for (const [i, layer] of image.layers.entries()) {
    const index = indexes[i]
    if (index) {
      applyLayer(fs, lazyEntries(index, source))
    } else {
      const tar = await decompressBytes(layer.mediaType, await image.blob(layer.digest))
      applyLayer(fs, readTarSync(tar))
    }
  }
  return fs
}

/**
 * Fetches a content by hash with `get` and verifies it: a wrong byte never reaches a guest.
 * Publishers store contents gzipped; what arrives may still be plain (a host that sent the
 * file with Content-Encoding, so fetch unpacked it, or a file that is itself gzip), so bytes
 * that verify as they are are taken as they are, and gzip is inflated, never past the size
 * the index promised.
 */
export async function verifiedContent(get: () => Promise<Uint8Array>, sha256: string, size: number): Promise<Uint8Array> {
  const fetched = await get()
  const digest = `sha256:${sha256}`
  const gzipped = fetched.byteLength >= 2 && fetched[0] === 0x1f && fetched[1] === 0x8b
  if (!gzipped || (fetched.byteLength === size && (await sha256Hex(fetched)) === sha256)) {
    await verifyDigest(fetched, digest, size)
    return fetched
  }
  let bytes: Uint8Array
  try {
    bytes = await decompressBytes('gzip', fetched, { maxBytes: size })
  } catch (e) {
    throw new DigestError(`content ${digest} does not inflate to its ${size} bytes: ${(e as Error).message}`)
  }
  await verifyDigest(bytes, digest, size)
  return bytes
}
