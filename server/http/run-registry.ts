// The server's runs: a concurrency limit, the output of each run kept from its start (so an
// attach that comes late still sees everything), the finished ones remembered for a while,
// and a way to kill them all on shutdown.

import { release } from 'node:os'
import { formatPlatform, parsePlatform } from '../../web/oci/platform.js'
import { hasChanges } from '../../web/runtimes/remote/changes.js'
import type { CreateRunRequest, RunInfo } from '../../web/runtimes/remote/protocol.js'
import { resolveProcess, type ExitStatus, type OutputChunk, type Run, type Runtime, type RunSpec } from '../../web/runtimes/runtime.js'
import { HttpError, badRequest, messageOf } from './errors.js'
import type { ImageService } from './image-service.js'

export interface RegistryLimits {
  maxRuns: number
  /** Longest a run may take; requests asking for more (or nothing) get this. */
  maxRunMs: number
  /** Output kept per run for late attachers; beyond it the oldest output is dropped. */
  maxOutputBytes: number
  /** Finished runs remembered for GET /api/runs/ID. */
  keepFinished: number
}

/** A finished run keeps its whole output this long, then only its last FINISHED_OUTPUT_BYTES. */
const FINISHED_GRACE_MS = 60_000
const FINISHED_OUTPUT_BYTES = 64 * 1024

export interface OutputListener {
  output(chunk: OutputChunk): void
  exit(status: ExitStatus): void
}

export class ServedRun {
  readonly createdAt = Date.now()
  status: ExitStatus | undefined
  private kept: OutputChunk[] = []
  private keptBytes = 0
  droppedBytes = 0
  /** Killed when its last attached client goes away (a closed browser tab). */
  interactive = false
  /** Facts the server knows that the runtime does not report (a container's kernel is the host's). */
  serverFacts: Record<string, string | number> = {}
  private listeners = new Set<OutputListener>()

  constructor(
    readonly run: Run,
    readonly runtime: string,
    readonly image: string,
    readonly platform: string,
    readonly argv: string[] | undefined,
    private maxOutputBytes: number,
  ) {
    run.onOutput((chunk) => this.record(chunk))
    void run.exit.then((status) => {
      this.status = status
      for (const l of this.listeners) l.exit(status)
      this.listeners.clear()
      // A client may attach just after a quick run ended, so its output stays whole for a
      // while; after that only the tail is kept, so finished runs cost little memory.
      setTimeout(() => this.trim(FINISHED_OUTPUT_BYTES), FINISHED_GRACE_MS).unref()
    })
  }

  private trim(limit: number): void {
    while (this.keptBytes > limit && this.kept.length > 0) {
      const old = this.kept.shift()!
      this.keptBytes -= old.data.byteLength
      this.droppedBytes += old.data.byteLength
    }
  }

  get id(): string {
    return this.run.id
  }

  private record(chunk: OutputChunk): void {
    this.kept.push(chunk)
    this.keptBytes += chunk.data.byteLength
    if (this.keptBytes > this.maxOutputBytes) this.trim(this.maxOutputBytes)
    for (const l of this.listeners) l.output(chunk)
  }

  /** Replays what was kept, then streams; returns the unsubscribe function. */
  attach(listener: OutputListener): () => void {
    if (this.droppedBytes > 0) {
      const notice = `[boxplay: the first ${this.droppedBytes} bytes of this run's output are no longer kept]\r\n`
      listener.output({ stream: 'stderr', data: new TextEncoder().encode(notice) })
    }
    for (const chunk of this.kept) listener.output(chunk)
    if (this.status) {
      listener.exit(this.status)
      return () => {}
    }
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get attached(): number {
    return this.listeners.size
  }

  facts(): Record<string, string | number> {
    return { ...this.serverFacts, ...this.run.facts }
  }

  info(): RunInfo {
    const info: RunInfo = {
      id: this.id,
      runtime: this.runtime,
      image: this.image,
      platform: this.platform,
      state: this.status ? 'exited' : 'running',
      createdAt: this.createdAt,
      timings: [...this.run.timings],
      facts: this.facts(),
    }
    if (this.argv) info.argv = this.argv
    if (this.status) info.exit = this.status
    return info
  }
}

export class RunRegistry {
  private runs = new Map<string, ServedRun>()
  private starting = 0
  private closed = false

  constructor(
    private runtimes: readonly Runtime[],
    private images: ImageService,
    private limits: RegistryLimits,
  ) {}

  get running(): number {
    let n = this.starting
    for (const r of this.runs.values()) if (!r.status) n++
    return n
  }

  list(): RunInfo[] {
    return [...this.runs.values()].map((r) => r.info())
  }

  get(id: string): ServedRun {
    const run = this.runs.get(id)
    if (!run) throw new HttpError(404, `no run with id ${JSON.stringify(id)} on this server (finished runs are forgotten after a while)`)
    return run
  }

  runtime(kind: string | undefined): Runtime {
    const runtime = kind === undefined ? this.runtimes[0] : this.runtimes.find((r) => r.kind === kind)
    if (!runtime) {
      const known = this.runtimes.map((r) => r.kind).join(', ') || 'none'
      throw badRequest(`this server has no runtime ${JSON.stringify(kind)}: it offers ${known}`)
    }
    return runtime
  }

