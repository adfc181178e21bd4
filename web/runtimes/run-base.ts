// What every Run shares: output listeners with a buffer until the first one subscribes,
// the exit promise settled exactly once, and phase timings. Runtimes extend it and
// implement the four process verbs.

import { concatBytes } from '../oci/bytes.js'
import type { ExitStatus, OutputChunk, Phase, Run, RuntimeKind } from './runtime.js'

let counter = 0

export abstract class RunBase implements Run {
  readonly id: string
  readonly timings: Phase[] = []
  readonly facts: Record<string, string | number> = {}
  readonly exit: Promise<ExitStatus>

  private listeners = new Set<(chunk: OutputChunk) => void>()
  private pending: OutputChunk[] | undefined = []
  private settle!: (status: ExitStatus) => void
  private exited = false
  private phaseStart = now()

  constructor(readonly kind: RuntimeKind) {
    this.id = `${kind}-${Date.now().toString(36)}-${(counter++).toString(36)}`
    this.exit = new Promise((resolve) => (this.settle = resolve))
  }

  get done(): boolean {
    return this.exited
  }

  onOutput(listener: (chunk: OutputChunk) => void): () => void {
    this.listeners.add(listener)
    const pending = this.pending
    this.pending = undefined
    for (const chunk of pending ?? []) listener(chunk)
    return () => this.listeners.delete(listener)
  }

  /** Ends the current phase (started when the previous one ended) under `name`. */
  phase(name: string): void {
    const t = now()
    this.timings.push({ name, ms: Math.round((t - this.phaseStart) * 1000) / 1000 })
    this.phaseStart = t
  }

  protected emit(stream: OutputChunk['stream'], data: Uint8Array): void {
    if (data.byteLength === 0) return
    const chunk = { stream, data }
    if (this.pending) this.pending.push(chunk)
    else for (const listener of this.listeners) listener(chunk)
  }

  /** Settles the exit promise; later calls are ignored so racing causes cannot disagree. */
  protected finish(status: ExitStatus): void {
    if (this.exited) return
    this.exited = true
    this.settle(status)
  }

  abstract write(data: Uint8Array | string): void
  abstract closeStdin(): void
  abstract resize(cols: number, rows: number): void
  abstract kill(signal?: string): void
}

function now(): number {
  return globalThis.performance.now()
}

/** Collects a run's output as text, for the CLI's non-streaming paths and the tests. */
export async function collectOutput(run: Run): Promise<{ stdout: string; stderr: string; status: ExitStatus }> {
  const out: Uint8Array[] = []
  const err: Uint8Array[] = []
  run.onOutput((c) => (c.stream === 'stdout' ? out : err).push(c.data))
  const status = await run.exit
  const text = (parts: Uint8Array[]) => new TextDecoder().decode(concatBytes(parts))
  return { stdout: text(out), stderr: text(err), status }
}
