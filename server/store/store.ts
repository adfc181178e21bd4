// The on-disk image store: an OCI image layout at $BOXPLAY_HOME (see layout.ts), safe for
// several boxplay processes at once. Blobs are verified while written and renamed into
// place; index.json changes happen under a lock file and are written via temp + rename.

import { existsSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { type ContentSource, type ResolvedImage, resolveImage } from '../../web/oci/image.js'
import { type Descriptor, sniffManifestMediaType } from '../../web/oci/manifest.js'
import { isDigest } from '../../web/oci/digest.js'
import { type Platform, formatPlatform } from '../../web/oci/platform.js'
import type { RunImage } from '../../web/runtimes/runtime.js'
import { BlobError, type Expected, type Written, commitBlob, digestHex, readVerified, writeVerified } from './blobs.js'
// layer-cache (tar, gzip/zstd, the unpacker) and layer-contents load only when a layer must be
// unpacked or pruned: a run whose layers are unpacked already skips ~15 ms of module loading.
import type { LayerCacheOptions } from './layer-cache.js'
import { type LayoutPaths, REF_NAME, type RawIndex, initLayout, layoutPaths, readIndex, refName, writeJsonAtomic } from './layout.js'
import { withLock } from './lock.js'
import { looksLikeDigestQuery, normalisedName } from './names.js'
import { bundledImagesDir, defaultHome } from './paths.js'
import { seedBundled } from './seed.js'
import { TempDir, cleanStaleTemps, otherLiveTemps, withTempDir } from './temp.js'
import { walkDescriptor, type Reached } from './walk.js'

export class StoreError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StoreError'
  }
}

export interface StoreOptions {
  /** The store directory; default $BOXPLAY_HOME, $XDG_DATA_HOME/boxplay, ~/.local/share/boxplay. */
  home?: string
  /**
   * OCI layout of bundled images to seed from; null disables seeding. Default:
   * $BOXPLAY_BUNDLED_IMAGES when set (empty = no seeding), else dist/images.
   */
  bundled?: string | null
}

/** One named (or unnamed) entry of index.json. */
export interface ImageEntry {
  /** The ref.name annotation; undefined for entries other tools stored without one. */
  name: string | undefined
  descriptor: Descriptor
}

export interface PruneResult {
  blobs: number
  layers: number
  bytes: number
}

export class Store {
  readonly paths: LayoutPaths
  /** Why seeding the bundled images failed on open, if it did. */
  seedError: Error | undefined

  private constructor(readonly home: string) {
    this.paths = layoutPaths(home)
  }

  static async open(opts: StoreOptions = {}): Promise<Store> {
    const store = new Store(opts.home ?? defaultHome())
    try {
      await fsp.mkdir(store.home, { recursive: true })
      await initLayout(store.paths)
    } catch (e) {
      throw new StoreError(`cannot open the image store at ${store.home}: ${(e as Error).message} (set --home or BOXPLAY_HOME to a writable directory)`)
    }
    cleanStaleTemps(store.paths.tmp)
    const fromEnv = process.env.BOXPLAY_BUNDLED_IMAGES
    const bundled = opts.bundled !== undefined ? opts.bundled : fromEnv !== undefined ? fromEnv || null : bundledImagesDir()
    if (bundled !== null && existsSync(join(bundled, 'index.json'))) {
      // A broken or half-rebuilt dist/images must not stop the user's command: seeding is
      // retried on the next open (nothing is recorded as seeded when it fails).
      await seedBundled(store, bundled).catch((e: unknown) => {
        store.seedError = e instanceof Error ? e : new Error(String(e))
      })
    }
    return store
  }

  // -------------------------------------------------------------------------------------
  // Blobs

