// The page's store: one IndexedDB database holding the image store, the container store and
// small keyed values (lesson progress), with what they use and what could go when space runs
// out. `BrowserStore.open()` is the one entry point the UI needs.

import { BlobStore, type BlobStoreOptions } from './blob-store.js'
import { ContainerStore, type ContainerRecord } from './container-store.js'
import type { SkippedRecord } from './errors.js'
import { parseManifest } from '../oci/manifest.js'
import { Database, STORES } from './idb.js'
import { ImageStore, type ImageRecord } from './image-store.js'

export interface BrowserStoreOptions extends BlobStoreOptions {
  /** The database's name (tests use their own). */
  name?: string
}

export interface StoreUsage {
  /** Bytes of blobs this store holds. */
  storeBytes: number
  /** The cap set on the page (BrowserStoreOptions.maxBytes), if any. */
  capBytes?: number
  /** What the browser says this origin uses and may use (navigator.storage.estimate). */
  originBytes?: number
  quotaBytes?: number
  /** Whether the browser promised not to evict this origin's data under pressure. */
  persisted?: boolean
}

/** Something that could be removed to make room, with what removing it frees. */
export type RemovalCandidate =
  | { kind: 'container'; name: string; usedAt: number; bytes: number }
  | { kind: 'image'; name: string; usedAt: number; bytes: number }

export class BrowserStore {
  readonly blobs: BlobStore
  readonly images: ImageStore
  readonly containers: ContainerStore

  private constructor(
    readonly db: Database,
    private readonly opts: BrowserStoreOptions,
  ) {
    this.blobs = new BlobStore(db, opts)
    this.images = new ImageStore(db, this.blobs)
    this.containers = new ContainerStore(db, this.blobs)
  }

  static async open(opts: BrowserStoreOptions = {}): Promise<BrowserStore> {
    return new BrowserStore(await Database.open(opts.name ?? 'boxplay'), opts)
  }

  async usage(): Promise<StoreUsage> {
    const usage: StoreUsage = { storeBytes: await this.blobs.usedBytes() }
    if (this.opts.maxBytes !== undefined) usage.capBytes = this.opts.maxBytes
    const storage = typeof navigator === 'undefined' ? undefined : navigator.storage
    if (storage?.estimate) {
      const e = await storage.estimate().catch(() => undefined)
      if (e?.usage !== undefined) usage.originBytes = e.usage
      if (e?.quota !== undefined) usage.quotaBytes = e.quota
    }
    if (storage?.persisted) {
      const p = await storage.persisted().catch(() => undefined)
      if (p !== undefined) usage.persisted = p
    }
    return usage
  }

  /** Asks the browser to keep this origin's data under storage pressure (it may say no). */
  async persist(): Promise<boolean> {
    return typeof navigator !== 'undefined' && navigator.storage?.persist ? navigator.storage.persist().catch(() => false) : false
  }

  /** Records skipped because they could not be read, from both stores. */
  async skipped(): Promise<SkippedRecord[]> {
    const [images, containers] = await Promise.all([this.images.list(), this.containers.list()])
    return [...images.skipped, ...containers.skipped]
  }

  /**
   * Containers and images, least recently used first, with the bytes removing each would
   * free (blobs nothing else uses): what the page offers for removal when space runs out.
   */
  async removalCandidates(): Promise<RemovalCandidate[]> {
    const [{ containers }, { images }, sizes] = await Promise.all([this.containers.list(), this.images.list(), this.blobs.sizes()])
    const imageBlobs = await this.images.referenced()
    const out: RemovalCandidate[] = []
    for (const c of containers) {
      const own = c.changes && !imageBlobs.has(c.changes.digest) ? (sizes.get(c.changes.digest) ?? 0) : 0
      out.push({ kind: 'container', name: c.name, usedAt: c.usedAt, bytes: own })
    }
    for (const i of images) out.push({ kind: 'image', name: i.name, usedAt: i.usedAt, bytes: await this.imageOwnBytes(i, images, sizes) })
    return out.sort((a, b) => a.usedAt - b.usedAt)
  }

  private async imageOwnBytes(image: ImageRecord, all: ImageRecord[], sizes: Map<string, number>): Promise<number> {
    const others = new Set<string>()
    for (const o of all) if (o.name !== image.name && o.digest !== image.digest) for (const d of await this.blobsOf(o)) others.add(d)
    for (const d of await this.containers.referenced()) others.add(d)
    let n = 0
    for (const d of await this.blobsOf(image)) if (!others.has(d)) n += sizes.get(d) ?? 0
    return n
  }

  private async blobsOf(image: ImageRecord): Promise<string[]> {
    try {
      const m = parseManifest(await this.blobs.get(image.digest), image.mediaType)
      return [image.digest, m.config.digest, ...m.layers.map((l) => l.digest)]
    } catch {
      return [image.digest]
    }
  }

  async removeContainer(name: string): Promise<ContainerRecord> {
    const removed = await this.containers.remove(name)
    await this.prune()
    return removed
  }

  async removeImage(name: string): Promise<void> {
    await this.images.remove(name)
    await this.prune()
  }

  /** Deletes blobs no kept image or container uses; returns the bytes freed. */
  async prune(): Promise<number> {
    const keep = new Set([...(await this.images.referenced()), ...(await this.containers.referenced())])
    const sizes = await this.blobs.sizes()
    const gone = [...sizes.keys()].filter((d) => !keep.has(d))
    await this.blobs.remove(gone)
    return gone.reduce((n, d) => n + (sizes.get(d) ?? 0), 0)
  }

  /** A small keyed value (lesson progress, settings); undefined when absent. */
  async getValue(key: string): Promise<unknown> {
    return this.db.get(STORES.meta, `value:${key}`)
  }

  async setValue(key: string, value: unknown): Promise<void> {
    await this.db.write([STORES.meta], (put) => put(STORES.meta, `value:${key}`, value), key)
  }

  async deleteValue(key: string): Promise<void> {
    await this.db.write([STORES.meta], (_put, del) => del(STORES.meta, `value:${key}`), key)
  }

  close(): void {
    this.db.close()
  }
}
