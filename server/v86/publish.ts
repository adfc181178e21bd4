// Published ports for v86 runs (`boxplay run --runtime v86 -p [IP:]HOST:GUEST`): a TCP
// listener on the host whose every connection becomes a TCP connection from the LAN's host
// stack (web/net/host-stack.ts, at the gateway address) into the guest's port. The bytes are
// passed on both ways as they come; a guest that refuses or stops answering resets the
// host-side socket, as a closed port would.

import { type Server, type Socket, createServer } from 'node:net'
import type { Lan } from '../../web/net/lan.js'
import type { Run, RunSpec } from '../../web/runtimes/runtime.js'
import type { V86Runtime } from '../../web/runtimes/v86/runtime.js'

export interface PublishedPort {
  /** Where to listen on the host; 127.0.0.1 unless an address is given, as the issue asks. */
  hostIp: string
  hostPort: number
  guestPort: number
}

/** `[IP:]HOST:GUEST[/tcp]`, Docker's form (one port, TCP only). */
export function parsePublish(text: string): PublishedPort {
  const [spec = '', proto = 'tcp'] = text.split('/', 2)
  if (proto !== 'tcp') throw new Error(`-p ${text}: only TCP ports can be published (not ${proto})`)
  const parts = spec.split(':')
  if (parts.length < 2 || parts.length > 3) throw new Error(`-p ${text}: give [IP:]HOST:GUEST, e.g. -p 8080:80`)
  const [hostIp = '127.0.0.1', hostText, guestText] = parts.length === 3 ? parts : [undefined, ...parts]
  const port = (t: string | undefined, what: string) => {
    const n = Number(t)
    if (!/^\d+$/.test(t ?? '') || n < 1 || n > 65535) throw new Error(`-p ${text}: the ${what} port must be 1-65535, not "${t ?? ''}"`)
    return n
  }
  return { hostIp: hostIp || '127.0.0.1', hostPort: port(hostText, 'host'), guestPort: port(guestText, 'guest') }
}

export interface Publication {
  /** The ports as bound (a host port 0 gets a free one). */
  readonly bound: readonly (PublishedPort & { boundPort: number })[]
  close(): Promise<void>
}

/** Listens on every host port and forwards each connection into `guestAddress` on the LAN. */
export async function publishPorts(lan: Lan, guestAddress: string, ports: readonly PublishedPort[]): Promise<Publication> {
  const servers: Server[] = []
  const sockets = new Set<Socket>()
  const bound: (PublishedPort & { boundPort: number })[] = []
  const close = async () => {
    for (const s of sockets) s.destroy()
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
  try {
    for (const p of ports) {
      const server = createServer((socket) => forward(lan, guestAddress, p.guestPort, socket, sockets))
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(new Error(`cannot publish ${p.hostIp}:${p.hostPort}: ${err.code === 'EADDRINUSE' ? 'the port is already in use' : err.message}`)),
        )
        server.listen(p.hostPort, p.hostIp, () => resolve())
      })
      const address = server.address()
      bound.push({ ...p, boundPort: typeof address === 'object' && address ? address.port : p.hostPort })
    }
  } catch (err) {
    await close()
    throw err
  }
  return { bound, close }
}

function forward(lan: Lan, guestAddress: string, guestPort: number, socket: Socket, sockets: Set<Socket>): void {
  sockets.add(socket)
  socket.setNoDelay(true)
  const conn = lan.host().connect(guestAddress, guestPort)
  conn.onData((data) => socket.write(data))
  conn.onEnd(() => socket.end())
  conn.onClose((error) => (error ? socket.resetAndDestroy() : socket.end()))
  socket.on('data', (data: Buffer) => conn.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()))
  socket.on('end', () => conn.end())
  socket.on('error', () => {})
  socket.on('close', (hadError) => {
    sockets.delete(socket)
    if (hadError) conn.destroy()
  })
}

/**
 * Starts a v86 run on a LAN of its own with `ports` published; the listeners close when the
 * run exits. The guest's name on the LAN is its hostname (default "boxplay").
 */
export async function startPublished(
  runtime: V86Runtime,
  spec: RunSpec,
  ports: readonly PublishedPort[],
  log: (line: string) => void = () => {},
): Promise<Run> {
  const { Lan } = await import('../../web/net/lan.js')
  const lan = new Lan({ name: 'default' })
  const run = await runtime.start(spec, { lan, name: spec.hostname ?? 'boxplay' })
  const address = run.link!.member.address
  let publication: Publication
  try {
    publication = await publishPorts(lan, address, ports)
  } catch (err) {
    run.kill('SIGKILL')
    throw err
  }
  for (const p of publication.bound) log(`${p.hostIp}:${p.boundPort} -> ${address}:${p.guestPort}`)
  void run.exit.then(async () => {
    await publication.close()
    lan.host().close()
  })
  return run
}
