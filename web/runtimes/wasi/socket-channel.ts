// The wire contract between the host side of a run's sockets (socket-host.ts, in the page or
// the Node main thread, where the real listeners live) and the worker (socket-fds.ts), which
// runs the program synchronously and cannot receive messages while it does.
//
// Host → worker: frames in a byte ring in a SharedArrayBuffer (the stdin ring of
// stdin-channel.ts), so the worker can block in Atomics.wait until a connection or bytes
// arrive. A frame is [u8 type][u32 connection id][u32 length][payload], little-endian; the
// writer may split a frame across ring fills, so the reader reassembles.
// Worker → host: messages on the run's output port (posting works while the worker blocks).

export const Frame = {
  /** A listener accepted a connection. Payload: u32 listener index, then the peer address (UTF-8). */
  Connection: 1,
  /** Bytes from the peer. */
  Data: 2,
  /** The peer shut down writing (end of stream). */
  End: 3,
  /** The connection is gone. Payload: a WASI errno (u16): 0 when closed cleanly. */
  Closed: 4,
  /** Bytes the worker sent have left the host. Payload: u32 count. */
  Flushed: 5,
} as const
export type Frame = (typeof Frame)[keyof typeof Frame]

const HEADER = 9

export interface DecodedFrame {
  type: Frame
  id: number
  payload: Uint8Array
}

export function encodeFrame(type: Frame, id: number, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const out = new Uint8Array(HEADER + payload.byteLength)
  const v = new DataView(out.buffer)
  v.setUint8(0, type)
  v.setUint32(1, id, true)
  v.setUint32(5, payload.byteLength, true)
  out.set(payload, HEADER)
  return out
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n, true)
  return b
}

export function readU32(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true)
}

/** Reassembles frames from the bytes drained out of the ring. */
export class FrameDecoder {
  private pending = new Uint8Array()

  push(bytes: Uint8Array): DecodedFrame[] {
    let buf = bytes
    if (this.pending.byteLength > 0) {
      buf = new Uint8Array(this.pending.byteLength + bytes.byteLength)
      buf.set(this.pending)
      buf.set(bytes, this.pending.byteLength)
    }
    const frames: DecodedFrame[] = []
    let at = 0
    while (buf.byteLength - at >= HEADER) {
      const v = new DataView(buf.buffer, buf.byteOffset + at, HEADER)
      const len = v.getUint32(5, true)
      if (buf.byteLength - at < HEADER + len) break
      frames.push({ type: v.getUint8(0) as Frame, id: v.getUint32(1, true), payload: buf.slice(at + HEADER, at + HEADER + len) })
      at += HEADER + len
    }
    this.pending = buf.slice(at)
    return frames
  }
}

/** Worker → host, on the run's output port. */
export type SocketMessage =
  /** Bytes the program sent on connection `id`. */
  | { type: 'sock-send'; id: number; data: Uint8Array }
  /** The program read `n` more bytes of connection `id` (the host resumes a paused peer). */
  | { type: 'sock-read'; id: number; n: number }
  /** shutdown(): `read`/`write` say which sides. */
  | { type: 'sock-shutdown'; id: number; read: boolean; write: boolean }
  /** fd_close of a connection. */
  | { type: 'sock-close'; id: number }
  /** fd_close of listener number `index`. */
  | { type: 'listener-close'; index: number }
  /** The worker drained the frame ring while the host had frames queued. */
  | { type: 'sock-space' }
