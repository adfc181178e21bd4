// One WASI program run in a pooled worker, seen from the page (or the Node main thread):
// output streamed from the worker's port, stdin through the shared ring buffer (through
// the line discipline when a terminal is attached), kill and timeout asked of the worker
// first (so the run keeps its files: stop-signal.ts) and by terminating it when it does not
// answer, and the run's files rebuilt from the worker's delta after exit.

import * as Comlink from 'comlink'
import type { ChangeSet } from '../../oci/changes.js'
import { RootFs, type DirNode, type Node } from '../../oci/rootfs.js'
import { changesOverImage } from '../writable-layer.js'
import { RunBase } from '../run-base.js'
import type { ExitStatus } from '../runtime.js'
import { applyDelta, type DeltaNode } from './fs-view.js'
import { LineDiscipline, onlcr } from './line-discipline.js'
import { mib, PAGE_BYTES } from './memory-cap.js'
import type { PooledWorker, WorkerPool } from './pool.js'
import type { OutputMessage, RunRequest, RunResult } from './protocol.js'
import { SocketHost } from './socket-host.js'
import type { SocketListener } from './sockets.js'
import { createStdinBuffer, StdinWriter } from './stdin-channel.js'
import { createStopBuffer, requestStop } from './stop-signal.js'

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }
/** How long what a server sent before it ended may take to leave before its connections are dropped. */
const SOCKET_FLUSH_MS = 2000
/** How long a program may take to reach its next WASI call after a stop before its worker is ended. */
const STOP_GRACE_MS = 250

/** Trees given to the run as preopens, to rebuild its files after exit. */
export interface RunTree {
  guestPath: string
  base: RootFs
  /** Told what changed once the run ends (a host directory writes it back). */
  onChanges?: (changes: DeltaNode, files: RootFs) => Promise<void>
}

export interface WasiRunOptions {
  pool: WorkerPool
  worker: PooledWorker
  request: Omit<RunRequest, 'stdin' | 'sockets'>
  /** Preopened listening sockets; the run owns them and closes them when it ends. */
  listeners?: readonly SocketListener[]
  trees: RunTree[]
  stdin: boolean
  tty?: { cols: number; rows: number }
  timeoutMs?: number
  memoryCapBytes?: number
  /** The image's own tree, which the run's change set is measured against (the root tree may hold a container's kept files). */
  imageFs?: RootFs
}

export class WasiRun extends RunBase {
  private readonly stdinWriter: StdinWriter | undefined
  private readonly discipline: LineDiscipline | undefined
  private readonly port: MessagePort
  private timer: ReturnType<typeof setTimeout> | undefined
  private outputDone!: () => void
  private readonly outputEnded = new Promise<void>((resolve) => (this.outputDone = resolve))
  private filesAfterExit: RootFs[] | undefined
  private size: { cols: number; rows: number } | undefined
  private unsubscribeFailure: () => void = () => {}
  private readonly stopBuffer = createStopBuffer()
  private stopping: { reason: 'killed' | 'timeout'; signal: string } | undefined
  private graceTimer: ReturnType<typeof setTimeout> | undefined
  private readonly sockets: SocketHost | undefined

