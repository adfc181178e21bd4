// A raw HTTP/WebSocket client for the server tests: node:http (not fetch) so a test can send
// any Host or Origin header, exactly as an attacker's browser or a rebinding page would.

import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import WebSocket from 'ws'
import { STREAM_STDIN, decodeStdio, encodeStdio, parseServerMessage, type ServerMessage } from '../../web/runtimes/remote/protocol.js'

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  json(): any
  text: string
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer | object
  token?: string | false
}

export function requester(port: number, token: string) {
  return (path: string, opts: RequestOptions = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...opts.headers }
      if (opts.token !== false) headers.authorization = `Bearer ${opts.token ?? token}`
      let body: Buffer | undefined
      if (opts.body !== undefined) {
        if (Buffer.isBuffer(opts.body)) body = opts.body
        else if (typeof opts.body === 'string') body = Buffer.from(opts.body)
        else {
          body = Buffer.from(JSON.stringify(opts.body))
          headers['content-type'] ??= 'application/json'
        }
        headers['content-length'] = String(body.byteLength)
      }
      const req = httpRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, agent: false }, (res) => {
        const parts: Buffer[] = []
        res.on('data', (d: Buffer) => parts.push(d))
        res.on('end', () => {
          const all = Buffer.concat(parts)
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, text: all.toString('utf8'), json: () => JSON.parse(all.toString('utf8')) })
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
}

export interface Attached {
  ws: WebSocket
  messages: ServerMessage[]
  stdout(): string
  stderr(): string
  /** Resolves with the exit message (and the socket closed). */
  done: Promise<Extract<ServerMessage, { type: 'exit' }>>
  write(text: string): void
  control(message: object): void
}

export function attach(port: number, path: string, opts: { token?: string; origin?: string; host?: string } = {}): Promise<Attached> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: opts.host ?? `127.0.0.1:${port}` }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, ...(opts.origin ? { origin: opts.origin } : {}) })
    const messages: ServerMessage[] = []
    const out: Buffer[] = []
    const err: Buffer[] = []
    let settleDone!: (m: Extract<ServerMessage, { type: 'exit' }>) => void
    let exitMessage: Extract<ServerMessage, { type: 'exit' }> | undefined
    const done = new Promise<Extract<ServerMessage, { type: 'exit' }>>((r) => (settleDone = r))
    ws.on('message', (data, isBinary) => {
      const bytes = data as Buffer
      if (isBinary) {
        const { tag, data: payload } = decodeStdio(new Uint8Array(bytes))
        ;(tag === 1 ? out : err).push(Buffer.from(payload))
      } else {
        const m = parseServerMessage(bytes.toString('utf8'))
        messages.push(m)
        if (m.type === 'exit') exitMessage = m
      }
    })
    ws.on('close', () => {
      if (exitMessage) settleDone(exitMessage)
    })
    ws.on('unexpected-response', (_req, res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${Buffer.concat(parts).toString()}`), { status: res.statusCode })))
    })
    ws.on('error', reject)
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        stdout: () => Buffer.concat(out).toString('utf8'),
        stderr: () => Buffer.concat(err).toString('utf8'),
        done,
        write: (text) => ws.send(encodeStdio(STREAM_STDIN, new TextEncoder().encode(text))),
        control: (m) => ws.send(JSON.stringify(m)),
      }),
    )
  })
}
