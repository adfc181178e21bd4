// An in-page "port": the listening socket a WASI server gets in a browser, where there is no
// TCP. The page hands a PagePort to the run as a listener (WasiRunSpec.listeners); any page
// script (later a preview frame's service worker, or a v86 guest on the in-page LAN) calls
// connect() and talks to the module over a pair of streams, the shape of the Direct Sockets
// API's TCPSocket (`{ readable, writable }`):
//
//   const port = new PagePort('echo')
//   const run = await runtime.start({ image, listeners: [port] })
//   const socket = await port.connect()
//   const writer = socket.writable.getWriter(); await writer.write(bytes); await writer.close()  // close = our FIN
//   for await (const chunk of socket.readable) …                                                 // ends at the module's FIN
//
// Backpressure both ways: writes wait while the module has not read what it was sent, and
// the module's sends wait while the page has not read them. No DOM and no Node APIs.

import type { HostConnection, SocketListener } from './sockets.js'

/** One connection to a PagePort, as the page script holds it. */
export interface PageSocket {
  /** What the module sent; closes at the module's shutdown/close, errors if the run ends first. */
  readonly readable: ReadableStream<Uint8Array>
  /** What the module reads; closing it is a FIN (the module reads end of stream). */
  readonly writable: WritableStream<Uint8Array>
  /** Closes both ways at once (a reset, for the module). */
  close(): void
}

/** Bytes the module may send ahead of the page reading them. */
const READ_AHEAD = 256 * 1024

class PageConnection implements HostConnection {
  readonly remoteAddress = 'page'
  private events: { data(bytes: Uint8Array): void; end(): void; close(error?: string): void } | undefined
  private early: ({ kind: 'data'; bytes: Uint8Array } | { kind: 'end' } | { kind: 'close'; error?: string })[] = []
  private readController!: ReadableStreamDefaultController<Uint8Array>
  private readDone = false
  private writeDone = false
  private paused = false
  private resumeWaiters: (() => void)[] = []
  private pullWaiters: (() => void)[] = []
  readonly socket: PageSocket

  constructor() {
    const readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.readController = c
        },
        pull: () => {
          for (const f of this.pullWaiters.splice(0)) f()
        },
        cancel: () => {
          this.readDone = true
          for (const f of this.pullWaiters.splice(0)) f()
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: READ_AHEAD }),
    )
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        if (this.writeDone) throw new Error('the connection is closed')
        this.emit({ kind: 'data', bytes: chunk.slice() })
        if (this.paused) return new Promise<void>((resolve) => this.resumeWaiters.push(resolve))
        return undefined
      },
      close: () => {
        this.writeDone = true
        this.emit({ kind: 'end' })
      },
      abort: () => this.reset(),
    })
    this.socket = { readable, writable, close: () => this.reset() }
  }

  handle(events: { data(bytes: Uint8Array): void; end(): void; close(error?: string): void }): void {
    this.events = events
    for (const e of this.early.splice(0)) this.emit(e)
  }

  write(bytes: Uint8Array, flushed: () => void): void {
    if (this.readDone) return flushed()
    this.readController.enqueue(bytes.slice())
    // Reported flushed once the page has room again: the module's send then blocks in the worker.
    if ((this.readController.desiredSize ?? 1) > 0) flushed()
    else this.pullWaiters.push(flushed)
  }

  end(flushed?: () => void): void {
    if (!this.readDone) {
      this.readDone = true
      this.readController.close()
    }
    flushed?.()
  }

  destroy(): void {
    if (!this.readDone) {
      this.readDone = true
      this.readController.error(new Error('the WASI server closed the connection'))
    }
    this.writeDone = true
    for (const f of this.pullWaiters.splice(0)) f()
    this.resume()
    this.emit({ kind: 'close' })
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    for (const f of this.resumeWaiters.splice(0)) f()
  }

  private reset(): void {
    if (this.writeDone && this.readDone) return
    this.writeDone = true
    this.emit({ kind: 'close', error: 'the page closed the connection' })
    this.destroy()
  }

  private emit(e: { kind: 'data'; bytes: Uint8Array } | { kind: 'end' } | { kind: 'close'; error?: string }): void {
    if (!this.events) {
      this.early.push(e)
      return
    }
    if (e.kind === 'data') this.events.data(e.bytes)
    else if (e.kind === 'end') this.events.end()
    else {
      const events = this.events
      this.events = { data() {}, end() {}, close() {} } // reported once
      events.close(e.error)
    }
  }
}

/** A listener inside the page; give it to one run, then connect() to what that run serves. */
export class PagePort implements SocketListener {
  readonly address: string
  private accept: ((c: HostConnection) => void) | undefined
  private readonly waiting: PageConnection[] = []
  private closed = false

  constructor(readonly name: string) {
    this.address = `page:${name}`
  }

  /** Connects to the module; refused once the port is closed (the run ended, or closed its listener). */
  async connect(): Promise<PageSocket> {
    if (this.closed) throw new Error(`connection refused: nothing listens on ${this.address} any more`)
    const c = new PageConnection()
    if (this.accept) this.accept(c)
    else this.waiting.push(c)
    return c.socket
  }

  onConnection(accept: (connection: HostConnection) => void): void {
    this.accept = accept
    for (const c of this.waiting.splice(0)) accept(c)
  }

  close(): void {
    this.closed = true
    for (const c of this.waiting.splice(0)) c.destroy()
  }
}
