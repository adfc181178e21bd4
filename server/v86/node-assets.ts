// The v86 runtime's assets in Node: the guest kernel and BIOS from dist/guest (built by
// `boxplay setup`), v86's wasm from node_modules, saved states from dist/guest/states (the
// one the build made) or the per-user cache ($BOXPLAY_HOME/cache/v86) where runs add more.

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { SavedState, V86Assets } from '../../web/runtimes/v86/assets.js'
import { defaultHome, packageRoot } from '../store/paths.js'

export interface NodeV86AssetsOptions {
  /** Where bzImage, bios.bin and states/ are; default `<package>/dist/guest`. */
  guestDir?: string
  /** Where runs keep states they made; default `$BOXPLAY_HOME/cache/v86`. */
  cacheDir?: string
  log?: (message: string) => void
}

const SYSTEM_BIOS = '/usr/share/seabios/bios.bin'

export function guestDir(): string {
  return join(packageRoot(), 'dist', 'guest')
}

export function v86BuildDir(): string {
  return dirname(createRequire(import.meta.url).resolve('v86'))
}

export function nodeV86Assets(options: NodeV86AssetsOptions = {}): V86Assets {
  const guest = options.guestDir ?? guestDir()
  const cache = options.cacheDir ?? join(defaultHome(), 'cache', 'v86')
  const once = <T>(load: () => Promise<T>): (() => Promise<T>) => {
    let p: Promise<T> | undefined
    return () => {
      p ??= load()
      p.catch(() => (p = undefined))
      return p
    }
  }
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
    async loadState(key) {
      for (const dir of [join(guest, 'states'), cache]) {
        const saved = await readState(dir, key)
        if (saved) return saved
      }
      return undefined
    },
    async saveState(key, saved) {
      await writeState(cache, key, saved)
      options.log?.(`kept the v86 state ${key} in ${cache}`)
    },
  }
}

async function readState(dir: string, key: string): Promise<SavedState | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as { release?: unknown; file?: unknown }
    if (typeof meta.release !== 'string' || typeof meta.file !== 'string') return undefined
    return { release: meta.release, state: toArrayBuffer(await readFile(join(dir, meta.file))) }
  } catch {
    return undefined
  }
}

/** Writes `<key>.state[.zst]` and then `<key>.json`, each atomically, so readers never see half. */
export async function writeState(dir: string, key: string, saved: SavedState): Promise<void> {
  await mkdir(dir, { recursive: true })
  const raw = new Uint8Array(saved.state)
  // zstd shrinks a state ~3.5x and v86 decompresses it itself; without the tool, keep it raw.
  const z = spawnSync('zstd', ['-q', '-9', '-c'], { input: raw, maxBuffer: 1 << 30 })
  const compressed = z.status === 0 && z.stdout.length > 0
  const file = compressed ? `${key}.state.zst` : `${key}.state`
  const tmp = join(dir, `.${file}.${process.pid}.tmp`)
  await writeFile(tmp, compressed ? z.stdout : raw)
  await rename(tmp, join(dir, file))
  const metaTmp = join(dir, `.${key}.json.${process.pid}.tmp`)
  await writeFile(metaTmp, JSON.stringify({ release: saved.release, file }) + '\n')
  await rename(metaTmp, join(dir, `${key}.json`))
}

function toArrayBuffer(buf: Uint8Array): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
}
