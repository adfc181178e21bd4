// The wasi runtime: runs `wasi/wasm` images (and plain .wasm files, see wasm-file.ts) in
// pooled workers. Image trees are built once per image digest and sent to each worker
// once; modules are compiled once per (image digest, program path, memory cap) and posted
// to workers already compiled.

import { buildRootFs } from '../../oci/image.js'
import { platformMatches, type Platform } from '../../oci/platform.js'
import { readFile, RootFs, type DirNode, type FileNode, type Node } from '../../oci/rootfs.js'
import { RunBase } from '../run-base.js'
import { resolveProcess, type Availability, type Mount, type Run, type RunImage, type Runtime, type RunSpec } from '../runtime.js'
import type { DeltaNode } from './fs-view.js'
import { capMemory, MemoryCapError, memoryInfo, PAGE_BYTES } from './memory-cap.js'
import { WorkerPool, type SpawnWorker } from './pool.js'
import type { Preopen } from './protocol.js'
import type { SocketListener } from './sockets.js'
import { WasiRun, type RunTree } from './wasi-run.js'
import { treeWithChanges } from '../writable-layer.js'
import { exactEnvironment, inMemoryRootFs, isBareModule } from './wasm-file.js'

/** A host directory made available to a run (Node only: see server/wasi). */
export interface MountedTree {
  root: RootFs
  /** Applies what the run changed back to where the tree came from. */
  writeBack(changes: DeltaNode, files: RootFs): Promise<void>
}

export interface WasiRuntimeOptions {
  spawnWorker: SpawnWorker
  /** Warm workers kept for reuse. */
  poolSize?: number
  /** Builds an image's tree; defaults to buildRootFs (layers fetched through image.blob). */
  loadRootFs?: (image: RunImage) => Promise<RootFs>
  /** Maps RunSpec.mounts; without it, a spec with mounts is refused. */
  loadMount?: (mount: Mount) => Promise<MountedTree>
}

/** A RunSpec with what only the wasi runtime takes. */
export interface WasiRunSpec extends RunSpec {
  /**
   * Preopened listening sockets, as wasmtime's --tcplisten: fds after the preopened
   * directories. The run owns them: they are closed when it ends (also when it fails to start).
   */
  listeners?: readonly SocketListener[]
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d]

export class WasiRuntime implements Runtime {
  readonly kind = 'wasi' as const
  readonly pool: WorkerPool
  private readonly trees = new Map<string, Promise<RootFs>>()
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>()

  constructor(private readonly opts: WasiRuntimeOptions) {
    this.pool = new WorkerPool(opts.spawnWorker, opts.poolSize ?? 2)
  }

  async available(): Promise<Availability> {
    if (typeof WebAssembly === 'undefined') return { ok: false, reason: 'this JavaScript engine has no WebAssembly' }
    if (typeof SharedArrayBuffer === 'undefined') {
      return { ok: false, reason: 'SharedArrayBuffer is unavailable: the page must be cross-origin isolated (COOP + COEP headers)' }
    }
    return { ok: true }
  }

  supports(platform: Platform): boolean {
    return platformMatches({ os: 'wasi', architecture: 'wasm' }, platform)
  }

  /** Starts `count` workers now, so the next runs start warm. */
  prewarm(count = 1): Promise<void> {
    return this.pool.prewarm(count)
  }

  close(): void {
    this.pool.close()
  }

  async start(spec: WasiRunSpec): Promise<WasiRun | Run> {
    const listeners = spec.listeners ?? []
    try {
      const run = await this.startRun(spec, listeners)
      if (!(run instanceof WasiRun)) for (const l of listeners) l.close()
      return run
    } catch (e) {
      for (const l of listeners) l.close()
      throw e
    }
  }

