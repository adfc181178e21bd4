// Plain .wasm files as images: `boxplay run --runtime wasi ./prog.wasm` and the tests build
// a RunImage in memory whose tree holds just the module, so one code path runs both.

import { digestOf } from '../../oci/digest.js'
import { RootFs } from '../../oci/rootfs.js'
import type { RunImage } from '../runtime.js'

const trees = new WeakMap<RunImage, RootFs>()
/** Images that stand for a module run on its own, as wasmtime runs one: see exactEnvironment. */
const bareModules = new WeakSet<RunImage>()

/** True when `image` is a module run on its own (`boxplay run FILE.wasm`), not an image. */
export function isBareModule(image: RunImage): boolean {
  return bareModules.has(image)
}

/**
 * The environment of a bare module run: exactly the variables asked for (the last of a
 * name wins), and PWD only when a working directory was given, as wasmtime does. An image
 * keeps Docker's rules (its Env, a default PATH: resolveProcess).
 */
export function exactEnvironment(asked: readonly string[], cwd: string | undefined): string[] {
  const env = new Map<string, string>()
  for (const entry of asked) {
    const eq = entry.indexOf('=')
    env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1))
  }
  if (cwd !== undefined && !env.has('PWD')) env.set('PWD', cwd)
  return [...env].map(([k, v]) => `${k}=${v}`)
}

/** The tree of an in-memory image made by wasmFileImage, if `image` is one. */
export function inMemoryRootFs(image: RunImage): RootFs | undefined {
  return trees.get(image)
}

export interface WasmFileImageOptions {
  /** The name the module is seen under, as argv[0] and in the tree (default: prog.wasm). */
  fileName?: string
  /** Extra files for the tree, by absolute path. */
  files?: Record<string, Uint8Array | string>
  /** A tree to put the module in (it is changed: the module and /tmp are added). */
  rootfs?: RootFs
  /**
   * Run it as wasmtime runs a module: the environment is exactly the -e variables (no
   * PATH), and PWD only with -w. Set by `boxplay run FILE.wasm`.
   */
  bare?: boolean
}

export async function wasmFileImage(bytes: Uint8Array, opts: WasmFileImageOptions = {}): Promise<RunImage> {
  const fileName = (opts.fileName ?? 'prog.wasm').replace(/^.*\//, '')
  const fs = opts.rootfs ?? new RootFs()
  const mtime = Math.floor(Date.now() / 1000)
  fs.root.entries.set(fileName, { kind: 'file', mode: 0o755, uid: 0, gid: 0, mtime, data: bytes })
  for (const [path, content] of Object.entries(opts.files ?? {})) {
    const { dir, name } = (fs.mkdirp(path.replace(/\/[^/]*$/, '')), fs.parentOf(path))
    const data = typeof content === 'string' ? new TextEncoder().encode(content) : content
    dir.entries.set(name, { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime, data })
  }
  if (!fs.lookup('/tmp')) fs.mkdirp('/tmp', { mode: 0o1777 })
  const digest = await digestOf(bytes)
  const image: RunImage = {
    name: fileName,
    digest: opts.files || opts.rootfs ? `${digest}+files:${Math.random().toString(36).slice(2)}` : digest,
    platform: { os: 'wasi', architecture: 'wasm' },
    config: { Entrypoint: [`/${fileName}`], Env: ['PATH=/'] },
    layers: [],
    blob: () => Promise.reject(new Error(`${fileName} is an in-memory image: it has no blobs`)),
  }
  trees.set(image, fs)
  if (opts.bare) bareModules.add(image)
  return image
}
