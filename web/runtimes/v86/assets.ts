// What the v86 runtime needs from its surroundings, injected so one engine runs in Node
// (files from dist/guest, a state cache on disk: server/v86/node-assets.ts) and in a browser
// (URLs, a state cache in IndexedDB: web/runtimes/v86/browser-assets.ts).

/** A machine state saved once init was waiting for its spec, and what init said then. */
export interface SavedState {
  /** The v86 state buffer, uncompressed (adapters unpack what they store compressed). */
  state: ArrayBuffer
  /** `uname -r` as init reported it in its ready frame. */
  release: string
}

export interface V86Assets {
  /** v86's wasm, compiled once and instantiated per run. */
  wasm(): Promise<WebAssembly.Module>
  /** SeaBIOS (Debian's bios.bin). */
  bios(): Promise<ArrayBuffer>
  /** The guest kernel with boxplay-init inside (dist/guest/bzImage). */
  kernel(): Promise<ArrayBuffer>
  /** A saved state for this key (the build ships one; runs add more), if any. */
  loadState(key: string): Promise<SavedState | undefined>
  /** Keeps a state for later runs; failures are the adapter's to log, never the run's. */
  saveState(key: string, saved: SavedState): Promise<void>
}

const kernelDigests = new WeakMap<ArrayBuffer, Promise<ArrayBuffer>>()

/** Everything a saved state depends on: the emulator, the kernel (init is inside it), memory, machine settings. */
export async function stateKey(kernel: ArrayBuffer, memoryBytes: number, machineProfile: string, v86Version: string): Promise<string> {
  let digest = kernelDigests.get(kernel)
  if (!digest) {
    digest = globalThis.crypto.subtle.digest('SHA-256', kernel)
    kernelDigests.set(kernel, digest)
  }
  const kernelHash = new Uint8Array(await digest)
  const text = `${v86Version}\n${[...kernelHash].map((b) => b.toString(16).padStart(2, '0')).join('')}\n${memoryBytes}\n${machineProfile}`
  const hash = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
  return `v86-${memoryBytes >> 20}m-${[...hash.slice(0, 10)].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

/** Memoises an async load; a failed one is forgotten so the next call tries again. */
export function onceRetrying<T>(load: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined
  return () => {
    p ??= load()
    p.catch(() => (p = undefined))
    return p
  }
}

/**
 * Saved states held in memory by key, loaded once: the runtime asks early (while the image
 * tree loads) and again at boot, and a server, a page or a test run restores the same ~10 MB
 * many times. A load that finds nothing, or fails, is forgotten so the next one tries again.
 */
export class StateMemo {
  private readonly states = new Map<string, Promise<SavedState | undefined>>()

  constructor(private readonly load: (key: string) => Promise<SavedState | undefined>) {}

  get(key: string): Promise<SavedState | undefined> {
    let p = this.states.get(key)
    if (!p) {
      p = this.load(key)
      this.states.set(key, p)
      void p.then((s) => s || this.states.delete(key), () => this.states.delete(key))
    }
    return p
  }

  /** A state just made: later gets have it without loading. */
  remember(key: string, saved: SavedState): void {
    this.states.set(key, Promise.resolve(saved))
  }
}
