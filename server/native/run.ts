// One native run as a `Run`: output, stdin, resize and kill go to the addon; the helper's
// final report becomes the ExitStatus, facts and timings.

import { constants } from 'node:os'
import { buildRootFs } from '../../web/oci/image.js'
import type { RootFs } from '../../web/oci/rootfs.js'
import { applyChanges, type RunChanges } from '../../web/runtimes/remote/changes.js'
import { RunBase } from '../../web/runtimes/run-base.js'
import type { ExitStatus, RunImage } from '../../web/runtimes/runtime.js'
import type { CoreHandle, CoreMessage, NativeCore } from './core.js'
import type { CoreExited, CoreStarted } from './core-spec.js'
import { readKeptChanges, type KeptLimits } from './kept-changes.js'

const signals = constants.signals as Record<string, number>

export function signalNumber(signal: string | undefined): number {
  const name = (signal ?? 'SIGKILL').toUpperCase()
  const n = signals[name.startsWith('SIG') ? name : `SIG${name}`]
  if (n === undefined) throw new Error(`unknown signal ${signal}: use a name like SIGTERM or SIGKILL`)
  return n
}

export function signalName(n: number): string {
  return Object.keys(signals).find((k) => signals[k] === n) ?? `SIG${n}`
}

/** Kept run dirs not yet read or discarded: removed when this process exits. */
const unread = new Map<string, NativeCore>()
let exitHookSet = false
function removeUnreadOnExit(): void {
  if (exitHookSet) return
  exitHookSet = true
  process.once('exit', () => {
    for (const [dir, core] of unread) core.removeRun(dir)
  })
}

export class NativeRun extends RunBase {
  private handle: CoreHandle | undefined
  private killedBy: 'killed' | 'timeout' | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Set once the helper reported that PID 1 runs the command. */
  started = false

  /** With keepChanges: the kept run dir until changes() reads it or discard() drops it. */
  private changesDir: string | undefined
  private idMap = ''
  private read: Promise<RunChanges> | undefined

  constructor(
    private readonly core: NativeCore,
    private readonly memoryLimit: number | undefined,
    private readonly image?: RunImage,
  ) {
    super('native')
  }

  /**
   * What the run wrote, deleted (whiteouts) and made, read once after exit from the run dir
   * it kept (spec.options.keepChanges), which is removed right after reading.
   */
  changes(limits?: KeptLimits): Promise<RunChanges> {
    this.read ??= this.exit.then(async () => {
      const dir = this.changesDir
      if (!dir) {
        throw new Error(
          this.discarded
            ? 'this run’s changes were discarded'
            : 'this run did not keep its changes: start it with spec.options.keepChanges = true (the default tmpfs goes with the container)',
        )
      }
      try {
        return await readKeptChanges(dir, this.idMap, limits)
      } finally {
        this.discard()
      }
    })
    return this.read
  }

  /** The image's tree with the run's changes applied, for the file panel. */
  async files(): Promise<RootFs> {
    if (!this.image) throw new Error('this run does not know its image, so its files cannot be shown')
    const [tree, changes] = await Promise.all([buildRootFs(this.image), this.changes()])
    return applyChanges(tree, changes)
  }

  private discarded = false

  /** Removes the kept changes without reading them (a forgotten run). */
  discard(): void {
    this.discarded = true
    const dir = this.changesDir
    if (!dir) return
    this.changesDir = undefined
    unread.delete(dir)
    const problem = this.core.removeRun(dir)
    if (problem) process.stderr.write(`boxplay: ${problem}\n`)
  }

  /** Work that must be done before `exit` settles (a network lease given back), in order. */
  private readonly beforeExit: Array<() => Promise<void>> = []

  /** Runs `fn` after the container is gone and before `exit` settles, so a caller that
   *  leaves as soon as the run ends (the CLI) leaves nothing half-released. */
  onEnded(fn: () => Promise<void>): void {
    this.beforeExit.push(fn)
  }

  attach(handle: CoreHandle, timeoutMs: number | undefined): void {
    this.handle = handle
    if (timeoutMs !== undefined && timeoutMs > 0) {
      this.timer = setTimeout(() => this.stop('timeout'), timeoutMs)
    }
  }

