// WASI servers on a preopened listening socket (`boxplay run --runtime wasi --tcplisten`),
// through the CLI as a user runs them, with real TCP clients on 127.0.0.1: echo to several
// clients one after another and at once (with a payload big enough for flow control),
// accept/recv/poll/shutdown semantics checked from inside the module, a tiny HTTP server,
// a port in use, and a stop (SIGTERM) while the server waits in poll.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureCompiledWorker, program, root } from './programs.js'
import { failures } from './helpers.js'

let home: string
let dataDir: string
const children: ChildProcess[] = []

beforeAll(() => {
  ensureCompiledWorker()
  for (const p of ['echo-server', 'sock-probe', 'http-server', 'sock-multi']) program(p)
  home = mkdtempSync(join(tmpdir(), 'boxplay-sock-'))
  dataDir = mkdtempSync(join(tmpdir(), 'boxplay-sock-dir-'))
})

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  rmSync(home, { recursive: true, force: true })
  rmSync(dataDir, { recursive: true, force: true })
})

const cli = join(root, 'dist/server/cli/main.js')
const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', BOXPLAY_HOME: home })

interface Served {
  port: number
  /** Every listener's port, in --tcplisten order. */
  ports: number[]
  stdout(): string
  waitFor(text: string): Promise<void>
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
  child: ChildProcess
}

/** Starts `boxplay run --runtime wasi --tcplisten 0 …` (`listeners` times) and waits for the ports it reports. */
function serve(args: string[], opts: { listeners?: number; stdin?: boolean } = {}): Promise<Served> {
  const listen = Array.from({ length: opts.listeners ?? 1 }, () => ['--tcplisten', '0']).flat()
  const child = spawn(process.execPath, [cli, 'run', '--runtime', 'wasi', ...(opts.stdin ? ['-i'] : []), ...listen, ...args], {
    env: env(),
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  let err = ''
  const waiters: { text: string; resolve: () => void }[] = []
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
    for (const w of waiters.splice(0)) (out.includes(w.text) ? w.resolve() : waiters.push(w))
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr: err })),
  )
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString()
      const ports = [...err.matchAll(/listening on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]))
      if (ports.length === (opts.listeners ?? 1)) {
        resolve({
          port: ports[0]!,
          ports,
          stdout: () => out,
          waitFor: (text) => (out.includes(text) ? Promise.resolve() : new Promise((r) => waiters.push({ text, resolve: r }))),
          exit,
          child,
        })
      }
    })
    void exit.then((e) => reject(new Error(`the server exited before listening (${e.code}): ${e.stderr}`)))
  })
}

/** A client: connected, with everything it receives collected until the server closes. */
function client(port: number): Promise<{ socket: Socket; received(): string; waitFor(text: string): Promise<void>; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    let got = ''
    const waiters: { text: string; resolve: () => void }[] = []
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1')
      for (const w of waiters.splice(0)) (got.includes(w.text) ? w.resolve() : waiters.push(w))
    })
    const closed = new Promise<string>((r) => socket.on('close', () => r(got)))
    socket.once('error', reject)
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => got,
        waitFor: (text) => (got.includes(text) ? Promise.resolve() : new Promise((r) => waiters.push({ text, resolve: r }))),
        closed,
      }),
    )
  })
}

async function echoOnce(port: number, text: string): Promise<string> {
  const c = await client(port)
  c.socket.end(text)
  return c.closed
}

