// The wire protocol between `boxplay serve` and its clients (the browser's remote runtime,
// the tests, the bench). One file, imported by both sides, so they cannot drift apart.
//
// HTTP (JSON under /api/, errors are `{ "error": "words" }` with a 4xx/5xx status):
//   GET    /api/session                  who am I: { ok, version, allowOrigin }
//   GET    /api/runtimes                 RuntimeInfo[]
//   GET    /api/images                   ImageSummary[] (the store's listing); ?brief: [{name}] only
//   GET    /api/images/NAME              the store's inspect output for NAME (URL-encoded)
//   DELETE /api/images/NAME              remove the name (blobs stay until prune)
//   POST   /api/images/pull              { ref, platform?, insecure? } → NDJSON PullEvent lines
//   POST   /api/images/load              body: a docker-save / OCI archive tar → { images: string[] }
//   GET    /api/manifests/REF-OR-DIGEST  raw manifest/index bytes (Content-Type = media type)
//   GET    /api/blobs/sha256:HEX         raw blob, immutable caching, Range requests
//   GET    /api/layers/sha256:HEX/index  the layer index of layer blob HEX (web/oci/layer-index.ts), immutable
//   GET    /api/content/sha256:HEX       a file's content by its sha256 (from layers indexed so far), immutable
//   GET    /api/contents?sha256=HEX,…    up to 64 contents in one framed body (web/oci/content-batch.ts), immutable
//   POST   /api/runs                     CreateRunRequest → RunInfo (201); 429 when busy
//   GET    /api/runs                     RunInfo[]
//   GET    /api/runs/ID                  RunInfo (stats in `facts`)
//   POST   /api/runs/ID/kill             { signal? } → RunInfo
//   DELETE /api/runs/ID                  kill if running, then forget it (and its kept files)
//   GET    /api/runs/ID/files            after exit: RunChanges (changes.ts), what the run
//                                        changed on top of its image; 409 while running
//   WS     /api/runs/ID/attach           the attach protocol below
//   GET    /api/containers               the CLI's containers (server/containers/http.ts); GET,
//                                        DELETE /api/containers/ID, POST …/ID/stop and …/ID/kill
//   POST   /api/builds                   body: a build context tar (application/x-tar); query:
//                                        t, dockerfile, build-arg, target, platform, runtime,
//                                        no-cache → RunInfo (201) of the build, whose log is its
//                                        output on the attach socket; exit facts: digest, names
//
// Attach (WebSocket): binary frames carry stdio, the first byte says which stream
// (STDIN from the client; STDOUT/STDERR from the server), the rest are the bytes. Text frames
// carry one JSON control message each (ClientMessage / ServerMessage). On attach the server
// sends `hello`, then every byte of output since the run started, then live output, then
// `exit` (after which it closes the socket with code 1000).

import type { ExitStatus, Limits, Phase } from '../runtime.js'

export const STREAM_STDIN = 0
export const STREAM_STDOUT = 1
export const STREAM_STDERR = 2
export type StreamTag = typeof STREAM_STDIN | typeof STREAM_STDOUT | typeof STREAM_STDERR

/** Largest WebSocket message either side accepts; stdin is sent in chunks below it. */
export const MAX_MESSAGE_BYTES = 1 << 20

/** The header a non-browser client (the CLI, tests, lesson widget) authenticates with. */
export const AUTH_HEADER = 'authorization'
/** The query parameter that carries the access token (exchanged for a cookie on pages). */
export const TOKEN_QUERY = 'token'

export interface CreateRunRequest {
  /** An image name in the server's store, e.g. `busybox:latest`. */
  image: string
  /** `os/arch[/variant]`; needed only when the image has several runnable platforms. */
  platform?: string
  /** Which of the server's runtimes; only `native` today. */
  runtime?: string
  cmd?: string[]
  entrypoint?: string[]
  env?: string[]
  cwd?: string
  user?: string
  hostname?: string
  tty?: { cols: number; rows: number }
  stdin?: boolean
  limits?: Limits
}

export type RunState = 'running' | 'exited'

export interface RunInfo {
  id: string
  runtime: string
  image: string
  platform: string
  argv?: string[]
  state: RunState
  /** Milliseconds since the epoch. */
  createdAt: number
  exit?: ExitStatus
  timings: Phase[]
  facts: Record<string, string | number>
}

export interface RuntimeInfo {
  kind: string
  /** What it runs, e.g. `Native container`. */
  label: string
  ok: boolean
  reason?: string
  platforms: string[]
}

export type PullEvent =
  | { type: 'progress'; message: string; current?: number; total?: number }
  | { type: 'done'; image: string }
  | { type: 'error'; error: string }

export type ClientMessage =
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'kill'; signal?: string }
  | { type: 'close-stdin' }

export type ServerMessage =
  | { type: 'hello'; run: RunInfo }
  | { type: 'timings'; timings: Phase[]; facts: Record<string, string | number> }
  | { type: 'exit'; status: ExitStatus; timings: Phase[]; facts: Record<string, string | number> }
  | { type: 'error'; error: string }

export function encodeStdio(tag: StreamTag, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(data.byteLength + 1)
  frame[0] = tag
  frame.set(data, 1)
  return frame
}

export function decodeStdio(frame: Uint8Array): { tag: StreamTag; data: Uint8Array } {
  const tag = frame[0]
  if (tag !== STREAM_STDIN && tag !== STREAM_STDOUT && tag !== STREAM_STDERR) {
    throw new ProtocolError(`binary frame with unknown stream tag ${String(tag)}: expected 0 (stdin), 1 (stdout) or 2 (stderr)`)
  }
  return { tag, data: frame.subarray(1) }
}

export class ProtocolError extends Error {
  override name = 'ProtocolError'
}

function parseObject(text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ProtocolError('control message is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('control message must be a JSON object with a "type"')
  }
  return value as Record<string, unknown>
}

function isDimension(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1000
}

export function parseClientMessage(text: string): ClientMessage {
  const m = parseObject(text)
  switch (m.type) {
    case 'resize':
      if (!isDimension(m.cols) || !isDimension(m.rows)) {
        throw new ProtocolError('resize needs integer "cols" and "rows" between 1 and 1000')
      }
      return { type: 'resize', cols: m.cols, rows: m.rows }
    case 'kill':
      if (m.signal !== undefined && (typeof m.signal !== 'string' || !/^(SIG)?[A-Z0-9]{2,10}$/.test(m.signal))) {
        throw new ProtocolError('kill "signal" must be a signal name such as SIGTERM or SIGKILL')
      }
      return m.signal === undefined ? { type: 'kill' } : { type: 'kill', signal: m.signal }
    case 'close-stdin':
      return { type: 'close-stdin' }
    default:
      throw new ProtocolError(`unknown control message type ${JSON.stringify(m.type)}: expected resize, kill or close-stdin`)
  }
}

export function parseServerMessage(text: string): ServerMessage {
  const m = parseObject(text)
  if (m.type === 'hello' || m.type === 'timings' || m.type === 'exit' || m.type === 'error') {
    return m as unknown as ServerMessage
  }
  throw new ProtocolError(`unknown server message type ${JSON.stringify(m.type)}`)
}

/** The URL path of a run's attach socket. */
export function attachPath(runId: string): string {
  return `/api/runs/${encodeURIComponent(runId)}/attach`
}
