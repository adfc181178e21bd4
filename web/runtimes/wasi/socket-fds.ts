// Socket file descriptors in the worker: the preopened listeners (after the preopened
// directories, as wasmtime's --tcplisten places them) and the connections sock_accept gives.
// The sockets themselves live on the host side (socket-host.ts); here is what the program
// can know synchronously: connections waiting to be accepted, bytes received and not read
// yet, end of stream, errors, and how many sent bytes the host has not flushed. All of it
// arrives as frames in the shared ring (socket-channel.ts), drained whenever the program
// asks, and waited for in Atomics.wait, never by spinning.

import { Fd, wasi } from '@bjorn3/browser_wasi_shim'
import { FrameDecoder, Frame, readU32, type SocketMessage } from './socket-channel.js'
import { StdinReader } from './stdin-channel.js'

/** Sent bytes the host has not flushed yet above which send() blocks (or says AGAIN). */
const SEND_LIMIT = 1024 * 1024
/**
 * Read bytes are reported to the host in batches of this size: the host's count of unread
 * bytes is then at most this much too high, far below where it pauses a peer, and a small
 * request costs no message.
 */
const READ_REPORT = 32 * 1024

const SOCKET_RIGHTS = BigInt(
  wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_FDSTAT_SET_FLAGS | wasi.RIGHTS_FD_FILESTAT_GET |
    wasi.RIGHTS_POLL_FD_READWRITE | wasi.RIGHTS_SOCK_SHUTDOWN,
)
/** The spec's sdflags and riflags: the shim's table has SDFLAGS_WR and RIFLAGS_RECV_WAITALL both as 1. */
export const SDFLAGS_RD = 1
export const SDFLAGS_WR = 2
export const RIFLAGS_RECV_PEEK = 1
export const RIFLAGS_RECV_WAITALL = 2
/** sock_accept's right (bit 29): newer than the shim's table. */
const RIGHTS_SOCK_ACCEPT = 1n << 29n

type Post = (m: SocketMessage, transfer?: Transferable[]) => void

/** One accepted connection as the worker knows it. */
class Conn {
  inbound: Uint8Array[] = []
  inboundBytes = 0
  /** The peer shut down writing: reads return 0 once the buffer is empty. */
  eof = false
  /** A WASI errno once the connection failed (reset). */
  error = 0
  /** Sent by the program, not yet reported flushed by the host. */
  unflushed = 0
  readSinceReport = 0
  /** The program shut down reading: what the peer sends now is dropped. */
  readShut = false
  constructor(
    readonly id: number,
    readonly peer: string,
  ) {}
}

/** The worker's end of the channel: drains frames into per-connection state, and waits. */
export class SocketChannel {
  readonly reader: StdinReader
  private readonly decoder = new FrameDecoder()
  private readonly conns = new Map<number, Conn>()
  readonly listeners: ListenerFd[] = []

  constructor(
    ring: SharedArrayBuffer,
    listenerCount: number,
    readonly post: Post,
    onWake: () => void,
  ) {
    this.reader = new StdinReader(ring)
    this.reader.onSpace = () => post({ type: 'sock-space' })
    this.reader.onWake = onWake
    for (let i = 0; i < listenerCount; i++) this.listeners.push(new ListenerFd(this, i))
  }

  /** Applies every frame already in the ring. */
  drain(): void {
    for (;;) {
      const bytes = this.reader.take(64 * 1024)
      if (bytes.byteLength === 0) return
      for (const f of this.decoder.push(bytes)) this.apply(f.type, f.id, f.payload)
    }
  }

  /** Blocks until the host writes a frame or wakes the worker (stdin, a stop), or `timeoutMs` passes. */
  waitChange(seq: number, timeoutMs: number): void {
    this.reader.waitChange(seq, timeoutMs)
  }

  /** Drains, then waits until `done()` holds; false when `nonblocking` and it does not hold at once. */
  waitUntil(done: () => boolean, nonblocking: boolean): boolean {
    for (;;) {
      const seq = this.reader.seq()
      this.drain()
      if (done()) return true
      if (nonblocking) return false
      this.waitChange(seq, Infinity)
    }
  }

  forget(conn: Conn): void {
    this.conns.delete(conn.id)
  }