  /** Refuses new work when the server is closing or its runs are at the cap. */
  private checkRoom(): void {
    if (this.closed) throw new HttpError(503, 'the server is shutting down: no new runs')
    if (this.running >= this.limits.maxRuns) {
      throw new HttpError(
        429,
        `busy: ${this.limits.maxRuns} runs are already running on this server, its limit; wait for one to finish or kill one, then try again`,
        { 'Retry-After': '1' },
      )
    }
  }

  /**
   * Takes a run the server made itself (a build: build-run.ts) under the same cap and records
   * as the runs it starts, so it is listed, attached to and killed on shutdown like them.
   */
  adopt(make: () => Run, what: { runtime: string; image: string; platform: string }): ServedRun {
    this.checkRoom()
    const run = make()
    const served = new ServedRun(run, what.runtime, what.image, what.platform, undefined, this.limits.maxOutputBytes)
    this.runs.set(served.id, served)
    const timer = setTimeout(() => run.kill('SIGKILL'), this.limits.maxRunMs + 5000)
    timer.unref()
    void run.exit.finally(() => {
      clearTimeout(timer)
      this.forgetOld()
    })
    return served
  }

  async create(req: CreateRunRequest): Promise<ServedRun> {
    if (this.closed) throw new HttpError(503, 'the server is shutting down: no new runs')
    const runtime = this.runtime(req.runtime)
    // Reserve the slot before the slow part, so a burst of requests cannot overshoot the limit.
    this.checkRoom()
    this.starting++
    try {
      const availability = await runtime.available()
      if (!availability.ok) throw new HttpError(503, `the ${runtime.kind} runtime is not available: ${availability.reason}`)
      const image = await this.images.runImage(req.image, req.platform ? parsePlatform(req.platform) : undefined)
      if (!runtime.supports(image.platform)) {
        throw badRequest(`the ${runtime.kind} runtime cannot run ${formatPlatform(image.platform)} images (${req.image})`)
      }
      const spec = this.spec(req, image)
      // The playground's file panel reads a native run's changes after exit (GET .../files).
      if (runtime.kind === 'native') spec.options = { ...spec.options, keepChanges: true }
      let argv: string[] | undefined
      try {
        argv = resolveProcess(spec).argv
      } catch (e) {
        throw badRequest(messageOf(e))
      }
      const run = await runtime.start(spec)
      const served = new ServedRun(run, runtime.kind, req.image, formatPlatform(image.platform), argv, this.limits.maxOutputBytes)
      served.interactive = Boolean(req.tty || req.stdin)
      if (runtime.kind === 'native') served.serverFacts.kernel = release()
      this.runs.set(served.id, served)
      // A safety net above the runtime's own timeout: no run outlives the server's limit.
      const timeout = (spec.limits?.timeoutMs ?? this.limits.maxRunMs) + 5000
      const timer = setTimeout(() => run.kill('SIGKILL'), timeout)
      timer.unref()
      void run.exit.finally(() => {
        clearTimeout(timer)
        this.forgetOld()
      })
      return served
    } finally {
      this.starting--
    }
  }

  private spec(req: CreateRunRequest, image: RunSpec['image']): RunSpec {
    const spec: RunSpec = { image, limits: { ...req.limits } }
    spec.limits!.timeoutMs = Math.min(req.limits?.timeoutMs ?? this.limits.maxRunMs, this.limits.maxRunMs)
    if (req.cmd) spec.cmd = req.cmd
    if (req.entrypoint) spec.entrypoint = req.entrypoint
    if (req.env) spec.env = req.env
    if (req.cwd) spec.cwd = req.cwd
    if (req.user) spec.user = req.user
    if (req.hostname) spec.hostname = req.hostname
    if (req.tty) spec.tty = req.tty
    if (req.stdin !== undefined) spec.stdin = req.stdin
    return spec
  }

  private forgetOld(): void {
    const finished = [...this.runs.values()].filter((r) => r.status)
    for (const r of finished.slice(0, Math.max(0, finished.length - this.limits.keepFinished))) this.forget(r)
  }

  /** Drops a run's record and whatever it kept on disk (a native run's changes). */
  private forget(run: ServedRun): void {
    this.runs.delete(run.id)
    if (hasChanges(run.run)) run.run.discard()
  }

  remove(id: string): void {
    const run = this.get(id)
    if (!run.status) run.run.kill('SIGKILL')
    this.forget(run)
  }

  /** Refuses new runs, kills every running one and waits (bounded) for them to be cleaned up. */
  async shutdown(waitMs = 10_000): Promise<void> {
    this.closed = true
    const live = [...this.runs.values()].filter((r) => !r.status)
    for (const r of live) r.run.kill('SIGKILL')
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled(live.map((r) => r.run.exit)),
      new Promise((resolve) => (timer = setTimeout(resolve, waitMs))),
    ])
    clearTimeout(timer)
    for (const r of this.runs.values()) if (hasChanges(r.run)) r.run.discard()
  }
}
