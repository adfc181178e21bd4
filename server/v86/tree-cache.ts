// The v86 image tree in Node, built once per layer and kept on disk. Merging a Debian layer
// (~200 MB, ~8,000 files) from its blob means inflating and parsing the whole tar on every
// run (~1.5 s); a guest then reads a few dozen of those files. So each layer blob is indexed
// once into the cache dir:
//   <hex>.pack        every distinct regular-file body of the layer, back to back
//   <hex>.v<N>.json   the layer's index (web/oci/layer-index.ts: entries in tar order, files
//                     by sha256) plus where each body sits in the pack, and a checksum
// and runs build their RootFs from the index (buildLazyRootFs), reading a body from the pack
// only when the guest opens the file.
//
// The key is the layer blob's digest and the format version, nothing else: a blob's bytes
// never change under its digest, so neither does its index; image names, configs, other
// layers, mtimes or the store's location do not matter. A cache file that does not parse,
// fails its checksum or disagrees with its pack's size is rebuilt before use; a body that
// does not match its sha256 when read (the pack changed under us) makes the layer rebuild
// and the read retry, so a damaged cache costs one rebuild, never wrong bytes in a guest.

import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { maxLayerBytes } from '../store/layer-cache.js'
import { parseDigest } from '../../web/oci/digest.js'
import { type LayerIndex, buildLazyRootFs, indexLayer, parseLayerIndex } from '../../web/oci/layer-index.js'
import type { RootFs } from '../../web/oci/rootfs.js'
import type { LayerRef, RunImage } from '../../web/runtimes/runtime.js'

/** Bump when the cache files' layout or meaning changes: older files are then ignored. */
export const TREE_CACHE_FORMAT = 1

interface CachedLayer {
  format: typeof TREE_CACHE_FORMAT
  /** The layer blob's digest, again: a file renamed onto another key is caught. */
  digest: string
  packBytes: number
  /** sha256 hex → [offset, length] in the pack. */
  bodies: Record<string, [number, number]>
  index: LayerIndex
}

interface StoredLayer extends CachedLayer {
  /** sha256 hex of the JSON of everything else (CachedLayer, fixed key order). */
  checksum: string
}

export interface TreeCacheOptions {
  /** The decompression-bomb cap for building an index (default: the store's, maxLayerBytes). */
  maxLayerBytes?: number
  log?: (message: string) => void
}

/** Where a body is, once its layer's cache is loaded. */
interface Body {
  layer: string
  offset: number
  length: number
}

/**
 * Layer indexes and bodies from a cache dir, built on first use from the image's blobs. One
 * instance per process is enough; it may serve many images (shared layers are one entry).
 */
export class TreeCache {
  private readonly layers = new Map<string, Promise<CachedLayer>>()
  private readonly bodies = new Map<string, Body>()
  /** How each layer was obtained in this process, for tests and logs. */
  readonly events: { digest: string; how: 'built' | 'loaded' | 'rebuilt'; why?: string }[] = []

  constructor(
    readonly dir: string,
    private readonly options: TreeCacheOptions = {},
  ) {}

  /** The image's tree: indexes from the cache (built where missing), bodies read on demand. */
  async rootFs(image: RunImage): Promise<RootFs> {
    return buildLazyRootFs(image, {
      index: async (layer) => (await this.layer(layer, image)).index,
      content: (sha256, size) => this.content(sha256, size),
    })
  }

  async content(sha256: string, size: number): Promise<Uint8Array> {
    const body = this.bodies.get(sha256)
    if (!body) throw new Error(`no cached layer of this process holds the file body sha256:${sha256}`)
    const bytes = await this.readBody(body, size)
    if (sha256Of(bytes) === sha256) return bytes
    // The pack changed under its index: rebuild that layer from its blob, then read again.
    await this.rebuild(body.layer, `the body sha256:${sha256} in its pack does not match`)
    const again = this.bodies.get(sha256)
    const retried = again ? await this.readBody(again, size) : new Uint8Array(0)
    if (sha256Of(retried) !== sha256) throw new Error(`the v86 tree cache in ${this.dir} cannot produce sha256:${sha256} even after a rebuild`)
    return retried
  }

  paths(digest: string): { json: string; pack: string } {
    const { hex } = parseDigest(digest)
    return { json: join(this.dir, `${hex}.v${TREE_CACHE_FORMAT}.json`), pack: join(this.dir, `${hex}.pack`) }
  }

  /** Where each layer's blob can be read again, for a rebuild after its pack is found damaged. */
  private readonly sources = new Map<string, { layer: LayerRef; image: RunImage }>()

  private layer(layer: LayerRef, image: RunImage): Promise<CachedLayer> {
    let p = this.layers.get(layer.digest)
    if (!p) {
      this.sources.set(layer.digest, { layer, image })
      p = this.loadOrBuild(layer, image)
      p.catch(() => this.layers.delete(layer.digest))
      this.layers.set(layer.digest, p)
    }
    return p
  }

  private async rebuild(digest: string, why: string): Promise<void> {
    const source = this.sources.get(digest)
    if (!source) throw new Error(`cannot rebuild the tree cache of ${digest}: its layer is unknown here`)
    const p = this.build(source.layer, source.image, 'rebuilt', why)
    this.layers.set(digest, p)
    await p
  }

  private async loadOrBuild(layer: LayerRef, image: RunImage): Promise<CachedLayer> {
    const found = await this.load(layer.digest)
    if ('unusable' in found) return this.build(layer, image, found.unusable === undefined ? 'built' : 'rebuilt', found.unusable)
    this.remember(found)
    this.events.push({ digest: layer.digest, how: 'loaded' })
    return found
  }

