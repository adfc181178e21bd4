// WS /api/runs/ID/attach: the run's stdio as binary frames, control as JSON text frames
// (web/runtimes/remote/protocol.ts describes both).

import type { WebSocket } from 'ws'
import {
  MAX_MESSAGE_BYTES,
  STREAM_STDERR,
  STREAM_STDIN,
  STREAM_STDOUT,
  decodeStdio,
  encodeStdio,
  parseClientMessage,
  type ServerMessage,
} from '../../web/runtimes/remote/protocol.js'
import { messageOf } from './errors.js'
import type { ServedRun } from './run-registry.js'

/** Output queued for one client beyond which more output is dropped (and counted). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024

/** How long an interactive run survives without any attached client (a page reload). */
const ORPHAN_GRACE_MS = 3000

export function attachSocket(ws: WebSocket, served: ServedRun): void {
  const send = (m: ServerMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m))
  }
  send({ type: 'hello', run: served.info() })

  let timingsSent = 0
  const sendTimings = (): void => {
    if (served.run.timings.length !== timingsSent) {
      timingsSent = served.run.timings.length
      send({ type: 'timings', timings: [...served.run.timings], facts: served.facts() })
    }
  }

  // A client that cannot keep up (a runaway `yes` into a slow link) must not make the server
  // buffer without bound: past the cap, output is dropped and the client told how much.
  let dropped = 0
  const reportDropped = (): void => {
    if (dropped === 0 || ws.readyState !== ws.OPEN) return
    ws.send(encodeStdio(STREAM_STDERR, new TextEncoder().encode(`\r\n[boxplay: ${dropped} bytes of output dropped: the connection could not keep up]\r\n`)))
    dropped = 0
  }
  const detach = served.attach({
    output(chunk) {
      sendTimings()
      if (ws.readyState !== ws.OPEN) return
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        dropped += chunk.data.byteLength
        return
      }
      reportDropped()
      ws.send(encodeStdio(chunk.stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR, chunk.data))
    },
    exit(status) {
      reportDropped()
      send({ type: 'exit', status, timings: [...served.run.timings], facts: served.facts() })
      ws.close(1000, 'run exited')
    },
  })

  ws.on('message', (data, isBinary) => {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    try {
      if (isBinary) {
        const { tag, data: payload } = decodeStdio(bytes)
        if (tag !== STREAM_STDIN) throw new Error('clients may only send stdin frames (tag 0)')
        if (!served.status) served.run.write(payload)
        return
      }
      const m = parseClientMessage(bytes.toString('utf8'))
      if (served.status) return
      if (m.type === 'resize') served.run.resize(m.cols, m.rows)
      else if (m.type === 'kill') served.run.kill(m.signal ?? 'SIGKILL')
      else served.run.closeStdin()
    } catch (e) {
      send({ type: 'error', error: messageOf(e) })
    }
  })

  ws.on('close', () => {
    detach()
    if (served.interactive && !served.status) {
      setTimeout(() => {
        if (served.attached === 0 && !served.status) served.run.kill('SIGKILL')
      }, ORPHAN_GRACE_MS).unref()
    }
  })
}

export const wsOptions = { maxPayload: MAX_MESSAGE_BYTES }
