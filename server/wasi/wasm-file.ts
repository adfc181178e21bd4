// What `boxplay run --runtime wasi ./prog.wasm [--dir HOST[::GUEST]] …` needs from the
// wasi engine on the Node side: a RunImage for a module on disk, and --dir parsed into a
// Mount (like wasmtime's --dir: HOST alone is mapped at the same path in the guest).

import { readFile } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import type { Mount, RunImage } from '../../web/runtimes/runtime.js'
import { wasmFileImage } from '../../web/runtimes/wasi/wasm-file.js'

/** True when the argument names a .wasm file rather than an image. */
export function looksLikeWasmFile(arg: string): boolean {
  return arg.endsWith('.wasm') && (arg.includes('/') || arg.startsWith('.'))
}

export async function wasmFileFromHost(path: string): Promise<RunImage> {
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await readFile(path))
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
  return wasmFileImage(bytes, { fileName: basename(path) })
}

/** `HOST[::GUEST]` → a read-write Mount; a relative HOST is taken from the current directory. */
export function parseDirFlag(value: string): Mount {
  const [host, guest] = value.split('::', 2) as [string, string | undefined]
  if (host === '') throw new Error(`--dir ${value}: give a host directory, e.g. --dir ./data::/data`)
  const hostPath = resolve(host)
  const guestPath = guest === undefined || guest === '' ? (host.startsWith('/') ? host : `/${host.replace(/^\.\//, '')}`) : guest
  if (!guestPath.startsWith('/')) throw new Error(`--dir ${value}: the guest path must be absolute, e.g. ::/data`)
  return { hostPath, guestPath }
}
