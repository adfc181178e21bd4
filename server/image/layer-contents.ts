// Publishes layer indexes and file contents as files, so browsers can build a RootFs from
// metadata and fetch only the files a run reads (web/oci/layer-index.ts). One layout serves
// both the static playground (beside the bundled OCI layout) and `boxplay serve` (beside
// its store):
//   DIR/lazy/HEX.json   the index of the layer blob sha256:HEX
//   DIR/content/HEX.gz  a regular file's content whose sha256 is HEX, gzipped (a busybox
//                       run fetches ~1 MB instead of ~2 MB)
// Written once (atomically: temp file + rename), content-addressed, so never rewritten.

import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { indexLayer, type LayerIndex } from '../../web/oci/layer-index.js'
import { maxLayerBytes } from '../store/layer-cache.js'
import { isLayerMediaType } from '../../web/oci/media-types.js'

export interface PublishedFile {
  path: string
  size: number
}

export function lazyPaths(dir: string): { index: (digest: string) => string; content: (hex: string) => string } {
  return {
    index: (digest) => join(dir, 'lazy', `${digest.replace(/^sha256:/, '')}.json`),
    content: (hex) => join(dir, 'content', `${hex}.gz`),
  }
}

const gzipAsync = promisify(gzip)

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(tmp, data)
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}

/**
 * Indexes the layer blob at `blobPath` (its digest already verified by the caller's store)
 * into `dir`, unless done before. Media type: the blob's magic bytes decide (gzip, zstd, tar).
 */
export async function publishLayer(dir: string, digest: string, blobPath: string): Promise<PublishedFile> {
  const paths = lazyPaths(dir)
  const indexPath = paths.index(digest)
  if (await isPublished(indexPath, paths.content)) return { path: indexPath, size: (await stat(indexPath)).size }
  await mkdir(join(dir, 'lazy'), { recursive: true })
  await mkdir(join(dir, 'content'), { recursive: true })
  const blob = await readFile(blobPath)
  // The same decompression-bomb cap as unpacking: the index is built in memory.
  const index = await indexLayer(
    { digest, mediaType: 'none' },
    blob,
    async (hex, data) => {
      const path = paths.content(hex)
      if (!existsSync(path)) await writeAtomic(path, await gzipAsync(data))
    },
    { maxBytes: maxLayerBytes() },
  )
  const json = JSON.stringify(index)
  await writeAtomic(indexPath, json)
  return { path: indexPath, size: Buffer.byteLength(json) }
}

/**
 * An index whose contents are there too. Stores from before contents were gzipped have the
 * index and plain content files: those layers are published again (prune drops the old files).
 */
async function isPublished(indexPath: string, contentPath: (hex: string) => string): Promise<boolean> {
  let index: LayerIndex
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8')) as LayerIndex
  } catch {
    return false
  }
  const sample = index.entries.find((e) => e.sha256)
  return sample === undefined || existsSync(contentPath(sample.sha256!))
}

/** A published content file, or undefined when no indexed layer had it. */
export async function publishedContent(dir: string, hex: string): Promise<PublishedFile | undefined> {
  const path = lazyPaths(dir).content(hex)
  try {
    return { path, size: (await stat(path)).size }
  } catch {
    return undefined
  }
}

/** One publisher per directory for a long-running server: concurrent asks index a layer once. */
export class LayerContents {
  private readonly pending = new Map<string, Promise<PublishedFile>>()

  constructor(readonly dir: string) {}

  index(digest: string, blobPath: string): Promise<PublishedFile> {
    let p = this.pending.get(digest)
    if (!p) {
      p = publishLayer(this.dir, digest, blobPath).finally(() => this.pending.delete(digest))
      this.pending.set(digest, p)
    }
    return p
  }

  content(hex: string): Promise<PublishedFile | undefined> {
    return publishedContent(this.dir, hex)
  }
}

interface LayoutDoc {
  manifests?: { digest: string }[]
  config?: { digest: string }
  layers?: { digest: string; mediaType: string }[]
}

/**
 * Publishes lazy/ and content/ for a static OCI layout into `outDir` (by default beside it):
 * every layer of every image it holds, through every index. Returns how many layers it indexed.
 */
export async function publishLayoutLayers(
  layoutDir: string,
  outDir = layoutDir,
  /** Which images' layers to index, by their config's platform (v86, the lazy reader, runs linux/386). */
  wanted: (platform: { os: string; architecture: string }) => boolean = () => true,
): Promise<number> {
  const blobPath = (digest: string) => join(layoutDir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''))
  const seen = new Set<string>()
  let layers = 0
  const visit = async (doc: LayoutDoc): Promise<void> => {
    for (const m of doc.manifests ?? []) {
      if (seen.has(m.digest)) continue
      seen.add(m.digest)
      await visit(JSON.parse(await readFile(blobPath(m.digest), 'utf8')) as LayoutDoc)
    }
    if (doc.config && !wanted(JSON.parse(await readFile(blobPath(doc.config.digest), 'utf8')) as { os: string; architecture: string })) return
    for (const l of doc.layers ?? []) {
      if (seen.has(l.digest) || !isLayerMediaType(l.mediaType)) continue
      seen.add(l.digest)
      await publishLayer(outDir, l.digest, blobPath(l.digest))
      layers++
    }
  }
  await visit(JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as LayoutDoc)
  return layers
}

/**
 * Prune's share: drops the indexes of layer blobs no longer kept, then every content file no
 * remaining index names (plain ones from before contents were gzipped too). Returns what it freed.
 */
export async function pruneLayerContents(dir: string, keepBlobHex: ReadonlySet<string>): Promise<{ files: number; bytes: number }> {
  const freed = { files: 0, bytes: 0 }
  const drop = async (path: string): Promise<void> => {
    const st = await stat(path).catch(() => undefined)
    if (!st) return
    await rm(path, { force: true })
    freed.files++
    freed.bytes += st.size
  }
  const lazyDir = join(dir, 'lazy')
  const contentDir = join(dir, 'content')
  if (!existsSync(lazyDir)) return freed
  const named = new Set<string>()
  for (const name of await readdir(lazyDir)) {
    const hex = name.replace(/\.json$/, '')
    if (!name.endsWith('.json') || !keepBlobHex.has(hex)) {
      await drop(join(lazyDir, name))
      continue
    }
    const index = JSON.parse(await readFile(join(lazyDir, name), 'utf8')) as LayerIndex
    for (const e of index.entries) if (e.sha256) named.add(`${e.sha256}.gz`)
  }
  for (const name of existsSync(contentDir) ? await readdir(contentDir) : []) {
    if (!named.has(name)) await drop(join(contentDir, name))
  }
  return freed
}
