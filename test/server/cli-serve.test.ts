// `boxplay serve` as a user starts it: the compiled CLI (dist/, built by `npm test`'s pretest)
// in its own process, its printed URL, its refusals, and a graceful stop on SIGTERM/SIGINT
// that kills the runs it holds.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../server/store/paths.js'
import { attach, requester } from './client.js'

const cli = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
let home: string

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'boxplay-serve-cli-'))
})
afterAll(async () => {
  await rm(home, { recursive: true, force: true })
})

interface Started {
  child: ChildProcess
  url: URL
  stderr(): string
  exited: Promise<number | null>
}

function serve(args: string[]): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'serve', '--no-open', ...args], { env: { ...process.env, BOXPLAY_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /http:\/\/\S+/.exec(out)
      if (m) resolve({ child, url: new URL(m[0]), stderr: () => err, exited })
    })
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    void exited.then((code) => reject(new Error(`boxplay serve exited with ${code} before printing its URL: ${err}`)))
  })
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'serve', '--no-open', ...args], { env: { ...process.env, BOXPLAY_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('exit', (code) => resolve({ code, stderr }))
  })
}

describe('boxplay serve', () => {
  it('prints a loopback URL with a token on the port it picked, and serves the API with it', async () => {
    const s = await serve(['--port', '0'])
    try {
      expect(s.url.hostname).toBe('127.0.0.1')
      expect(Number(s.url.port)).toBeGreaterThan(0)
      const token = s.url.searchParams.get('token')!
      expect(token).toMatch(/^[0-9a-f]{48}$/)
      const api = requester(Number(s.url.port), token)
      expect((await api('/api/session')).json()).toMatchObject({ ok: true })
      expect((await api('/api/session', { token: false })).status).toBe(401)
      const runtimes = (await api('/api/runtimes')).json()
      expect(runtimes).toEqual([expect.objectContaining({ kind: 'native', platforms: ['linux/386', 'linux/amd64'] })])
    } finally {
      s.child.kill('SIGTERM')
      expect(await s.exited).toBe(0)
    }
  })

  it('takes the token it is given', async () => {
    const s = await serve(['--port', '0', '--token', 'a-token-of-my-own-choosing'])
    try {
      expect(s.url.searchParams.get('token')).toBe('a-token-of-my-own-choosing')
    } finally {
      s.child.kill('SIGINT')
      expect(await s.exited).toBe(0)
    }
  })

  it('refuses a non-loopback address without --allow-remote, bad options, and a busy port, in words', async () => {
    const remote = await run(['--host', '0.0.0.0', '--port', '0'])
    expect(remote.code).toBe(125)
    expect(remote.stderr).toMatch(/--allow-remote/)
    const badPort = await run(['--port', 'many'])
    expect(badPort.code).toBe(125)
    expect(badPort.stderr).toMatch(/--port must be a whole number/)
    const badOrigin = await run(['--allow-origin', 'not a url'])
    expect(badOrigin.code).toBe(125)
    expect(badOrigin.stderr).toMatch(/--allow-origin "not a url" is not a URL/)
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const port = (taken.address() as { port: number }).port
    const busy = await run(['--port', String(port)])
    taken.close()
    expect(busy.code).toBe(125)
    expect(busy.stderr).toMatch(new RegExp(`port ${port} on 127.0.0.1 is in use: .*--port 0`))
  })

  it('warns when it listens beyond loopback with --allow-remote', async () => {
    const s = await serve(['--host', '0.0.0.0', '--allow-remote', '--port', '0'])
    try {
      await new Promise((r) => setTimeout(r, 100))
      expect(s.stderr()).toMatch(/WARNING: listening on 0\.0\.0\.0/)
    } finally {
      s.child.kill('SIGTERM')
      await s.exited
    }
  })

  it('on SIGTERM kills the runs it holds, cleans them up, then exits 0', async () => {
    const s = await serve(['--port', '0'])
    const port = Number(s.url.port)
    const token = s.url.searchParams.get('token')!
    const api = requester(port, token)
    const created = await api('/api/runs', { method: 'POST', body: { image: 'busybox', cmd: ['sleep', '300'] } })
    expect(created.status, created.text).toBe(201)
    const a = await attach(port, `/api/runs/${created.json().id}/attach`, { token })
    s.child.kill('SIGTERM')
    const exit = await a.done
    expect(exit.status.reason).toBe('killed')
    expect(await s.exited).toBe(0)
    expect(s.stderr()).toMatch(/SIGTERM: stopping, killing 1 run/)
    expect(s.stderr()).toMatch(/stopped/)
  })
})
