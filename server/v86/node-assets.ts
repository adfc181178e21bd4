// The v86 runtime's assets in Node: the guest kernel and BIOS from dist/guest (built by
// `boxplay setup`), v86's wasm from node_modules, saved states from dist/guest/states (the
// one the build made, gzipped) or the per-user cache ($BOXPLAY_HOME/cache/v86, raw) where runs
// add more and shipped states are kept unpacked.

import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { gunzipSync, gzipSync } from 'node:zlib'
import { StateMemo, onceRetrying, type SavedState, type V86Assets } from '../../web/runtimes/v86/assets.js'
import { defaultHome, packageRoot } from '../store/paths.js'

export interface NodeV86AssetsOptions {
  /** Where bzImage, bios.bin and states/ are; default `<package>/dist/guest`. */
  guestDir?: string
  /** Where runs keep states they made; default `$BOXPLAY_HOME/cache/v86`. */
  cacheDir?: string
  log?: (message: string) => void
}

const SYSTEM_BIOS = '/usr/share/seabios/bios.bin'

/**
 * For a process that exists to run v86 (the CLI's `run --runtime v86`, the v86 benchmark):
 * v86's JIT makes many short-lived wasm modules, and V8's default tier-up spends the (two,
 * shared) cores recompiling them with TurboFan. A much larger tiering budget keeps all but
 * the really hot code on Liftoff: restore → first output went from ~0.6–0.9 s to ~0.4–0.5 s
 * here when it was measured, with the JIT on from the start. Now that machines start with
 * the JIT off (see enableJit) the gain is smaller, ~20 ms, and a 16 MiB sha256 in the guest
 * is no slower either way. Process-wide, so it is opt-in: a
 * server that also runs long wasi workloads may prefer V8's default. Call before the first run.
 */
export function tuneV8ForV86(): void {
  setFlagsFromString('--wasm-tiering-budget=100000000')
}

export function guestDir(): string {
  return join(packageRoot(), 'dist', 'guest')
}

export function v86BuildDir(): string {
  return dirname(createRequire(import.meta.url).resolve('v86'))
}

export function nodeV86Assets(options: NodeV86AssetsOptions = {}): V86Assets {
  const guest = options.guestDir ?? guestDir()
  const cache = options.cacheDir ?? join(defaultHome(), 'cache', 'v86')
  const states = new StateMemo(loadState)
  const once = onceRetrying
  const need = async (path: string, what: string): Promise<ArrayBuffer> => {
    try {
      return toArrayBuffer(await readFile(path))
    } catch {
      throw new Error(`${what} is missing (${path}): run \`npm run setup\` (or \`boxplay setup\`) to build it`)
    }
  }
  return {
    wasm: once(async () => WebAssembly.compile(await readFile(join(v86BuildDir(), 'v86.wasm')))),
    bios: once(() => need(existsSync(join(guest, 'bios.bin')) ? join(guest, 'bios.bin') : SYSTEM_BIOS, 'the SeaBIOS image')),
    kernel: once(() => need(join(guest, 'bzImage'), 'the guest kernel')),
    loadState: (key) => states.get(key),
    async saveState(key, saved) {
      states.remember(key, saved)
      await tracked(writeState(cache, key, saved, 'raw'))
      options.log?.(`kept the v86 state ${key} in ${cache}`)
    },
  }

  async function loadState(key: string): Promise<SavedState | undefined> {
    const cached = await readState(cache, key)
    if (cached) return cached
    const shipped = await readState(join(guest, 'states'), key)
    // Keep a raw copy: the next process then skips decompressing ~17 MB.
    if (shipped) void tracked(writeState(cache, key, shipped, 'raw')).catch(() => {})
    return shipped
  }
}

const pendingWrites = new Set<Promise<unknown>>()

function tracked<T>(write: Promise<T>): Promise<T> {
  pendingWrites.add(write)
  const done = () => pendingWrites.delete(write)
  write.then(done, done)
  return write
}

/**
 * Resolves once the states being written to a cache are on disk. A one-shot process (the
 * CLI's `run`) awaits it before process.exit, or the next run finds half a file and no state.
 */
export async function stateWritesSettled(): Promise<void> {
  while (pendingWrites.size > 0) await Promise.allSettled([...pendingWrites])
}

async function readState(dir: string, key: string): Promise<SavedState | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as { release?: unknown; file?: unknown }
    if (typeof meta.release !== 'string' || typeof meta.file !== 'string') return undefined
    const bytes = await readFile(join(dir, meta.file))
    return { release: meta.release, state: toArrayBuffer(meta.file.endsWith('.gz') ? gunzipSync(bytes) : bytes) }
  } catch {
    return undefined
  }
}

/**
 * Writes `<key>.state[.gz]` and then `<key>.json`, each atomically, so readers never see half.
 * Shipped states are gzipped (~17 MB → ~4 MB; browsers and Node both gunzip natively and
 * fast, unlike v86's own zstd path); a local cache keeps them raw, the fastest to restore.
 */
export async function writeState(dir: string, key: string, saved: SavedState, form: 'gzip' | 'raw'): Promise<void> {
  await mkdir(dir, { recursive: true })
  await sweepStaleTemps(dir)
  const raw = new Uint8Array(saved.state)
  const file = form === 'gzip' ? `${key}.state.gz` : `${key}.state`
  const tmp = join(dir, `.${file}.${process.pid}.tmp`)
  await writeFile(tmp, form === 'gzip' ? gzipSync(raw, { level: 6 }) : raw)
  await rename(tmp, join(dir, file))
  const metaTmp = join(dir, `.${key}.json.${process.pid}.tmp`)
  await writeFile(metaTmp, JSON.stringify({ release: saved.release, file }) + '\n')
  await rename(metaTmp, join(dir, `${key}.json`))
}

/** Removes `.<name>.<pid>.tmp` files whose writer is gone (killed mid-write): ~10 MB each. */
async function sweepStaleTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) {
    const pid = /^\..+\.(\d+)\.tmp$/.exec(name)?.[1]
    if (pid === undefined || Number(pid) === process.pid || processAlive(Number(pid))) continue
    await unlink(join(dir, name)).catch(() => {})
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // alive, someone else's
  }
}

/** The bytes as an ArrayBuffer of their own: a large file read already is one, so no copy. */
function toArrayBuffer(buf: Uint8Array): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf.buffer
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
}
