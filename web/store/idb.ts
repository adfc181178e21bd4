// The few IndexedDB calls the browser stores make, as promises. One database a page origin
// (`boxplay` by default) with one object store a kind of record; every write is one
// transaction, so a refused or failed write leaves what was stored before untouched.
// No DOM beyond IndexedDB (a worker could use it too).

import { StoreError } from './errors.js'

export const DB_VERSION = 1

/** Object stores and what they hold (see image-store.ts and container-store.ts). */
export const STORES = {
  /** Content by digest: manifests, configs, layers, containers' change layers. */
  blobs: 'blobs',
  /** Image names → manifest digest (with platform and time). */
  images: 'images',
  /** Containers by id, with a unique index on name. */
  containers: 'containers',
  /** Small keyed values: lesson progress, settings. */
  meta: 'meta',
} as const
export type StoreName = (typeof STORES)[keyof typeof STORES]

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

/** A DOMException from IndexedDB as a StoreError with a code the UI can switch on. */
export function storeErrorOf(e: unknown, what: string): StoreError {
  if (e instanceof StoreError) return e
  const name = e instanceof DOMException ? e.name : ''
  const text = e instanceof Error ? e.message : String(e)
  if (name === 'QuotaExceededError') {
    return new StoreError('quota', `the browser refused to store ${what}: its storage for this site is full. Remove old containers or images below, then try again`)
  }
  if (name === 'ConstraintError') return new StoreError('exists', `${what}: ${text}`)
  return new StoreError('failed', `could not store ${what}: ${text || name || 'IndexedDB failed'}`)
}

export class Database {
  private constructor(readonly db: IDBDatabase) {}

  static async open(name = 'boxplay', factory: IDBFactory = indexedDB): Promise<Database> {
    const req = factory.open(name, DB_VERSION)
    req.onupgradeneeded = () => {
      const db = req.result
      if (!db.objectStoreNames.contains(STORES.blobs)) db.createObjectStore(STORES.blobs)
      if (!db.objectStoreNames.contains(STORES.images)) db.createObjectStore(STORES.images)
      if (!db.objectStoreNames.contains(STORES.containers)) {
        const containers = db.createObjectStore(STORES.containers)
        containers.createIndex('name', 'name', { unique: true })
      }
      if (!db.objectStoreNames.contains(STORES.meta)) db.createObjectStore(STORES.meta)
    }
    try {
      const db = await request(req)
      // Another tab upgrading the schema: close, so its upgrade is not blocked forever.
      db.onversionchange = () => db.close()
      return new Database(db)
    } catch (e) {
      throw new StoreError('unavailable', `this browser keeps no data for the page (IndexedDB: ${e instanceof Error ? e.message : String(e)}); a private window may refuse it`)
    }
  }

  async get(store: StoreName, key: IDBValidKey): Promise<unknown> {
    return request(this.db.transaction(store, 'readonly').objectStore(store).get(key))
  }

  /** Every record of a store with its key, in key order. */
  async entries(store: StoreName): Promise<{ key: IDBValidKey; value: unknown }[]> {
    const os = this.db.transaction(store, 'readonly').objectStore(store)
    const [keys, values] = await Promise.all([request(os.getAllKeys()), request(os.getAll())])
    return keys.map((key, i) => ({ key, value: values[i] }))
  }

  async keys(store: StoreName): Promise<IDBValidKey[]> {
    return request(this.db.transaction(store, 'readonly').objectStore(store).getAllKeys())
  }

  /** Puts and deletes in one transaction: all of them happen, or none. */
  async write(stores: StoreName[], ops: (put: (store: StoreName, key: IDBValidKey, value: unknown) => void, del: (store: StoreName, key: IDBValidKey) => void) => void, what: string): Promise<void> {
    let tx: IDBTransaction
    try {
      tx = this.db.transaction(stores, 'readwrite')
    } catch (e) {
      throw storeErrorOf(e, what)
    }
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'))
      tx.onerror = (ev) => ev.preventDefault() // reported through onabort
    })
    try {
      ops(
        (store, key, value) => void tx.objectStore(store).put(value, key),
        (store, key) => void tx.objectStore(store).delete(key),
      )
    } catch (e) {
      tx.abort()
      await done.catch(() => {})
      throw storeErrorOf(e, what)
    }
    try {
      await done
    } catch (e) {
      throw storeErrorOf(e, what)
    }
  }

  close(): void {
    this.db.close()
  }
}
