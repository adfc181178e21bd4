// Content by digest in IndexedDB: the browser's `blobs/sha256/` (server/store/blobs.ts). A
// blob is verified against its digest when it is written and when it is read, so a damaged
// record is reported as such, never handed to a runtime. Sizes are kept beside the bytes
// (`meta` entries `size:DIGEST`) so the store's usage is known without reading any blob.

import { digestOf, isDigest } from '../oci/digest.js'
import { StoreError } from './errors.js'
import { type Database, STORES, storeErrorOf } from './idb.js'

const SIZE_PREFIX = 'size:'

export interface BlobStoreOptions {
  /** Bytes this store may hold (a page-level cap, below the browser's own quota). */
  maxBytes?: number
}

export class BlobStore {
  constructor(
    private readonly db: Database,
    private readonly opts: BlobStoreOptions = {},
  ) {}

  async has(digest: string): Promise<boolean> {
    return (await this.db.get(STORES.meta, SIZE_PREFIX + digest)) !== undefined
  }

  /** Bytes of every blob, by digest (from the size records). */
  async sizes(): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const { key, value } of await this.db.entries(STORES.meta)) {
      if (typeof key === 'string' && key.startsWith(SIZE_PREFIX) && typeof value === 'number') out.set(key.slice(SIZE_PREFIX.length), value)
    }
    return out
  }

  async usedBytes(): Promise<number> {
    let total = 0
    for (const size of (await this.sizes()).values()) total += size
    return total
  }

  /**
   * Stores blobs (verified against their digests) in one transaction. Blobs already there are
   * not written again. Refused whole when the store's cap or the browser's quota would be passed.
   */
  async put(blobs: readonly { digest?: string; bytes: Uint8Array }[], what: string): Promise<string[]> {
    const digests: string[] = []
    const fresh: { digest: string; bytes: Uint8Array }[] = []
    for (const b of blobs) {
      const digest = await digestOf(b.bytes)
      if (b.digest !== undefined && b.digest !== digest) throw new StoreError('invalid', `${what}: a blob said to be ${b.digest} hashes to ${digest}`)
      digests.push(digest)
      if (!fresh.some((f) => f.digest === digest) && !(await this.has(digest))) fresh.push({ digest, bytes: b.bytes })
    }
    if (fresh.length === 0) return digests
    await this.checkRoom(fresh.reduce((n, b) => n + b.bytes.byteLength, 0), what)
    await this.db.write(
      [STORES.blobs, STORES.meta],
      (put) => {
        for (const b of fresh) {
          // A copy of exactly the blob's bytes: a view into a bigger buffer would store all of it.
          put(STORES.blobs, b.digest, b.bytes.slice())
          put(STORES.meta, SIZE_PREFIX + b.digest, b.bytes.byteLength)
        }
      },
      what,
    )
    return digests
  }

  /** Throws a quota StoreError when `bytes` more would pass the store's cap. */
  async checkRoom(bytes: number, what: string): Promise<void> {
    const cap = this.opts.maxBytes
    if (cap === undefined) return
    const used = await this.usedBytes()
    if (used + bytes > cap) {
      throw new StoreError(
        'quota',
        `the page's store is full: ${what} would add ${formatBytes(bytes)}, and ${formatBytes(used)} of ${formatBytes(cap)} are in use. Remove old containers or images, then try again`,
      )
    }
  }

  /** A blob, verified; a missing or damaged one is an error that says which. */
  async get(digest: string): Promise<Uint8Array> {
    if (!isDigest(digest)) throw new StoreError('invalid', `"${digest}" is not a digest`)
    let value: unknown
    try {
      value = await this.db.get(STORES.blobs, digest)
    } catch (e) {
      throw storeErrorOf(e, `blob ${digest}`)
    }
    if (value === undefined) throw new StoreError('not-found', `blob ${digest} is not in the page's store`)
    const bytes = value instanceof Uint8Array ? value : value instanceof ArrayBuffer ? new Uint8Array(value) : undefined
    if (!bytes || (await digestOf(bytes)) !== digest) {
      throw new StoreError('corrupt', `blob ${digest} in the page's store is damaged (its bytes do not hash to it): remove what uses it and add it again`)
    }
    return bytes
  }

  /** Deletes blobs (and their size records) in one transaction. */
  async remove(digests: Iterable<string>): Promise<void> {
    const list = [...digests]
    if (list.length === 0) return
    await this.db.write(
      [STORES.blobs, STORES.meta],
      (_put, del) => {
        for (const d of list) {
          del(STORES.blobs, d)
          del(STORES.meta, SIZE_PREFIX + d)
        }
      },
      'the removal',
    )
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`
}