  /** The addon's callback: output, the helper's events, and the final status. */
  readonly onCoreMessage = (kind: CoreMessage, data: Buffer | string): void => {
    if (kind === 'stdout' || kind === 'stderr') {
      this.emit(kind, typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data))
    } else if (kind === 'event') {
      const event = JSON.parse(String(data)) as CoreStarted
      if (event.event === 'started') this.onStarted(event)
    } else if (kind === 'exit') {
      this.onExited(JSON.parse(String(data)) as CoreExited)
    }
  }

  private onStarted(e: CoreStarted): void {
    this.started = true
    this.phase('start')
    this.facts.pid1 = e.hostPid
    this.facts.rootless = e.rootless ? 'yes' : 'no'
    this.facts.uidMap = e.idMap
    this.idMap = e.idMap
    if (e.cgroup) this.facts.cgroup = e.cgroup
    // As Docker's PORTS column shows them: the host port is the one bound (0 was any free one).
    if (e.ports?.length) this.facts.ports = e.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/tcp`).join(', ')
    this.facts.startBreakdown = e.phases.map(([name, ms]) => `${name} ${ms.toFixed(2)} ms`).join(', ')
  }

  private onExited(e: CoreExited): void {
    if (this.timer) clearTimeout(this.timer)
    this.phase(this.started ? 'run' : 'start')
    if (e.memoryPeakBytes !== null && e.memoryPeakBytes !== undefined) this.facts.memoryPeakBytes = e.memoryPeakBytes
    if (e.cpuUsageNs !== null && e.cpuUsageNs !== undefined) this.facts.cpuTimeMs = Math.round(e.cpuUsageNs / 1e4) / 100
    if (e.pidsPeak !== null && e.pidsPeak !== undefined) this.facts.pidsPeak = e.pidsPeak
    if (e.pidsLimitHits !== null && e.pidsLimitHits !== undefined) this.facts.pidsLimitHits = e.pidsLimitHits
    if (e.cleanupError) this.facts.cleanupError = e.cleanupError
    if (e.changesDir) {
      if (this.discarded) this.core.removeRun(e.changesDir)
      else {
        this.changesDir = e.changesDir
        unread.set(e.changesDir, this.core)
        removeUnreadOnExit()
      }
    }
    const status = exitStatus(e, this.killedBy, this.memoryLimit)
    if (this.beforeExit.length === 0) return this.finish(status)
    void (async () => {
      for (const fn of this.beforeExit) {
        try {
          await fn()
        } catch (err) {
          process.stderr.write(`boxplay: after the run: ${err instanceof Error ? err.message : String(err)}\n`)
        }
      }
      this.finish(status)
    })()
  }

  private stop(why: 'killed' | 'timeout', signal = 'SIGKILL'): void {
    if (this.done || !this.handle) return
    if (signalNumber(signal) === signals.SIGKILL) this.killedBy ??= why
    this.core.kill(this.handle, signalNumber(signal))
  }

  write(data: Uint8Array | string): void {
    if (this.done || !this.handle) return
    this.core.write(this.handle, typeof data === 'string' ? new TextEncoder().encode(data) : data)
  }

  closeStdin(): void {
    if (this.handle) this.core.closeStdin(this.handle)
  }

  resize(cols: number, rows: number): void {
    if (!this.done && this.handle) this.core.resize(this.handle, cols, rows)
  }

  /** Default SIGKILL, like `docker kill`: PID 1 ignores signals it has no handler for. */
  kill(signal?: string): void {
    this.stop('killed', signal ?? 'SIGKILL')
  }
}

/** Docker's conventions: 125 the runtime failed, 126 cannot exec, 127 not found. */
export function exitStatus(e: CoreExited, killedBy: 'killed' | 'timeout' | undefined, memoryLimit?: number): ExitStatus {
  if (e.error) {
    return { code: e.code, reason: 'error', message: e.error }
  }
  const signal = e.signal ? signalName(e.signal) : undefined
  if (e.oom) {
    const limit = memoryLimit ? ` (limit ${Math.round(memoryLimit / 1024 / 1024)} MiB)` : ''
    return { code: e.code, signal: signal ?? 'SIGKILL', reason: 'oom', message: `killed by the kernel: out of memory${limit}` }
  }
  if (killedBy === 'timeout' && e.signal) {
    return { code: e.code, signal, reason: 'timeout', message: 'killed: the run took longer than its timeout' }
  }
  if (killedBy === 'killed' && e.signal) return { code: e.code, signal, reason: 'killed' }
  if (signal) return { code: e.code, signal, reason: 'signaled' }
  return { code: e.code, reason: 'exited' }
}