  constructor(private readonly opts: WasiRunOptions) {
    super('wasi')
    this.size = opts.tty
    const wantsStdin = opts.stdin || opts.tty !== undefined
    const sab = wantsStdin ? createStdinBuffer() : undefined
    this.stdinWriter = sab ? new StdinWriter(sab) : undefined
    if (opts.tty) {
      this.discipline = new LineDiscipline({
        echo: (bytes) => this.emit('stdout', bytes),
        deliver: (bytes) => this.stdinWriter?.write(bytes),
        eof: () => this.closeStdin(),
        interrupt: () => this.kill('SIGINT'),
      })
    }
    const channel = new MessageChannel()
    this.port = channel.port1
    this.port.onmessage = (e: MessageEvent<OutputMessage>) => this.onWorkerMessage(e.data)
    this.facts.runtime = 'wasi'
    this.facts.isolation = 'WebAssembly sandbox: linear memory, capability-based files'
    this.facts.kernel = 'none: WASI calls are answered by JavaScript in the worker'
    this.facts.pid = 'none: a WASI module is not a process'
    if (opts.memoryCapBytes !== undefined) this.facts.memoryCap = opts.memoryCapBytes
    if (opts.timeoutMs !== undefined) {
      this.timer = setTimeout(() => this.stop('timeout'), opts.timeoutMs)
    }
    this.unsubscribeFailure = opts.worker.onFailure((message) => this.failed(new Error(message)))
    if (opts.listeners && opts.listeners.length > 0) {
      this.sockets = new SocketHost(opts.listeners)
      this.facts.listening = opts.listeners.map((l) => l.address).join(', ')
    }
    const request: RunRequest = {
      ...opts.request,
      ...(sab ? { stdin: sab } : {}),
      ...(this.stopBuffer ? { stop: this.stopBuffer } : {}),
      ...(this.sockets ? { sockets: { ring: this.sockets.ring, listeners: opts.listeners!.length } } : {}),
    }
    opts.worker.api.run(request, Comlink.transfer(channel.port2, [channel.port2])).then(
      (result) => void this.ended(result),
      (error: unknown) => this.failed(error),
    )
  }

  /** The run's files once it exited: the root first, then any extra preopens. Undefined before. */
  files(): RootFs | undefined {
    return this.filesAfterExit?.[0]
  }

  /** What the program changed over the image (a container's kept files included), once it exited. */
  async changeSet(): Promise<ChangeSet> {
    await this.exit
    const files = this.files()
    if (!files) throw new Error('this wasi run kept no files (its worker failed before it ended)')
    return changesOverImage(this.opts.imageFs ?? this.opts.trees[0]!.base, files)
  }

  /** Every preopen's files after exit, by guest path. */
  allFiles(): Map<string, RootFs> | undefined {
    if (!this.filesAfterExit) return undefined
    return new Map(this.opts.trees.map((t, i) => [t.guestPath, this.filesAfterExit![i]!]))
  }

  write(data: Uint8Array | string): void {
    if (this.done) return
    if (this.discipline) this.discipline.input(data)
    else this.stdinWriter?.write(typeof data === 'string' ? new TextEncoder().encode(data) : data)
    this.sockets?.wake() // a poll on stdin and sockets together sleeps on the socket ring
  }

  closeStdin(): void {
    this.stdinWriter?.close()
    this.sockets?.wake()
  }

  resize(cols: number, rows: number): void {
    // WASI has no window size call; the size is kept for the facts a comparison shows.
    this.size = { cols, rows }
    this.facts.terminal = `${cols}x${rows}`
  }

  kill(signal = 'SIGKILL'): void {
    this.stop('killed', signal)
  }

  /** Asks the program to stop at its next WASI call; a second stop, or no answer, ends the worker. */
  private stop(reason: 'killed' | 'timeout', signal = 'SIGKILL'): void {
    if (this.done) return
    if (this.stopping || !this.stopBuffer) return this.terminate(reason, signal)
    this.stopping = { reason, signal }
    requestStop(this.stopBuffer, SIGNALS[signal] ?? 9)
    this.stdinWriter?.wake()
    this.sockets?.wake()
    this.graceTimer = setTimeout(() => this.terminate(reason, signal), STOP_GRACE_MS)
  }

  /** A program inside WebAssembly cannot be interrupted: ending the worker ends it at once, files and all. */
  private terminate(reason: 'killed' | 'timeout', signal: string): void {
    if (this.done) return
    this.opts.worker.terminate()
    this.cleanup()
    this.phase('run')
    this.finish(this.stoppedStatus(reason, signal))
  }