  blobPath(digest: string): string {
    return join(this.paths.blobs, digestHex(digest))
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest))
  }

  async readBlob(digest: string, size?: number): Promise<Uint8Array> {
    return readVerified(this.blobPath(digest), digest, size)
  }

  /** Reads a blob if present (verified), undefined if absent. */
  async tryReadBlob(digest: string): Promise<Uint8Array | undefined> {
    if (!this.hasBlob(digest)) return undefined
    return this.readBlob(digest)
  }

  /** Streams content into the store, verified against `expected` when given. */
  async putBlob(tmp: TempDir, source: AsyncIterable<Uint8Array>, expected: Expected = {}, onBytes?: (n: number) => void): Promise<Written> {
    const tmpPath = tmp.name('blob')
    const written = await writeVerified(tmpPath, source, expected, onBytes)
    await commitBlob(tmpPath, this.blobPath(written.digest))
    return written
  }

  async putBytes(tmp: TempDir, bytes: Uint8Array, expected: Expected = {}): Promise<Written> {
    return this.putBlob(tmp, (async function* () {
      yield bytes
    })(), expected)
  }

  /** Adds a complete, already verified file as a blob (hardlinked when possible, else copied). */
  async adoptFile(tmp: TempDir, path: string, digest: string): Promise<void> {
    const final = this.blobPath(digest)
    if (existsSync(final)) return
    try {
      await fsp.link(path, final)
      return
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return
    }
    const t = tmp.name('copy')
    await fsp.copyFile(path, t)
    await commitBlob(t, final)
  }

  async withTemp<T>(fn: (tmp: TempDir) => Promise<T>): Promise<T> {
    return withTempDir(this.paths.tmp, fn)
  }

  // -------------------------------------------------------------------------------------
  // Names (index.json)

  async index(): Promise<RawIndex> {
    return readIndex(this.paths.index)
  }

  async entries(): Promise<ImageEntry[]> {
    return (await this.index()).manifests.map((d) => ({ name: refName(d), descriptor: d }))
  }

  /** Finds an image by stored name, any spelling of it, or a (prefix of a) manifest digest. */
  async find(query: string): Promise<ImageEntry | undefined> {
    const entries = await this.entries()
    const exact = entries.find((e) => e.name === query)
    if (exact) return exact
    const wanted = normalisedName(query)
    if (wanted !== undefined) {
      const same = entries.find((e) => e.name !== undefined && normalisedName(e.name) === wanted)
      if (same) return same
    }
    const hex = looksLikeDigestQuery(query)
    if (hex !== undefined) {
      const byDigest = entries.filter((e) => digestHex(e.descriptor.digest).startsWith(hex))
      const distinct = new Set(byDigest.map((e) => e.descriptor.digest))
      if (distinct.size === 1) return byDigest[0]
      if (distinct.size > 1) throw new StoreError(`"${query}" matches several images: give more digits`)
    }
    return undefined
  }

  async get(query: string): Promise<ImageEntry> {
    const found = await this.find(query)
    if (found) return found
    throw new StoreError(`no image "${query}" in the store at ${this.home}: see \`boxplay images\`, or get it with \`boxplay pull ${query}\``)
  }

  /** Runs a read-modify-write of index.json under the store lock. */
  async updateIndex<T>(fn: (index: RawIndex) => Promise<T> | T): Promise<T> {
    return withLock(this.paths.lock, async () => {
      const index = await this.index()
      const result = await fn(index)
      await writeJsonAtomic(this.paths.index, index)
      return result
    })
  }

  /**
   * Points each name at its descriptor (replacing what the name pointed at before). Under the
   * lock, every blob in `requires` must be present — so a concurrent prune cannot leave a
   * name pointing at deleted blobs.
   */
  async setNames(items: readonly { name: string | undefined; descriptor: Descriptor }[], requires: readonly string[] = []): Promise<void> {
    await this.updateIndex((index) => {
      const missing = requires.filter((d) => !this.hasBlob(d))
      if (missing.length > 0) {
        throw new StoreError(`blobs ${missing.join(', ')} vanished from the store while adding the image (a concurrent prune?): run the command again`)
      }
      for (const { name, descriptor } of items) {
        const { annotations, ...rest } = descriptor
        const entry: Descriptor & Record<string, unknown> = { ...rest }
        const ann = { ...(annotations ?? {}) }
        delete ann[REF_NAME]
        if (name !== undefined) ann[REF_NAME] = name
        if (Object.keys(ann).length > 0) entry.annotations = ann
        index.manifests = index.manifests.filter((m) =>
          name === undefined ? !(refName(m) === undefined && m.digest === descriptor.digest) : refName(m) !== name,
        )
        index.manifests.push(entry)
      }
    })
  }

  /** Forgets names (blobs stay until prune). Returns the stored names removed. */
  async removeNames(queries: readonly string[]): Promise<string[]> {
    const targets: ImageEntry[] = []
    for (const q of queries) targets.push(await this.get(q))
    return this.updateIndex((index) => {
      const removed: string[] = []
      for (const t of targets) {
        const before = index.manifests.length
        index.manifests = index.manifests.filter((m) => !(refName(m) === t.name && m.digest === t.descriptor.digest))
        if (index.manifests.length < before) removed.push(t.name ?? t.descriptor.digest)
      }
      return removed
    })
  }

  // -------------------------------------------------------------------------------------
  // Reading images

  /** Walks what one descriptor keeps alive (blobs and layer diff-ids). */
  async reach(d: Descriptor, into: Reached = { digests: new Set(), diffIds: new Set() }): Promise<Reached> {
    await walkDescriptor((digest) => this.tryReadBlob(digest), d, into)
    return into
  }

  /** A ContentSource over this store: names resolve through index.json, blobs are verified. */
  contentSource(): ContentSource {
    return {
      manifest: async (refOrDigest) => {
        if (isDigest(refOrDigest)) {
          const bytes = await this.readBlob(refOrDigest)
          return { mediaType: sniffManifestMediaType(bytes), bytes, digest: refOrDigest }
        }
        const entry = await this.get(refOrDigest)
        const bytes = await this.readBlob(entry.descriptor.digest, entry.descriptor.size)
        return { mediaType: entry.descriptor.mediaType, bytes, digest: entry.descriptor.digest }
      },
      blob: (digest) => this.readBlob(digest),
    }
  }

  /** An image narrowed to one platform, ready for a runtime. */
  async runImage(name: string, platform?: Platform): Promise<ResolvedImage> {
    const entry = await this.get(name)
    let image: ResolvedImage
    try {
      image = await resolveImage(this.contentSource(), entry.name ?? entry.descriptor.digest, platform)
    } catch (e) {
      if (e instanceof BlobError && /not in the store/.test(e.message) && platform) {
        const p = formatPlatform(platform)
        throw new StoreError(`image ${entry.name ?? entry.descriptor.digest} has no ${p} content in the store: pull it with --platform ${p}`)
      }
      throw e
    }
    const missing = image.layers.filter((l) => !this.hasBlob(l.digest))
    if (missing.length > 0) {
      throw new StoreError(
        `image ${image.name} for ${image.platform.os}/${image.platform.architecture} lacks ${missing.length} layer blob(s) in the store: ` +
          `pull it with --platform ${image.platform.os}/${image.platform.architecture}`,
      )
    }
    return image
  }

  /**
   * Unpacks (once, cached) every layer of the image and returns the directories in overlayfs
   * `lowerdir=` order: the TOP layer first, the base layer last.
   */
  async layerDirs(image: RunImage, opts: LayerCacheOptions = {}): Promise<string[]> {
    const dirs: string[] = []
    for (const layer of image.layers) {
      const dir = this.layerDir(layer.diffId)
      if (existsSync(dir)) {
        dirs.push(dir) // what ensureLayer's first step would say, without loading it
        continue
      }
      const { ensureLayer } = await import('./layer-cache.js')
      dirs.push(await ensureLayer(this.paths.layers, this.paths.tmp, layer, this.blobPath(layer.digest), opts))
    }
    return dirs.reverse()
  }

  /** The same path as layer-cache's layerDir, kept here so the hot path need not load it. */
  layerDir(diffId: string): string {
    return join(this.paths.layers, digestHex(diffId))
  }

  // -------------------------------------------------------------------------------------
  // Garbage

  /**
   * Removes blobs and unpacked layers that no index.json entry reaches. Holds the index lock
   * throughout, and refuses while another boxplay process is adding content (it would have
   * blobs written but not yet named).
   */
  async prune(): Promise<PruneResult> {
    return withLock(this.paths.lock, async () => {
      const busy = otherLiveTemps(this.paths.tmp)
      if (busy.length > 0) {
        throw new StoreError(`another boxplay process (pid ${busy.join(', ')}) is adding to the store: prune again when it is done`)
      }
      const reached: Reached = { digests: new Set(), diffIds: new Set() }
      for (const d of (await this.index()).manifests) await this.reach(d, reached)
      const keepHex = new Set([...reached.digests].map((d) => d.slice('sha256:'.length)))
      const keepLayers = new Set([...reached.diffIds].map((d) => d.slice('sha256:'.length)))
      const result: PruneResult = { blobs: 0, layers: 0, bytes: 0 }
      for (const name of await fsp.readdir(this.paths.blobs)) {
        if (keepHex.has(name)) continue
        const p = join(this.paths.blobs, name)
        const st = await fsp.lstat(p).catch(() => undefined)
        if (!st) continue
        await fsp.rm(p, { recursive: true, force: true })
        result.blobs++
        result.bytes += st.size
      }
      for (const name of await fsp.readdir(this.paths.layers)) {
        const hex = name.endsWith('.json') ? name.slice(0, -5) : name
        if (keepLayers.has(hex)) continue
        const p = join(this.paths.layers, name)
        if (!name.endsWith('.json')) {
          result.layers++
          result.bytes += await diskUsage(p)
        }
        await makeWritable(p)
        await fsp.rm(p, { recursive: true, force: true })
      }
      // Lazy indexes and file contents served to browsers (rebuilt on demand).
      const { pruneLayerContents } = await import('../image/layer-contents.js')
      const lazy = await pruneLayerContents(this.home, keepHex)
      result.bytes += lazy.bytes
      // The v86 runtime's per-layer trees (server/v86/tree-cache.ts), rebuilt on demand too.
      const { pruneTreeCache } = await import('../v86/tree-cache.js')
      const trees = await pruneTreeCache(join(this.home, 'cache', 'v86-trees'), keepHex)
      result.bytes += trees.bytes
      return result
    })
  }
}

/** Bytes used by a tree (regular files counted once per inode). */
async function diskUsage(path: string): Promise<number> {
  const seen = new Set<string>()
  let total = 0
  const visit = async (p: string): Promise<void> => {
    const st = await fsp.lstat(p).catch(() => undefined)
    if (!st) return
    if (st.isDirectory()) {
      for (const n of await fsp.readdir(p).catch(() => [] as string[])) await visit(join(p, n))
      return
    }
    const id = `${st.dev}:${st.ino}`
    if (seen.has(id)) return
    seen.add(id)
    total += st.size
  }
  await visit(path)
  return total
}

/** Unprivileged stores may hold read-only directories (mode 0555) that rm cannot empty. */
async function makeWritable(path: string): Promise<void> {
  if (process.getuid?.() === 0) return
  const st = await fsp.lstat(path).catch(() => undefined)
  if (!st?.isDirectory()) return
  await fsp.chmod(path, (st.mode & 0o7777) | 0o700).catch(() => undefined)
  for (const n of await fsp.readdir(path).catch(() => [] as string[])) await makeWritable(join(path, n))
}
