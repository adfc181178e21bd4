// The host side of a run's sockets, beside the WasiRun (page or Node main thread): it takes
// the connections the run's listeners accept, numbers them, and passes what happens on them
// to the worker as frames in the shared ring (socket-channel.ts); what the program does
// (send, shutdown, close) comes back as messages and is done on the real connection.
// Flow control both ways: a peer is paused while the program has more than PAUSE_ABOVE
// bytes of it unread, and the worker counts its sent bytes until the host reports them flushed.

import { encodeFrame, Frame, u32, type SocketMessage } from './socket-channel.js'
import type { HostConnection, SocketListener } from './sockets.js'
import { createStdinBuffer, StdinWriter } from './stdin-channel.js'

/** Unread bytes of one connection above which its peer is paused. */
const PAUSE_ABOVE = 256 * 1024
/** Connections open at once; more are closed as they arrive (a listen backlog, full). */
const MAX_CONNECTIONS = 256
/**
 * Flushed bytes are reported to the worker in batches of this size, so a small response does
 * not wake the worker a second time; its count of unflushed bytes is then at most this much
 * too high, far below the 1 MiB where its sends wait.
 */
const FLUSH_REPORT = 64 * 1024
/** The frame ring: big enough for a few full TCP reads. */
const RING_BYTES = 256 * 1024

interface Open {
  connection: HostConnection
  unread: number
  /** Flushed bytes not reported to the worker yet. */
  flushed: number
  paused: boolean
  closed: boolean
}

export class SocketHost {
  readonly ring: SharedArrayBuffer
  private readonly writer: StdinWriter
  private readonly open = new Map<number, Open>()
  /** Connections the program closed, until what it sent has left (then they are released). */
  private readonly closing = new Map<HostConnection, Promise<void>>()
  private nextId = 1
  private ended = false

  constructor(private readonly listeners: readonly SocketListener[]) {
    this.ring = createStdinBuffer(RING_BYTES)
    this.writer = new StdinWriter(this.ring)
    listeners.forEach((listener, index) => listener.onConnection((c) => this.accepted(index, c)))
  }

  /** Wakes the worker if it waits on the ring (a stop, or stdin input while it polls both). */
  wake(): void {
    this.writer.wake()
  }

  /** A message from the worker; false when it was not a socket message. */
  onMessage(m: SocketMessage | { type: string }): boolean {
    const s = m as SocketMessage
    switch (s.type) {
      case 'sock-send': {
        const o = this.open.get(s.id)
        if (!o || o.closed) return true
        const n = s.data.byteLength
        o.connection.write(s.data, () => {
          o.flushed += n
          if (o.flushed >= FLUSH_REPORT) {
            this.frame(Frame.Flushed, s.id, u32(o.flushed))
            o.flushed = 0
          }
        })
        return true
      }
      case 'sock-read': {
        const o = this.open.get(s.id)
        if (!o) return true
        o.unread -= s.n
        if (o.paused && o.unread <= PAUSE_ABOVE) {
          o.paused = false
          o.connection.resume()
        }
        return true
      }
      case 'sock-shutdown': {
        const o = this.open.get(s.id)
        if (!o) return true
        if (s.write) o.connection.end()
        if (s.read && o.paused) {
          // What the peer sends now is dropped by the worker: let it flow.
          o.paused = false
          o.connection.resume()
        }
        return true
      }
      case 'sock-close': {
        const o = this.open.get(s.id)
        if (!o) return true
        this.open.delete(s.id)
        o.closed = true
        // close() after send(): what was sent still goes out, then a FIN, then it is released.
        if (o.paused) o.connection.resume()
        this.release(o.connection)
        return true
      }
      case 'listener-close':
        this.listeners[s.index]?.close()
        return true
      case 'sock-space':
        this.writer.flush()
        return true
      default:
        return false
    }
  }

  /**
   * The program ended: listeners close, and connections it left open are closed as a process
   * exit closes its sockets, what it sent first, then a FIN. Resolves once everything sent has
   * left, or after `graceMs` (a peer that does not read); then close() drops the rest.
   */
  async finish(graceMs: number): Promise<void> {
    if (this.ended) return
    for (const l of this.listeners) l.close()
    for (const [id, o] of this.open) {
      this.open.delete(id)
      o.closed = true
      this.release(o.connection)
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([Promise.all(this.closing.values()), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))])
    clearTimeout(timer)
  }

  /** The run is over (or its worker was ended): every connection and listener goes now. */
  close(): void {
    if (this.ended) return
    this.ended = true
    for (const l of this.listeners) l.close()
    for (const o of this.open.values()) o.connection.destroy()
    for (const c of this.closing.keys()) c.destroy()
    this.open.clear()
    this.closing.clear()
  }

  /** Ends a connection after what was sent, then destroys it. */
  private release(connection: HostConnection): void {
    this.closing.set(
      connection,
      new Promise<void>((resolve) =>
        connection.end(() => {
          connection.destroy()
          this.closing.delete(connection)
          resolve()
        }),
      ),
    )
  }

  private accepted(index: number, connection: HostConnection): void {
    if (this.ended || this.open.size >= MAX_CONNECTIONS) {
      connection.destroy()
      return
    }
    const id = this.nextId++
    const o: Open = { connection, unread: 0, flushed: 0, paused: false, closed: false }
    this.open.set(id, o)
    this.frame(Frame.Connection, id, concat(u32(index), new TextEncoder().encode(connection.remoteAddress)))
    connection.handle({
      data: (bytes) => {
        if (o.closed) return
        o.unread += bytes.byteLength
        this.frame(Frame.Data, id, bytes)
        if (!o.paused && o.unread > PAUSE_ABOVE) {
          o.paused = true
          connection.pause()
        }
      },
      end: () => {
        if (!o.closed) this.frame(Frame.End, id)
      },
      close: (error) => {
        const wasOpen = this.open.delete(id)
        if (wasOpen) this.frame(Frame.Closed, id, errno(error === undefined ? 0 : ERRNO_CONNRESET))
        o.closed = true
      },
    })
  }

  private frame(type: Frame, id: number, payload?: Uint8Array): void {
    if (!this.ended) this.writer.write(encodeFrame(type, id, payload))
  }
}

/** WASI's ECONNRESET, the error a reset connection reports to its reader. */
const ERRNO_CONNRESET = 15

function errno(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, n >> 8])
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a)
  out.set(b, a.byteLength)
  return out
}
