// The monitor's control socket (`ctl.sock` in the container's directory, mode 0600 in a
// 0700 directory): newline-delimited JSON both ways.
//   → {"op":"kill","signal":"SIGTERM"}            ← {"ok":true} | {"error":"…"}
//   → {"op":"attach"}                             ← {"out":"stdout"|"stderr","d":BASE64}… then {"exit":CODE}
//     then, on the same connection:  → {"op":"stdin","d":BASE64} | {"op":"close-stdin"} | {"op":"resize","cols":C,"rows":R}
// A unix socket path has at most 107 bytes; a longer one is bound and reached through a
// relative path from the container's directory (bind and connect happen synchronously, so
// the working directory is changed only for that instant).

import { rmSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { SOCKET_FILE } from './record.js'

export type ControlRequest =
  | { op: 'kill'; signal: string }
  | { op: 'attach' }
  | { op: 'stdin'; d: string }
  | { op: 'close-stdin' }
  | { op: 'resize'; cols: number; rows: number }

export type ControlMessage = { ok: true } | { error: string } | { out: 'stdout' | 'stderr'; d: string } | { exit: number }

const MAX_PATH = 100

function inDir<T>(dir: string, fn: (path: string) => T): T {
  const full = join(dir, SOCKET_FILE)
  if (Buffer.byteLength(full) <= MAX_PATH) return fn(full)
  const before = process.cwd()
  process.chdir(dir)
  try {
    return fn(SOCKET_FILE)
  } finally {
    process.chdir(before)
  }
}

/** Reads newline-delimited JSON from a socket. */
export function onMessages<T>(socket: Socket, handle: (message: T) => void): void {
  let buffered = ''
  socket.setEncoding('utf8')
  socket.on('data', (text: string) => {
    buffered += text
    let at: number
    while ((at = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, at)
      buffered = buffered.slice(at + 1)
      if (!line) continue
      try {
        handle(JSON.parse(line) as T)
      } catch {
        socket.destroy()
        return
      }
    }
  })
}

export function send(socket: Socket, message: ControlMessage | ControlRequest): void {
  if (!socket.destroyed) socket.write(JSON.stringify(message) + '\n')
}

export function listenControl(dir: string, onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer({ allowHalfOpen: false }, onConnection)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    inDir(dir, (path) => {
      // A socket left by a monitor that was killed outright; this one holds the claim now.
      rmSync(path, { force: true })
      server.listen(path, () => resolve(server))
    })
  })
}

export function connectControl(dir: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = inDir(dir, (path) => createConnection(path))
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

/** Sends one request and waits for its one answer. */
export async function request(dir: string, req: ControlRequest): Promise<void> {
  const socket = await connectControl(dir)
  try {
    await new Promise<void>((resolve, reject) => {
      onMessages<ControlMessage>(socket, (m) => ('error' in m ? reject(new Error(m.error)) : resolve()))
      socket.once('close', () => reject(new Error('the container monitor closed the connection without an answer')))
      send(socket, req)
    })
  } finally {
    socket.destroy()
  }
}
