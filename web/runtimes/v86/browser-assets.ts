// The v86 runtime's assets in a browser: the guest kernel, BIOS and shipped states by URL
// (dist/guest as the static site serves it), v86's wasm by URL, and states that runs save
// kept in IndexedDB so the next visit restores instead of booting.

import { StateMemo, onceRetrying, type SavedState, type V86Assets } from './assets.js'
import { V86Runtime } from './runtime.js'
import { localStorageRecorder } from './file-prefetch.js'

export interface BrowserV86AssetsOptions {
  /** Where dist/guest is served (bzImage, bios.bin, states/); default `guest/` beside the page. */
  guestUrl?: string | URL
  /** Where v86.wasm is served; default: the bundler's copy of node_modules/v86/build/v86.wasm. */
  wasmUrl?: string | URL
  /** IndexedDB database for states runs save; `false` keeps nothing. */
  database?: string | false
}

const STORE = 'states'

/** vite (and other bundlers) turn this into an emitted asset URL. */
const bundledWasm = (): URL => new URL('../../../node_modules/v86/build/v86.wasm', import.meta.url)

export function browserV86Assets(options: BrowserV86AssetsOptions = {}): V86Assets {
  const guest = String(options.guestUrl ?? 'guest/')
  const base = new URL(guest.endsWith('/') ? guest : `${guest}/`, globalThis.document?.baseURI ?? globalThis.location?.href)
  const wasmUrl = options.wasmUrl ?? bundledWasm()
  const dbName = options.database === undefined ? 'boxplay-v86' : options.database
  const once = onceRetrying
  const fetchBytes = async (url: URL | string, what: string): Promise<ArrayBuffer> => {
    const res = await fetch(url)
    if (!res.ok) throw new Error(`cannot load ${what} from ${String(url)}: HTTP ${res.status}`)
    return res.arrayBuffer()
  }
  const db = once(() => (dbName ? openDb(dbName) : Promise.resolve(undefined)))
  const states = new StateMemo(loadState)
  return {
    wasm: once(async () => {
      const res = await fetch(wasmUrl)
      if (!res.ok) throw new Error(`cannot load v86.wasm from ${String(wasmUrl)}: HTTP ${res.status}`)
      // compileStreaming needs the application/wasm MIME type; fall back when a server lacks it.
      return res.headers.get('content-type')?.startsWith('application/wasm')
        ? WebAssembly.compileStreaming(res)
        : WebAssembly.compile(await res.arrayBuffer())
    }),
    bios: once(() => fetchBytes(new URL('bios.bin', base), 'the SeaBIOS image')),
    kernel: once(() => fetchBytes(new URL('bzImage', base), 'the guest kernel')),
    loadState: (key) => states.get(key),
    async saveState(key, saved) {
      states.remember(key, saved)
      const d = await db()
      if (d) await put(d, key, saved)
    },
  }

  async function loadState(key: string): Promise<SavedState | undefined> {
    const local = await db().then((d) => (d ? get(d, key) : undefined)).catch(() => undefined)
    if (local) return local
    const meta = await fetch(new URL(`states/${key}.json`, base)).catch(() => undefined)
    if (!meta?.ok) return undefined
    const { release, file } = (await meta.json()) as { release: string; file: string }
    const res = await fetch(new URL(`states/${file}`, base))
    if (!res.ok || !res.body) return undefined
    // Shipped states are gzipped; the browser unpacks them natively, much faster than v86's zstd.
    const body = file.endsWith('.gz') ? res.body.pipeThrough(new DecompressionStream('gzip')) : res.body
    const saved = { release, state: await new Response(body).arrayBuffer() }
    void db().then((d) => d && put(d, key, saved)).catch(() => {}) // next visit: straight from IndexedDB
    return saved
  }
}

/** The v86 runtime wired for a page or a worker. */
export function browserV86Runtime(options: BrowserV86AssetsOptions = {}): V86Runtime {
  // Records in localStorage: a command run on an earlier visit fetches its files ahead.
  return new V86Runtime({ assets: browserV86Assets(options), recorder: localStorageRecorder(), log: (m) => console.info(`v86: ${m}`) })
}

function openDb(name: string): Promise<IDBDatabase | undefined> {
  if (typeof indexedDB === 'undefined') return Promise.resolve(undefined)
  return new Promise((resolve) => {
    const req = indexedDB.open(name, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE)
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => resolve(undefined) // private mode and friends: run without a cache
  })
}

function get(db: IDBDatabase, key: string): Promise<SavedState | undefined> {
  return new Promise((resolve, reject) => {
    const req = db.transaction(STORE).objectStore(STORE).get(key)
    req.onsuccess = () => resolve(req.result as SavedState | undefined)
    req.onerror = () => reject(req.error ?? new Error('IndexedDB read failed'))
  })
}

function put(db: IDBDatabase, key: string, value: SavedState): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite')
    tx.objectStore(STORE).put(value, key)
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'))
  })
}