  private stoppedStatus(reason: 'killed' | 'timeout', signal: string): ExitStatus {
    if (reason === 'timeout') {
      return { code: 124, reason: 'timeout', signal: 'SIGKILL', message: `the run took longer than its timeout of ${this.opts.timeoutMs} ms and was stopped` }
    }
    return { code: 128 + (SIGNALS[signal] ?? 9), reason: 'killed', signal, message: `the run was stopped by ${signal}` }
  }

  private onWorkerMessage(m: OutputMessage): void {
    if (m.type === 'out') {
      const data = this.discipline ? onlcr(m.data) : m.data
      this.emit(m.fd === 1 ? 'stdout' : 'stderr', data)
    } else if (m.type === 'stdin-space') this.stdinWriter?.flush()
    else if (m.type === 'end') this.outputDone()
    else this.sockets?.onMessage(m)
  }

  private async ended(result: RunResult): Promise<void> {
    await this.outputEnded
    // What a server sent before it exited still reaches its clients (a CLI exits right after).
    if (this.sockets && !this.done) await this.sockets.finish(SOCKET_FLUSH_MS)
    if (this.done) return
    this.cleanup()
    this.opts.pool.release(this.opts.worker)
    this.phase('run')
    this.facts.memoryPeak = result.memoryPages * PAGE_BYTES
    this.facts.instantiateMs = Math.round(result.instantiateMs * 1000) / 1000
    try {
      this.filesAfterExit = await Promise.all(
        this.opts.trees.map(async (t, i) => {
          const files = rebuild(t.base, result.changes[i] ?? { kind: 'same', path: '/' })
          if (t.onChanges) await t.onChanges(result.changes[i]!, files)
          return files
        }),
      )
    } catch (e) {
      this.emit('stderr', new TextEncoder().encode(`boxplay: could not save the run's files: ${e instanceof Error ? e.message : String(e)}\n`))
    }
    this.finish(this.status(result))
  }

  private status(result: RunResult): ExitStatus {
    const o = result.outcome
    const cap = this.opts.memoryCapBytes
    const used = result.memoryPages * PAGE_BYTES
    // A failed allocation happens inside the program (malloc returns NULL), so the only
    // sign we get is a run that failed while its memory stood close to the cap.
    const nearCap = cap !== undefined && used + Math.max(2 * 1048576, cap / 16) >= cap
    if (o.kind === 'exit') {
      if (o.code !== 0 && nearCap) {
        return { code: o.code, reason: 'memory', message: `the program failed with its memory at ${mib(used)} of its ${mib(cap!)} cap` }
      }
      return { code: o.code, reason: 'exited' }
    }
    if (o.kind === 'stopped') return this.stoppedStatus(this.stopping?.reason ?? 'killed', this.stopping?.signal ?? 'SIGKILL')
    if (o.kind === 'trap') {
      if (nearCap) return { code: 137, reason: 'memory', message: `the program ran out of memory at its ${mib(cap!)} cap (${o.message})` }
      return { code: 134, reason: 'trap', message: `the WebAssembly program crashed (trap): ${o.message}` }
    }
    return { code: 125, reason: 'error', message: o.message }
  }

  private failed(error: unknown): void {
    if (this.done) return
    this.cleanup()
    this.opts.worker.terminate()
    this.phase('run')
    this.finish({ code: 125, reason: 'error', message: `the wasi worker failed: ${error instanceof Error ? error.message : String(error)}` })
  }

  private cleanup(): void {
    this.sockets?.close()
    this.unsubscribeFailure()
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer)
    this.timer = this.graceTimer = undefined
    this.port.onmessage = null
    this.port.close()
  }
}

function rebuild(base: RootFs, delta: DeltaNode): RootFs {
  if (delta.kind === 'same' && delta.path === '/') return base
  const root = applyDelta(base.root, delta, (path) => base.lookup(path, false) as Node | undefined)
  return new RootFs(root as DirNode)
}
