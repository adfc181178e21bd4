// `--tcplisten [IP:]PORT` for the wasi runtime, as wasmtime's: the host opens a listening TCP
// socket (127.0.0.1 unless an IP is given) and the module gets it as a preopened fd. This is
// the Node side of web/runtimes/wasi/sockets.ts: a net.Server whose connections the run serves.

import { createServer, isIP, type Server, type Socket } from 'node:net'
import type { HostConnection, SocketListener } from '../../web/runtimes/wasi/sockets.js'

export interface ListenAddress {
  host: string
  port: number
}

/** `PORT`, `IP:PORT` or `[IPv6]:PORT`; the host defaults to 127.0.0.1, never all interfaces. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([0-9.]+):)?(\d+)$/.exec(text.trim())
  const usage = `--tcplisten takes [IP:]PORT, e.g. 8080 or 127.0.0.1:8080 or [::1]:8080, not "${text}"`
  if (!m) throw new Error(usage)
  const host = m[1] ?? m[2] ?? '127.0.0.1'
  const port = Number(m[3])
  if (isIP(host) === 0) throw new Error(`${usage}: ${host} is not an IP address`)
  if (port > 65535) throw new Error(`${usage}: ports go up to 65535`)
  return { host, port }
}

class NodeConnection implements HostConnection {
  readonly remoteAddress: string
  private error: Error | undefined

  constructor(private readonly socket: Socket) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    // Small request/response exchanges (an HTTP server) should not wait for Nagle.
    socket.setNoDelay(true)
    socket.on('error', (e) => (this.error = e))
  }

  handle(events: { data(bytes: Uint8Array): void; end(): void; close(error?: string): void }): void {
    this.socket.on('data', (b: Buffer) => events.data(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)))
    this.socket.on('end', () => events.end())
    this.socket.on('close', (hadError) => events.close(hadError ? (this.error?.message ?? 'connection error') : undefined))
  }

  write(bytes: Uint8Array, flushed: () => void): void {
    if (this.socket.destroyed) return flushed()
    this.socket.write(bytes, () => flushed())
  }

  end(flushed?: () => void): void {
    if (this.socket.destroyed) return flushed?.()
    this.socket.end(() => flushed?.())
  }

  destroy(): void {
    this.socket.destroy()
  }

  pause(): void {
    this.socket.pause()
  }

  resume(): void {
    this.socket.resume()
  }
}

class TcpListener implements SocketListener {
  private accept: ((c: HostConnection) => void) | undefined
  private readonly early: HostConnection[] = []

  constructor(
    private readonly server: Server,
    readonly address: string,
  ) {
    server.on('connection', (socket) => {
      const c = new NodeConnection(socket)
      if (this.accept) this.accept(c)
      else this.early.push(c)
    })
  }

  onConnection(accept: (connection: HostConnection) => void): void {
    this.accept = accept
    for (const c of this.early.splice(0)) accept(c)
  }

  close(): void {
    this.server.close()
    for (const c of this.early.splice(0)) c.destroy()
  }
}

/** Opens the listener, or fails with a message that says what to do (a port in use, no such address). */
export function openTcpListener(text: string): Promise<SocketListener> {
  const { host, port } = parseListenAddress(text)
  // allowHalfOpen: the peer's FIN must not end our side; the program decides (shutdown, close).
  const server = createServer({ allowHalfOpen: true })
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
      if (e.code === 'EADDRINUSE') reject(new Error(`--tcplisten ${text}: ${where} is already in use; pick another port, or stop what listens there`))
      else if (e.code === 'EADDRNOTAVAIL') reject(new Error(`--tcplisten ${text}: ${host} is not an address of this machine`))
      else if (e.code === 'EACCES') reject(new Error(`--tcplisten ${text}: not allowed to listen on port ${port} (ports below 1024 need privileges)`))
      else reject(new Error(`--tcplisten ${text}: cannot listen on ${where}: ${e.message}`))
    })
    server.listen({ host, port, exclusive: true }, () => {
      const a = server.address()
      const bound = typeof a === 'object' && a !== null ? (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : `${host}:${port}`
      resolve(new TcpListener(server, bound))
    })
  })
}