describe('boxplay run --runtime wasi --tcplisten', () => {
  it('an echo server answers clients one after another; the socket comes after the --dir preopens', async () => {
    const s = await serve(['--dir', `${dataDir}::/data`, program('echo-server'), '3'])
    expect(await echoOnce(s.port, 'first\n')).toBe('first\n')
    expect(await echoOnce(s.port, 'second client\n')).toBe('second client\n')
    expect(await echoOnce(s.port, '')).toBe('')
    const e = await s.exit
    expect(e.code).toBe(0)
    expect(s.stdout()).toBe('conn 1: 6 bytes\nconn 2: 14 bytes\nconn 3: 0 bytes\n')
    expect(e.stderr).toContain('served 3')
  }, 60_000)

  it('a poll() server echoes to clients at once, a megabyte included (flow control both ways)', async () => {
    const s = await serve([program('echo-server'), '--', '--poll', '4'])
    const clients = await Promise.all([0, 1, 2, 3].map(() => client(s.port)))
    // Interleaved: every client has sent before any finishes.
    clients.forEach((c, i) => c.socket.write(`hello from ${i}\n`))
    await Promise.all(clients.map((c, i) => c.waitFor(`hello from ${i}\n`)))
    const big = Buffer.alloc(1024 * 1024, 'abcdefghij')
    clients[0]!.socket.end(big)
    for (const c of clients.slice(1)) c.socket.end('bye\n')
    const got = await Promise.all(clients.map((c) => c.closed))
    expect(got[0]!.length).toBe('hello from 0\n'.length + big.length)
    expect(got[0]!.endsWith(big.toString('latin1'))).toBe(true)
    expect(got.slice(1)).toEqual(['hello from 1\nbye\n', 'hello from 2\nbye\n', 'hello from 3\nbye\n'])
    const e = await s.exit
    expect(e.code).toBe(0)
    expect(s.stdout().match(/^conn \d: \d+ bytes$/gm)).toHaveLength(4)
  }, 60_000)

  it('what a server sent before it exited still reaches a slow client', async () => {
    const s = await serve([program('echo-server'), '1'])
    const c = await client(s.port)
    c.socket.pause() // the echo piles up on the host side while the module finishes and exits
    const big = Buffer.alloc(4 * 1024 * 1024, '0123456789abcdef')
    c.socket.end(big)
    await s.waitFor('conn 1: ')
    setTimeout(() => c.socket.resume(), 300)
    const got = await c.closed
    expect(got.length).toBe(big.length)
    expect(got === big.toString('latin1')).toBe(true)
    expect((await s.exit).code).toBe(0)
  }, 60_000)

  it('accept, poll, MSG_PEEK, MSG_WAITALL, non-blocking, shutdown and close behave as on Linux', async () => {
    const s = await serve([program('sock-probe')])
    await s.waitFor('waiting\n')
    const c = await client(s.port)
    c.socket.write('hello')
    await c.waitFor('peeked hello\n')
    c.socket.write(' world')
    await c.waitFor('bye\n')
    // The server shut down its side: we see the end of the stream, and can still send.
    await new Promise<void>((resolve) => (c.socket.readableEnded ? resolve() : c.socket.once('end', () => resolve())))
    c.socket.end('after-fin\n')
    expect(await c.closed).toBe('peeked hello\nbye\n')
    const e = await s.exit
    expect(failures(s.stdout()), s.stdout()).toEqual([])
    expect(s.stdout()).toContain('done\n')
    expect(e.code).toBe(0)
    // The module closed its listener, and the run is over: nobody listens there now.
    await expect(client(s.port)).rejects.toThrow(/ECONNREFUSED/)
  }, 60_000)

  it('a tiny HTTP server answers fetch, with keep-alive and a 1 KB body', async () => {
    const s = await serve([program('http-server')])
    await s.waitFor('serving\n')
    const base = `http://127.0.0.1:${s.port}`
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${base}/`)
      expect(r.status).toBe(200)
      expect(await r.text()).toBe('hello from wasi\n')
    }
    const kb = await fetch(`${base}/bytes/1024`)
    expect((await kb.text()).length).toBe(1024)
    const many = await Promise.all(Array.from({ length: 8 }, () => fetch(`${base}/bytes/10`).then((r) => r.text())))
    expect(many).toEqual(Array(8).fill('xxxxxxxxxx'))
    // A stop while the server sleeps in poll(): it ends at its next WASI call, with 128+15.
    s.child.kill('SIGTERM')
    const e = await s.exit
    expect(e.code).toBe(143)
    await expect(client(s.port)).rejects.toThrow(/ECONNREFUSED/)
  }, 60_000)

  it('several listeners are fds 3, 4, … and one poll() wakes for any of them and for stdin', async () => {
    const s = await serve([program('sock-multi')], { listeners: 2, stdin: true })
    await s.waitFor('sockets: 3 4\n')
    const second = await client(s.ports[1]!)
    second.socket.end('to the second\n')
    expect(await second.closed).toBe('fd 4: to the second\n')
    s.child.stdin!.write('typed\n')
    await s.waitFor('stdin: typed\n')
    const first = await client(s.ports[0]!)
    first.socket.end('to the first\n')
    expect(await first.closed).toBe('fd 3: to the first\n')
    s.child.stdin!.end()
    const e = await s.exit
    expect(e.code).toBe(0)
    expect(s.stdout()).toBe('sockets: 3 4\naccepted on fd 4\nstdin: typed\naccepted on fd 3\nstdin ended\n')
  }, 60_000)

  it('an image gets the socket after its root preopen: libc starts as usual', () => {
    const r = spawnSync(process.execPath, [cli, 'run', '--runtime', 'wasi', '--tcplisten', '0', 'hello', 'with', 'socket'], {
      env: env(),
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('hello from boxplay (wasi/wasm)')
    expect(r.stdout).toContain('argv[1]: with\nargv[2]: socket\n')
    expect(r.stderr).toMatch(/^boxplay: listening on 127\.0\.0\.1:\d+\n$/)
  }, 60_000)

  it('a port in use is a clear error with exit 125, and a bad address a usage error', async () => {
    const taken: Server = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const port = (taken.address() as { port: number }).port
    try {
      const r = spawnSync(process.execPath, [cli, 'run', '--runtime', 'wasi', '--tcplisten', `127.0.0.1:${port}`, program('echo-server')], {
        env: env(),
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(r.status).toBe(125)
      expect(r.stderr).toContain(`--tcplisten 127.0.0.1:${port}: 127.0.0.1:${port} is already in use`)
      const bad = spawnSync(process.execPath, [cli, 'run', '--runtime', 'wasi', '--tcplisten', 'localhost:80x', program('echo-server')], {
        env: env(),
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(bad.status).toBe(125)
      expect(bad.stderr).toContain('--tcplisten takes [IP:]PORT')
    } finally {
      taken.close()
    }
  }, 60_000)
})