  private apply(type: Frame, id: number, payload: Uint8Array): void {
    if (type === Frame.Connection) {
      const conn = new Conn(id, new TextDecoder().decode(payload.subarray(4)))
      const listener = this.listeners[readU32(payload)]
      if (listener === undefined || listener.closed) {
        this.post({ type: 'sock-close', id })
        return
      }
      this.conns.set(id, conn)
      listener.pending.push(conn)
      return
    }
    const conn = this.conns.get(id)
    if (conn === undefined) return // closed by the program meanwhile
    switch (type) {
      case Frame.Data:
        if (conn.readShut) {
          this.post({ type: 'sock-read', id, n: payload.byteLength })
          break
        }
        conn.inbound.push(payload)
        conn.inboundBytes += payload.byteLength
        break
      case Frame.End:
        conn.eof = true
        break
      case Frame.Closed: {
        const errno = payload[0]! | (payload[1]! << 8)
        conn.eof = true
        conn.error = errno === 0 ? wasi.ERRNO_PIPE : errno
        conn.unflushed = 0
        this.conns.delete(id)
        break
      }
      case Frame.Flushed:
        conn.unflushed = Math.max(0, conn.unflushed - readU32(payload))
        break
    }
  }
}

function socketStat(rights: bigint, flags: number): wasi.Fdstat {
  const s = new wasi.Fdstat(wasi.FILETYPE_SOCKET_STREAM, flags)
  s.fs_rights_base = rights
  s.fs_rights_inherited = 0n
  return s
}

abstract class SocketBase extends Fd {
  /** Only NONBLOCK means something on a socket. */
  flags = 0
  constructor(public rightsBase: bigint) {
    super()
  }
  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    return { ret: 0, fdstat: socketStat(this.rightsBase, this.flags) }
  }
  /** Rights may only shrink, as on any fd. */
  override fd_fdstat_set_rights(base: bigint): number {
    if ((base & ~this.rightsBase) !== 0n) return wasi.ERRNO_NOTCAPABLE
    this.rightsBase = base
    return 0
  }
  get nonblocking(): boolean {
    return (this.flags & wasi.FDFLAGS_NONBLOCK) !== 0
  }
  override fd_fdstat_set_flags(flags: number): number {
    this.flags = flags & wasi.FDFLAGS_NONBLOCK
    return 0
  }
  override fd_prestat_get(): { ret: number; prestat: wasi.Prestat | null } {
    // BADF, not NOTSUP: wasi-libc's preopen scan stops at the first BADF, and aborts on anything else.
    return { ret: wasi.ERRNO_BADF, prestat: null }
  }
  override fd_seek(): { ret: number; offset: bigint } {
    return { ret: wasi.ERRNO_SPIPE, offset: 0n }
  }
  override fd_tell(): { ret: number; offset: bigint } {
    return { ret: wasi.ERRNO_SPIPE, offset: 0n }
  }
  override fd_pread(): { ret: number; data: Uint8Array } {
    return { ret: wasi.ERRNO_SPIPE, data: new Uint8Array() }
  }
  override fd_pwrite(): { ret: number; nwritten: number } {
    return { ret: wasi.ERRNO_SPIPE, nwritten: 0 }
  }
}

/** A preopened listening socket. */
export class ListenerFd extends SocketBase {
  readonly pending: Conn[] = []
  closed = false

  constructor(
    private readonly channel: SocketChannel,
    readonly index: number,
  ) {
    super(SOCKET_RIGHTS | RIGHTS_SOCK_ACCEPT)
  }

  /** sock_accept: the next waiting connection as a new fd (or AGAIN when non-blocking and none waits). */
  accept(fdflags: number): SocketFd | number {
    if (!this.channel.waitUntil(() => this.pending.length > 0, this.nonblocking)) return wasi.ERRNO_AGAIN
    const conn = this.pending.shift()!
    const fd = new SocketFd(this.channel, conn)
    fd.flags = fdflags & wasi.FDFLAGS_NONBLOCK
    return fd
  }

  /** poll_oneoff: readable when a connection waits. */
  readyCount(): number {
    return this.pending.length
  }

  override fd_read(): { ret: number; data: Uint8Array } {
    return { ret: wasi.ERRNO_NOTCONN, data: new Uint8Array() }
  }
  override fd_write(): { ret: number; nwritten: number } {
    return { ret: wasi.ERRNO_NOTCONN, nwritten: 0 }
  }

  override fd_close(): number {
    this.closed = true
    for (const conn of this.pending.splice(0)) {
      this.channel.forget(conn)
      this.channel.post({ type: 'sock-close', id: conn.id })
    }
    this.channel.post({ type: 'listener-close', index: this.index })
    return 0
  }
}

/** One connection, as sock_accept returned it. */
export class SocketFd extends SocketBase {
  private writeShut = false
  private closed = false

  constructor(
    private readonly channel: SocketChannel,
    private readonly conn: Conn,
  ) {
    super(SOCKET_RIGHTS)
  }

  get peer(): string {
    return this.conn.peer
  }

