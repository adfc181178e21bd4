// `boxplay serve`'s HTTP + WebSocket server: the playground's files, the JSON API and the
// attach sockets, behind the checks described in guards.ts and auth.ts.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { TOKEN_QUERY } from '../../web/runtimes/remote/protocol.js'
import type { Runtime } from '../../web/runtimes/runtime.js'
import { handleApi, sendJson, type ApiContext } from './api.js'
import { attachSocket, wsOptions } from './attach.js'
import { authenticate, newToken, tokenCookie } from './auth.js'
import { HttpError, messageOf, statusOf } from './errors.js'
import { hostAllowed, judgeOrigin, type GuardConfig } from './guards.js'
import { corsHeaders, securityHeaders } from './headers.js'
import type { ImageService } from './image-service.js'
import { RunRegistry } from './run-registry.js'
import { serveStatic } from './static-files.js'

export interface ServeOptions {
  host?: string
  /** 0 picks a free port. */
  port?: number
  token?: string
  allowOrigin?: string
  /** Extra names accepted in the Host header. */
  hostNames?: string[]
  images: ImageService
  runtimes: readonly Runtime[]
  /** The built playground (vite's output); without it `/` explains how to build it. */
  staticDir?: string
  version?: string
  maxRuns?: number
  maxRunMs?: number
  maxBodyBytes?: number
  maxUploadBytes?: number
  /** Largest build context POST /api/builds takes (it is read into memory). */
  maxContextBytes?: number
  log?: (message: string) => void
}

export interface RunningServer {
  /** The URL to open, with the token. */
  url: string
  /** The base URL, without the token. */
  origin: string
  port: number
  token: string
  runs: RunRegistry
  /** Kills every run, waits for them to be cleaned up, then stops listening. */
  close(): Promise<void>
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 4173,
  maxRuns: 32,
  maxRunMs: 30 * 60_000,
  maxBodyBytes: 64 * 1024,
  maxUploadBytes: 4 * 1024 ** 3,
  maxContextBytes: 256 * 1024 ** 2,
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? DEFAULTS.host
  const token = options.token ?? newToken()
  const log = options.log ?? (() => {})
  const guard: GuardConfig = {
    hostNames: [host, ...(options.hostNames ?? [])],
    ...(options.allowOrigin ? { allowOrigin: options.allowOrigin } : {}),
  }
  const runs = new RunRegistry(options.runtimes, options.images, {
    maxRuns: options.maxRuns ?? DEFAULTS.maxRuns,
    maxRunMs: options.maxRunMs ?? DEFAULTS.maxRunMs,
    maxOutputBytes: 4 * 1024 * 1024,
    keepFinished: 200,
  })
  const ctx: ApiContext = {
    images: options.images,
    runtimes: options.runtimes,
    runs,
    version: options.version ?? '0.0.0',
    allowOrigin: options.allowOrigin,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULTS.maxUploadBytes,
    maxContextBytes: options.maxContextBytes ?? DEFAULTS.maxContextBytes,
  }
  let port = 0
  const wss = new WebSocketServer({ noServer: true, ...wsOptions })

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = statusOf(err)
      if (status >= 500) log(`${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v)
      sendJson(res, status, { error: messageOf(err) })
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    securityHeaders(res, options.allowOrigin)
    const hostHeader = req.headers.host
    if (!hostAllowed(hostHeader, guard)) {
      throw new HttpError(421, `requests for host ${JSON.stringify(hostHeader ?? '')} are refused: use the address boxplay serve printed`)
    }
    const url = new URL(req.url ?? '/', `http://${hostHeader}`)
    const origin = req.headers.origin
    const verdict = judgeOrigin(origin, hostHeader!, guard)
    if (verdict === 'allowed') corsHeaders(res, origin!)
    const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/')

    if (isApi) {
      if (verdict === 'foreign') throw new HttpError(403, `requests from the page origin ${origin} are refused`)
      if (req.method === 'OPTIONS') {
        res.statusCode = 204
        res.end()
        return
      }
      const via = authenticate(req, url, token, port)
      if (!via) {
        throw new HttpError(401, 'this boxplay server needs its access token: open the URL `boxplay serve` printed (it ends in ?token=…)')
      }
      if (via === 'query') res.setHeader('Set-Cookie', tokenCookie(token, port))
      await handleApi(req, res, url, ctx)
      return
    }

    // A page opened with ?token=: swap it for the cookie and drop it from the address bar,
    // so it is not left in the history or leaked through a Referer.
    if (url.searchParams.has(TOKEN_QUERY)) {
      if (authenticate(req, url, token, port) === 'query') res.setHeader('Set-Cookie', tokenCookie(token, port))
      url.searchParams.delete(TOKEN_QUERY)
      res.statusCode = 302
      // One leading slash only: `//host` in Location would send the browser to another site.
      res.setHeader('Location', `/${url.pathname.replace(/^\/+/, '')}${url.search}`)
      res.setHeader('Cache-Control', 'no-store')
      res.end()
      return
    }
    if (!(await serveStatic(req, res, options.staticDir, url.pathname))) {
      throw new HttpError(404, `nothing at ${url.pathname}`)
    }
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, message: string): void => {
      const body = JSON.stringify({ error: message })
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : status === 421 ? 'Misdirected Request' : 'Forbidden'}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    }
    const hostHeader = req.headers.host
    if (!hostAllowed(hostHeader, guard)) return refuse(421, `requests for host ${JSON.stringify(hostHeader ?? '')} are refused`)
    const url = new URL(req.url ?? '/', `http://${hostHeader}`)
    if (judgeOrigin(req.headers.origin, hostHeader!, guard) === 'foreign') {
      return refuse(403, `WebSocket connections from the page origin ${req.headers.origin} are refused`)
    }
    if (!authenticate(req, url, token, port)) return refuse(401, 'this boxplay server needs its access token')
    const m = /^\/api\/runs\/([^/]+)\/attach$/.exec(url.pathname)
    let served
    try {
      served = m ? runs.get(decodeURIComponent(m[1]!)) : undefined
    } catch {
      served = undefined
    }
    if (!served) return refuse(404, `no run to attach to at ${url.pathname}`)
    wss.handleUpgrade(req, socket, head, (ws) => attachSocket(ws, served))
  })

  server.requestTimeout = 0 // pulls and uploads may take long; sockets still time out when idle
  server.headersTimeout = 30_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? DEFAULTS.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  const shownHost = host.includes(':') ? `[${host}]` : host
  const originUrl = `http://${shownHost}:${port}`

  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await runs.shutdown()
      for (const client of wss.clients) client.terminate()
      wss.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    })())

  return { url: `${originUrl}/?${TOKEN_QUERY}=${token}`, origin: originUrl, port, token, runs, close }
}