  private async startRun(spec: RunSpec, listeners: readonly SocketListener[]): Promise<WasiRun | Run> {
    const t0 = performance.now()
    if (!this.supports(spec.image.platform)) {
      throw new Error(`the wasi runtime runs wasi/wasm images; ${spec.image.name} is for ${spec.image.platform.os}/${spec.image.platform.architecture}`)
    }
    const proc = resolveProcess(spec)
    const imageFs = await this.rootFs(spec.image)
    // A container's kept files go over a copy, in a tree of the run's own in the worker.
    const rootfs = treeWithChanges(imageFs, spec.changes)
    const ownTree = rootfs !== imageFs
    const program = findProgram(rootfs, proc.argv[0]!, proc.env)
    if (typeof program === 'string') return failedRun(127, program)
    const bytes = await readFile(program.node)
    if (!WASM_MAGIC.every((b, i) => bytes[i] === b)) {
      return failedRun(126, `${program.path} is not a WebAssembly module: the wasi runtime can only run .wasm programs`)
    }
    const capBytes = spec.limits?.memoryBytes
    const capPages = capBytes === undefined ? undefined : Math.max(1, Math.floor(capBytes / PAGE_BYTES))
    let module: WebAssembly.Module
    try {
      module = await this.compile(`${spec.image.digest}:${program.path}:${capPages ?? ''}`, bytes, capPages)
    } catch (e) {
      if (e instanceof MemoryCapError) return failedRun(137, e.message, 'memory')
      return failedRun(126, `${program.path} could not be compiled: ${e instanceof Error ? e.message : String(e)}`)
    }
    const resolved = performance.now()

    const trees: RunTree[] = [{ guestPath: '/', base: rootfs }]
    const preopens: Preopen[] = [{ fsKey: ownTree ? `container:${Math.random().toString(36).slice(2)}` : treeKey(spec.image), guestPath: '/', ...(isBareModule(spec.image) ? { hidden: true } : {}) }]
    for (const mount of spec.mounts ?? []) {
      if (!this.opts.loadMount) throw new Error('this wasi runtime cannot map host directories (only the Node CLI can)')
      const mounted = await this.opts.loadMount(mount)
      const key = `mount:${mount.hostPath}:${Math.random().toString(36).slice(2)}`
      trees.push({ guestPath: mount.guestPath, base: mounted.root, onChanges: mount.readonly ? undefined : (c, f) => mounted.writeBack(c, f) })
      preopens.push({ fsKey: key, guestPath: mount.guestPath, confined: true })
    }

    const worker = await this.pool.acquire(preopens[0]!.fsKey)
    for (let i = 0; i < preopens.length; i++) {
      await worker.ensureTree(preopens[i]!.fsKey, () => trees[i]!.base.root)
    }
    const env = isBareModule(spec.image)
      ? exactEnvironment(spec.env ?? [], spec.cwd)
      : proc.cwd !== '/' && !proc.env.some((e) => e.startsWith('PWD='))
        ? [...proc.env, `PWD=${proc.cwd}`]
        : proc.env
    // Mount trees are per run: forget them in the worker when it is reused.
    const run = new WasiRun({
      pool: this.pool,
      worker,
      imageFs,
      request: {
        module,
        args: proc.argv,
        env,
        preopens,
        tty: spec.tty !== undefined,
        ...(underMount(proc.cwd, preopens) ? {} : { workingDir: proc.cwd }),
        ...(capPages === undefined ? {} : { memoryCapPages: capPages }),
      },
      trees,
      ...(listeners.length > 0 ? { listeners } : {}),
      stdin: spec.stdin === true,
      ...(spec.tty ? { tty: spec.tty } : {}),
      ...(spec.limits?.timeoutMs === undefined ? {} : { timeoutMs: spec.limits.timeoutMs }),
      ...(capBytes === undefined ? {} : { memoryCapBytes: capPages! * PAGE_BYTES }),
    })
    for (const p of ownTree ? preopens : preopens.slice(1)) {
      void run.exit.then(() => {
        if (!worker.dead) void worker.api.dropFs(p.fsKey)
        worker.trees.delete(p.fsKey)
      })
    }
    run.timings.unshift({ name: 'resolve', ms: round(resolved - t0) }, { name: 'start', ms: round(performance.now() - resolved) })
    run.facts.program = program.path
    return run
  }

  private rootFs(image: RunImage): Promise<RootFs> {
    const key = treeKey(image)
    let tree = this.trees.get(key)
    if (tree === undefined) {
      const own = inMemoryRootFs(image)
      tree = (own ? Promise.resolve(own) : (this.opts.loadRootFs ?? buildRootFs)(image)).then(loadContents)
      tree.catch(() => this.trees.delete(key))
      this.trees.set(key, tree)
    }
    return tree
  }

  private compile(key: string, bytes: Uint8Array, capPages: number | undefined): Promise<WebAssembly.Module> {
    let m = this.modules.get(key)
    if (m === undefined) {
      const patched = capPages === undefined ? bytes : capMemory(bytes, capPages)
      m = WebAssembly.compile(patched as Uint8Array<ArrayBuffer>)
      m.catch(() => this.modules.delete(key))
      this.modules.set(key, m)
    }
    return m
  }
}

function treeKey(image: RunImage): string {
  return `image:${image.digest}`
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** Lazily loaded file contents cannot be awaited inside a synchronous WASI call: load them first. */
async function loadContents(fs: RootFs): Promise<RootFs> {
  const lazy: FileNode[] = []
  for (const [, node] of fs.walk()) if (node.kind === 'file' && !(node.data instanceof Uint8Array)) lazy.push(node)
  await Promise.all(lazy.map(async (n) => (n.data = await readFile(n))))
  return fs
}

/** argv[0] as a path in the image, or looked up in PATH like a shell would. */
function findProgram(fs: RootFs, name: string, env: string[]): { path: string; node: FileNode } | string {
  const candidates = name.includes('/')
    ? [name.startsWith('/') ? name : `/${name}`]
    : (env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '').split(':').filter(Boolean).map((d) => `${d}/${name}`)
  for (const path of candidates) {
    const node: Node | undefined = fs.lookup(path)
    if (node?.kind === 'file') return { path, node }
  }
  return `${name}: not found in the image${name.includes('/') ? '' : ' (searched PATH)'}`
}

/** A run that never started: the error is its stderr, the code says why (Docker's 126/127). */
function failedRun(code: number, message: string, reason: 'error' | 'memory' = 'error'): Run {
  const run = new (class extends RunBase {
    write(): void {}
    closeStdin(): void {}
    resize(): void {}
    kill(): void {}
    end(): void {
      this.emit('stderr', new TextEncoder().encode(`boxplay: ${message}\n`))
      this.finish({ code, reason, message })
    }
  })('wasi')
  run.end()
  return run
}

export type { DirNode }

/** True when `cwd` lies in a mapped host directory, which the run must not add to. */
function underMount(cwd: string, preopens: readonly { guestPath: string }[]): boolean {
  return preopens.some((p) => p.guestPath !== '/' && (cwd === p.guestPath || cwd.startsWith(`${p.guestPath.replace(/\/+$/, '')}/`)))
}
