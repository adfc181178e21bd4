// Stdin for a WASI program in a worker: a ring buffer in a SharedArrayBuffer. The main
// thread writes (never blocking: what does not fit waits in a queue); the worker blocks in
// Atomics.wait until bytes or EOF arrive, so a guest's read() really waits, as on a pipe.
// Browsers allow SharedArrayBuffer only on cross-origin isolated pages (COOP + COEP).
// The same ring carries the socket channel's frames host → worker (socket-channel.ts).

const WRITE = 0 // bytes written so far, free-running (uint32 arithmetic)
const READ = 1 // bytes read so far
const CLOSED = 2 // 1 once the writer closed: EOF after the buffer drains
const WRITER_WAITING = 3 // 1 when the writer holds queued bytes and wants to hear of space
const SEQ = 4 // bumped on every change a reader may wait for
const HEADER_BYTES = 32

export const DEFAULT_STDIN_CAPACITY = 64 * 1024

export function createStdinBuffer(capacity = DEFAULT_STDIN_CAPACITY): SharedArrayBuffer {
  if (typeof SharedArrayBuffer === 'undefined') {
    throw new Error('SharedArrayBuffer is unavailable: serve the page cross-origin isolated (COOP: same-origin, COEP: require-corp)')
  }
  return new SharedArrayBuffer(HEADER_BYTES + capacity)
}

class Ring {
  protected readonly header: Int32Array
  protected readonly data: Uint8Array
  constructor(sab: SharedArrayBuffer) {
    this.header = new Int32Array(sab, 0, HEADER_BYTES / 4)
    this.data = new Uint8Array(sab, HEADER_BYTES)
  }
  protected available(): number {
    return (Atomics.load(this.header, WRITE) - Atomics.load(this.header, READ)) >>> 0
  }
  protected bump(): void {
    Atomics.add(this.header, SEQ, 1)
    Atomics.notify(this.header, SEQ)
  }
}

/** The main thread's end. */
export class StdinWriter extends Ring {
  private queue: Uint8Array[] = []
  private closing = false

  write(bytes: Uint8Array): void {
    if (this.closing) return
    if (bytes.byteLength > 0) this.queue.push(bytes.slice())
    this.flush()
  }

  close(): void {
    this.closing = true
    this.flush()
  }

  /** Wakes a reader waiting in the worker, so it sees a stop request. */
  wake(): void {
    this.bump()
  }

  get closed(): boolean {
    return Atomics.load(this.header, CLOSED) === 1
  }

  /** Moves queued bytes into the ring; call again when the reader reports space. */
  flush(): void {
    let moved = false
    while (this.queue.length > 0) {
      const space = this.data.byteLength - this.available()
      if (space === 0) break
      const chunk = this.queue[0]!
      const n = Math.min(space, chunk.byteLength)
      let w = Atomics.load(this.header, WRITE) >>> 0
      for (let i = 0; i < n; i++) this.data[(w + i) % this.data.byteLength] = chunk[i]!
      w = (w + n) >>> 0
      Atomics.store(this.header, WRITE, w | 0)
      moved = true
      if (n === chunk.byteLength) this.queue.shift()
      else this.queue[0] = chunk.subarray(n)
    }
    Atomics.store(this.header, WRITER_WAITING, this.queue.length > 0 ? 1 : 0)
    if (this.queue.length === 0 && this.closing && !this.closed) {
      Atomics.store(this.header, CLOSED, 1)
      moved = true
    }
    if (moved) this.bump()
  }
}

/** The worker's end. */
export class StdinReader extends Ring {
  /** Called after a read freed space while the writer has bytes queued. */
  onSpace: () => void = () => {}
  /** Called each time a wait wakes; throws to abandon the wait (a stop: see stop-signal.ts). */
  onWake: () => void = () => {}

  /** True when a read would not block: bytes are there or EOF was reached. */
  ready(): boolean {
    return this.available() > 0 || Atomics.load(this.header, CLOSED) === 1
  }

  /** The change counter: pass it to waitChange() after checking what you wait for. */
  seq(): number {
    return Atomics.load(this.header, SEQ)
  }

  /**
   * Blocks until anything changes after `seq` was read (bytes, EOF, a wake) or `timeoutMs`
   * passes; unlike waitReady it returns on a bare wake too (the socket channel's poll
   * wakes this way for stdin and stops).
   */
  waitChange(seq: number, timeoutMs: number): void {
    this.onWake()
    if (timeoutMs <= 0) return
    Atomics.wait(this.header, SEQ, seq, timeoutMs === Infinity ? undefined : timeoutMs)
    this.onWake()
  }

  /** True once the writer closed and every byte was read. */
  atEof(): boolean {
    return this.available() === 0 && Atomics.load(this.header, CLOSED) === 1
  }

  /** Blocks until ready() or `timeoutMs` passes (Infinity: no limit); returns ready(). */
  waitReady(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const seq = Atomics.load(this.header, SEQ)
      this.onWake()
      if (this.ready()) return true
      const left = deadline - performance.now()
      if (left <= 0) return false
      Atomics.wait(this.header, SEQ, seq, left === Infinity ? undefined : left)
    }
  }

  /** Reads up to `max` bytes, blocking until at least one arrives; empty means EOF. */
  read(max: number): Uint8Array {
    this.waitReady(Infinity)
    return this.take(max)
  }

  /** Takes up to `max` of the bytes already there, never blocking (the socket channel drains this way). */
  take(max: number): Uint8Array {
    const n = Math.min(max, this.available())
    const out = new Uint8Array(n)
    let r = Atomics.load(this.header, READ) >>> 0
    for (let i = 0; i < n; i++) out[i] = this.data[(r + i) % this.data.byteLength]!
    r = (r + n) >>> 0
    Atomics.store(this.header, READ, r | 0)
    if (n > 0 && Atomics.load(this.header, WRITER_WAITING) === 1) {
      Atomics.store(this.header, WRITER_WAITING, 0)
      this.onSpace()
    }
    return out
  }
}
