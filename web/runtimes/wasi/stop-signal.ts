// Stopping a WASI run without losing its files. A program inside WebAssembly cannot be
// interrupted, only its worker ended, and then the run's writes die with the worker: a
// Ctrl-C'd program's output files, or what a timed-out run wrote into a --dir. So a stop is
// first a request in shared memory, which the worker honours at the program's next WASI
// call (as a kernel delivers a signal at a syscall boundary) and wakes any sleep or stdin
// wait for; the run then ends normally and reports its files. Only a program that makes no
// call for a while (a pure CPU loop) has its worker ended, as before.

const SIGNAL = 0 // 0, or the signal number a stop was asked with
const SEQ = 1 // bumped on a stop, so a thread sleeping on it wakes

/** A stop channel for one run, or undefined where SharedArrayBuffer is unavailable. */
export function createStopBuffer(): SharedArrayBuffer | undefined {
  return typeof SharedArrayBuffer === 'undefined' ? undefined : new SharedArrayBuffer(8)
}

/** Thrown out of a WASI call in the worker, through the program, when a stop was asked. */
export class RunStopped extends Error {
  constructor(readonly signal: number) {
    super(`stopped by signal ${signal}`)
    this.name = 'RunStopped'
  }
}

/** The main thread's end. */
export function requestStop(sab: SharedArrayBuffer, signal: number): void {
  const cells = new Int32Array(sab)
  Atomics.store(cells, SIGNAL, signal)
  Atomics.add(cells, SEQ, 1)
  Atomics.notify(cells, SEQ)
}

/** The worker's end. Without a buffer it never stops anything and sleeps on a cell of its own. */
export class StopWatcher {
  private readonly cells: Int32Array

  constructor(sab: SharedArrayBuffer | undefined) {
    this.cells = new Int32Array(sab ?? new SharedArrayBuffer(8))
  }

  /** Throws RunStopped when a stop was asked. */
  check(): void {
    const signal = Atomics.load(this.cells, SIGNAL)
    if (signal !== 0) throw new RunStopped(signal)
  }

  /** Sleeps the worker thread for `ms`, or until a stop is asked (then throws). */
  sleep(ms: number): void {
    const seq = Atomics.load(this.cells, SEQ)
    this.check()
    if (ms > 0) Atomics.wait(this.cells, SEQ, seq, ms)
    this.check()
  }

  /** The WASI imports, each checking for a stop first. */
  guard<T extends Record<string, unknown>>(imports: T): T {
    const guarded: Record<string, unknown> = {}
    for (const [name, f] of Object.entries(imports)) {
      guarded[name] =
        typeof f === 'function'
          ? (...args: unknown[]) => {
              this.check()
              return (f as (...a: unknown[]) => unknown)(...args)
            }
          : f
    }
    return guarded as T
  }
}
