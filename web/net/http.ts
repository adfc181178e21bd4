// One HTTP/1.1 exchange over a TcpConnection from the host stack: what the page's preview
// (the service worker asks the page, the page asks the guest) and tests use to talk to a web
// server in a guest. `Connection: close`, so the body ends with the connection unless a
// Content-Length or chunked encoding says so first. No DOM and no Node APIs.

import type { TcpConnection } from './host-stack.js'

export interface HttpRequest {
  method: string
  /** Path and query, e.g. "/index.html?x=1". */
  path: string
  headers?: [string, string][]
  body?: Uint8Array
}

export interface HttpResponse {
  status: number
  statusText: string
  headers: [string, string][]
  body: Uint8Array
  /** Milliseconds from the request's first byte sent to the response's first byte. */
  firstByteMs: number
}

/** Headers the browser sends that make no sense to pass into a guest over our connection. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host'])
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024

export async function httpExchange(conn: TcpConnection, host: string, req: HttpRequest): Promise<HttpResponse> {
  const chunks: Uint8Array[] = []
  let size = 0
  let firstByteAt = -1
  let sentAt = 0
  const done = new Promise<void>((resolve, reject) => {
    conn.onData((d) => {
      if (firstByteAt < 0) firstByteAt = now()
      chunks.push(d)
      size += d.length
      if (size > MAX_RESPONSE_BYTES) {
        conn.destroy()
        reject(new Error(`the response from ${host} is larger than ${MAX_RESPONSE_BYTES >> 20} MiB`))
      } else if (complete(chunks, size)) resolve()
    })
    conn.onEnd(() => resolve())
    conn.onClose((error) => (error && size === 0 ? reject(error) : resolve()))
  })
  await conn.established
  const lines = [`${req.method} ${req.path} HTTP/1.1`, `Host: ${host}`, 'Connection: close']
  for (const [k, v] of req.headers ?? []) if (!HOP_BY_HOP.has(k.toLowerCase()) && k.toLowerCase() !== 'content-length') lines.push(`${k}: ${v}`)
  if (req.body && req.body.length > 0) lines.push(`Content-Length: ${req.body.length}`)
  const head = new TextEncoder().encode(lines.join('\r\n') + '\r\n\r\n')
  sentAt = now()
  conn.write(head)
  if (req.body && req.body.length > 0) conn.write(req.body)
  await done
  conn.end()
  const response = parseResponse(concat(chunks, size))
  return { ...response, firstByteMs: firstByteAt < 0 ? -1 : Math.round((firstByteAt - sentAt) * 10) / 10 }
}

function now(): number {
  return globalThis.performance.now()
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const all = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.length
  }
  return all
}

function headerEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i + 1
  }
  return -1
}

/** Whether the response is whole before the server closes (Content-Length reached). */
function complete(chunks: Uint8Array[], size: number): boolean {
  const bytes = concat(chunks, size)
  const end = headerEnd(bytes)
  if (end < 0) return false
  const head = new TextDecoder().decode(bytes.subarray(0, end))
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  return length !== null && size - end >= Number(length[1])
}

export function parseResponse(bytes: Uint8Array): Omit<HttpResponse, 'firstByteMs'> {
  const end = headerEnd(bytes)
  if (end < 0) throw new Error('the guest closed the connection without a complete HTTP response')
  const [statusLine = '', ...headerLines] = new TextDecoder().decode(bytes.subarray(0, end - 4)).split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine)
  if (!m) throw new Error(`not an HTTP response: "${statusLine.slice(0, 80)}"`)
  const headers: [string, string][] = []
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()])
  }
  let body = bytes.subarray(end)
  const get = (name: string) => headers.find(([k]) => k.toLowerCase() === name)?.[1]
  const length = get('content-length')
  if (get('transfer-encoding')?.toLowerCase().includes('chunked')) body = dechunk(body)
  else if (length !== undefined && /^\d+$/.test(length)) body = body.subarray(0, Number(length))
  return {
    status: Number(m[1]),
    statusText: m[2] ?? '',
    headers: headers.filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase()) && k.toLowerCase() !== 'content-length'),
    body: body.slice(),
  }
}

function dechunk(data: Uint8Array): Uint8Array {
  const out: Uint8Array[] = []
  let size = 0
  let at = 0
  const text = new TextDecoder('latin1')
  while (at < data.length) {
    let lineEnd = at
    while (lineEnd + 1 < data.length && !(data[lineEnd] === 13 && data[lineEnd + 1] === 10)) lineEnd++
    const n = parseInt(text.decode(data.subarray(at, lineEnd)).split(';')[0]!.trim(), 16)
    if (!Number.isFinite(n) || n === 0) break
    const start = lineEnd + 2
    out.push(data.subarray(start, start + n))
    size += n
    at = start + n + 2
  }
  return concat(out, size)
}