  /** The cached layer, or why it is unusable (no problem named: there is none yet). */
  private async load(digest: string): Promise<CachedLayer | { unusable: string | undefined }> {
    const { json, pack } = this.paths(digest)
    let text: string
    try {
      text = await readFile(json, 'utf8')
    } catch {
      return { unusable: undefined }
    }
    let stored: StoredLayer
    try {
      stored = JSON.parse(text) as StoredLayer
    } catch {
      return { unusable: `${json} is not JSON` }
    }
    const { checksum, ...rest } = stored
    if (typeof checksum !== 'string' || sha256Of(new TextEncoder().encode(bodyJson(rest))) !== checksum) {
      return { unusable: `${json} fails its checksum` }
    }
    if (rest.format !== TREE_CACHE_FORMAT || rest.digest !== digest) return { unusable: `${json} describes another layer or format` }
    try {
      parseLayerIndex(rest.index, digest)
    } catch (err) {
      return { unusable: (err as Error).message }
    }
    const packSize = await stat(pack).then(
      (s) => s.size,
      () => -1,
    )
    if (packSize !== rest.packBytes) return { unusable: `${pack} has ${packSize} bytes, its index expects ${rest.packBytes}` }
    return rest
  }

  private async build(
    layer: LayerRef,
    image: RunImage,
    how: 'built' | 'rebuilt',
    why?: string,
  ): Promise<CachedLayer> {
    const started = Date.now()
    const { json, pack } = this.paths(layer.digest)
    await mkdir(this.dir, { recursive: true })
    await sweepDeadTemps(this.dir)
    const tmpPack = tempName(pack)
    const tmpJson = tempName(json)
    const file = await open(tmpPack, 'w')
    const bodies: Record<string, [number, number]> = {}
    let offset = 0
    try {
      const index = await indexLayer(
        { digest: layer.digest, mediaType: layer.mediaType },
        await image.blob(layer.digest),
        async (hex, data) => {
          await file.write(data, 0, data.byteLength, offset)
          bodies[hex] = [offset, data.byteLength]
          offset += data.byteLength
        },
        { maxBytes: this.options.maxLayerBytes ?? maxLayerBytes() },
      )
      await file.close()
      const cached: CachedLayer = { format: TREE_CACHE_FORMAT, digest: layer.digest, packBytes: offset, bodies, index }
      const body = bodyJson(cached)
      const stored = `${body.slice(0, -1)},"checksum":${JSON.stringify(sha256Of(new TextEncoder().encode(body)))}}`
      await writeFile(tmpJson, stored)
      // Pack first: an index on disk always finds the pack it describes.
      await rename(tmpPack, pack)
      await rename(tmpJson, json)
      this.remember(cached)
      this.events.push({ digest: layer.digest, how, ...(why ? { why } : {}) })
      this.options.log?.(`indexed layer ${layer.digest} for v86 in ${Date.now() - started} ms${why ? ` (${why})` : ''}`)
      return cached
    } catch (err) {
      await file.close().catch(() => {})
      await rm(tmpPack, { force: true })
      await rm(tmpJson, { force: true })
      throw err
    }
  }

  private remember(cached: CachedLayer): void {
    for (const [hex, [offset, length]] of Object.entries(cached.bodies)) this.bodies.set(hex, { layer: cached.digest, offset, length })
  }

  private async readBody(body: Body, size: number): Promise<Uint8Array> {
    if (body.length !== size) return new Uint8Array(0) // fails the hash check: rebuilt
    const file = await open(this.paths(body.layer).pack, 'r')
    try {
      const bytes = new Uint8Array(size)
      let at = 0
      while (at < size) {
        const { bytesRead } = await file.read(bytes, at, size - at, body.offset + at)
        if (bytesRead === 0) break
        at += bytesRead
      }
      return at === size ? bytes : bytes.subarray(0, at)
    } finally {
      await file.close()
    }
  }
}

/** The JSON a checksum covers: fixed key order, so the same layer always gives the same text. */
function bodyJson(c: CachedLayer): string {
  return JSON.stringify({ format: c.format, digest: c.digest, packBytes: c.packBytes, bodies: c.bodies, index: c.index })
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** `<path>.<pid>.<random>.tmp`: the writer's pid tells a sweeper whether it is still at work. */
function tempName(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
}

/** Removes temp files of builds whose process is gone (killed mid-build: a pack can be ~200 MB). */
async function sweepDeadTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) {
    const pid = /\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)?.[1]
    if (pid === undefined || Number(pid) === process.pid || processAlive(Number(pid))) continue
    await rm(join(dir, name), { force: true })
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the cache files of layers no image uses (and of older cache formats), for
 * `boxplay prune`. Runs under the store's lock; a build in progress (a live `.tmp`) is left.
 */
export async function pruneTreeCache(dir: string, keepBlobHex: ReadonlySet<string>): Promise<{ files: number; bytes: number }> {
  const freed = { files: 0, bytes: 0 }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const temp = /\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)
    if (temp && processAlive(Number(temp[1]))) continue
    const current = /^([0-9a-f]{64})\.(pack|v(\d+)\.json)$/.exec(name)
    const keep = current !== null && !temp && keepBlobHex.has(current[1]!) && (current[2] === 'pack' || Number(current[3]) === TREE_CACHE_FORMAT)
    if (keep) continue
    const path = join(dir, name)
    const st = await stat(path).catch(() => undefined)
    if (!st?.isFile()) continue
    await rm(path, { force: true })
    freed.files++
    freed.bytes += st.size
  }
  return freed
}