  /** True when a read would not block: bytes, end of stream, an error, or reading shut down. */
  readable(): boolean {
    return this.conn.inboundBytes > 0 || this.conn.eof || this.conn.error !== 0 || this.conn.readShut
  }

  /** True when a send would not block. */
  writable(): boolean {
    return this.conn.unflushed < SEND_LIMIT || this.conn.error !== 0
  }

  /** For poll_oneoff: bytes ready to read, and whether the peer is done (HANGUP). */
  readState(): { nbytes: number; hangup: boolean } {
    return { nbytes: this.conn.inboundBytes, hangup: this.conn.inboundBytes === 0 && (this.conn.eof || this.conn.error !== 0) }
  }

  /**
   * sock_recv: up to `max` bytes; blocks until at least one (all of `max` with `waitAll`,
   * unless the stream ends first) unless non-blocking. Empty data is end of stream.
   */
  recv(max: number, peek: boolean, waitAll: boolean): { ret: number; data: Uint8Array } {
    const c = this.conn
    if (this.conn.readShut || max === 0) return { ret: 0, data: new Uint8Array() }
    const enough = (): boolean => c.inboundBytes >= (waitAll ? max : 1) || c.eof || c.error !== 0
    if (!this.channel.waitUntil(enough, this.nonblocking)) return { ret: wasi.ERRNO_AGAIN, data: new Uint8Array() }
    if (c.inboundBytes === 0) {
      // A reset reports its error once (then reads as the end, as on Linux); a clean end reads as 0 bytes.
      if (c.error !== 0 && c.error !== wasi.ERRNO_PIPE) {
        const error = c.error
        c.error = wasi.ERRNO_PIPE
        return { ret: error, data: new Uint8Array() }
      }
      return { ret: 0, data: new Uint8Array() }
    }
    const n = Math.min(max, c.inboundBytes)
    const out = new Uint8Array(n)
    let at = 0
    let i = 0
    while (at < n) {
      const chunk = c.inbound[i]!
      const k = Math.min(chunk.byteLength, n - at)
      out.set(chunk.subarray(0, k), at)
      at += k
      if (!peek) {
        if (k === chunk.byteLength) c.inbound.shift()
        else c.inbound[0] = chunk.subarray(k)
      } else i++
    }
    if (!peek) {
      c.inboundBytes -= n
      c.readSinceReport += n
      if (c.readSinceReport >= READ_REPORT) {
        this.channel.post({ type: 'sock-read', id: c.id, n: c.readSinceReport })
        c.readSinceReport = 0
      }
    }
    return { ret: 0, data: out }
  }

  /** sock_send: all of `data` (the host buffers it), after waiting while too much is unflushed. */
  send(data: Uint8Array): { ret: number; nwritten: number } {
    const c = this.conn
    if (this.writeShut) return { ret: wasi.ERRNO_PIPE, nwritten: 0 }
    if (!this.channel.waitUntil(() => this.writable(), this.nonblocking)) return { ret: wasi.ERRNO_AGAIN, nwritten: 0 }
    if (c.error !== 0) return { ret: c.error, nwritten: 0 }
    if (data.byteLength === 0) return { ret: 0, nwritten: 0 }
    const copy = data.slice()
    c.unflushed += copy.byteLength
    this.channel.post({ type: 'sock-send', id: c.id, data: copy }, [copy.buffer])
    return { ret: 0, nwritten: data.byteLength }
  }

  /** sock_shutdown: `how` is SDFLAGS_RD | SDFLAGS_WR. */
  shutdown(how: number): number {
    const read = (how & SDFLAGS_RD) !== 0
    const write = (how & SDFLAGS_WR) !== 0
    if (!read && !write) return wasi.ERRNO_INVAL
    if (this.conn.error !== 0 && this.conn.error !== wasi.ERRNO_PIPE) return wasi.ERRNO_NOTCONN
    if (read && !this.conn.readShut) {
      this.conn.readShut = true
      this.conn.inbound = []
      this.conn.inboundBytes = 0
    }
    const sendFin = write && !this.writeShut
    if (write) this.writeShut = true
    if (read || sendFin) this.channel.post({ type: 'sock-shutdown', id: this.conn.id, read, write: sendFin })
    return 0
  }

  override fd_read(size: number): { ret: number; data: Uint8Array } {
    return this.recv(size, false, false)
  }

  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    return this.send(data)
  }

  override fd_close(): number {
    if (this.closed) return 0
    this.closed = true
    this.channel.forget(this.conn)
    this.channel.post({ type: 'sock-close', id: this.conn.id })
    return 0
  }
}
