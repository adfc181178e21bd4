// Published ports for v86 runs (`boxplay run --runtime v86 -p [IP:]HOST:GUEST`, parsed by
// server/net/publish.ts into the spec's network.ports): a TCP
// listener on the host whose every connection becomes a TCP connection from the LAN's host
// stack (web/net/host-stack.ts, at the gateway address) into the guest's port. The bytes are
// passed on both ways as they come; a guest that refuses or stops answering resets the
// host-side socket, as a closed port would.

import { type Server, type Socket, createServer } from 'node:net'
import type { Lan } from '../../web/net/lan.js'
import type { PublishedPort, Run, RunSpec } from '../../web/runtimes/runtime.js'
import type { V86Runtime } from '../../web/runtimes/v86/runtime.js'

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
      const server = createServer((socket) => forward(lan, guestAddress, p.containerPort, socket, sockets))
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
  // The LAN is the run's own; the spec's network (its ports) is handled here, not by start().
  // v86's JIT stays off unless asked for (`options.jit: true`): servers that fork per
  // connection answer ~6× faster without it (web/net/README.md).
  const { network: _ports, ...rest } = spec
  const run = await runtime.start({ ...rest, options: { jit: false, ...rest.options } }, { lan, name: spec.hostname ?? 'boxplay' })
  const address = run.link!.member.address
  let publication: Publication
  try {
    publication = await publishPorts(lan, address, ports)
  } catch (err) {
    run.kill('SIGKILL')
    throw err
  }
  // As the native runtime reports them (server/native/run.ts).
  run.facts.ports = publication.bound.map((p) => `${p.hostIp}:${p.boundPort}->${p.containerPort}/tcp`).join(', ')
  for (const p of publication.bound) log(`${p.hostIp}:${p.boundPort} -> ${address}:${p.containerPort}`)
  void run.exit.then(async () => {
    await publication.close()
    lan.host().close()
  })
  return run
}
