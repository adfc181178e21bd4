// `boxplay serve --allow-origin URL` in a real browser: a page on that origin (a lesson site)
// may call the API with the token and attach to a run over a WebSocket; a page on any other
// origin may do neither, even holding the token.

import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, root, type Browser } from '../browser/harness.js'
import { freePort } from '../helpers/registry.js'

let home: string
let child: ChildProcess
let server: URL
let token: string
let browser: Browser
const pages: Server[] = []

/** A page server on its own origin, standing in for a lesson site. */
async function pageServer(): Promise<string> {
  const port = await freePort()
  const s = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html')
    res.end('<!doctype html><title>lesson</title><p>a lesson page</p>')
  })
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', r))
  pages.push(s)
  return `http://127.0.0.1:${port}`
}

/** Runs in the lesson page: the API call and the attach, as a widget would make them. */
async function tryServer(args: { base: string; token: string }): Promise<{ runtimes: string; output: string }> {
  let runtimes: string
  let id: string
  try {
    const headers = { authorization: `Bearer ${args.token}`, 'content-type': 'application/json' }
    runtimes = JSON.stringify(await (await fetch(`${args.base}/api/runtimes`, { headers })).json())
    const run = await (await fetch(`${args.base}/api/runs`, { method: 'POST', headers, body: JSON.stringify({ image: 'busybox', cmd: ['echo', 'from-the-lesson'] }) })).json()
    id = run.id
  } catch (e) {
    return { runtimes: `refused: ${(e as Error).message}`, output: '' }
  }
  const output = await new Promise<string>((resolve) => {
    const ws = new WebSocket(`${args.base.replace('http', 'ws')}/api/runs/${id}/attach?token=${args.token}`)
    ws.binaryType = 'arraybuffer'
    let text = ''
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') text += new TextDecoder().decode(new Uint8Array(e.data).subarray(1))
    }
    ws.onclose = (e) => resolve(text || `closed ${e.code}`)
  })
  return { runtimes, output }
}

let allowed: string
let other: string

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'boxplay-e2e-origin-'))
  allowed = await pageServer()
  other = await pageServer()
  child = spawn(process.execPath, [join(root, 'dist', 'server', 'cli', 'main.js'), 'serve', '--no-open', '--port', '0', '--allow-origin', allowed], {
    env: { ...process.env, BOXPLAY_HOME: home },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  server = await new Promise<URL>((resolve) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /http:\/\/\S+/.exec(out)
      if (m) resolve(new URL(m[0]))
    })
  })
  token = server.searchParams.get('token')!
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  child?.kill('SIGTERM')
  await new Promise((r) => child?.once('exit', r))
  for (const s of pages) s.close()
  await rm(home, { recursive: true, force: true })
})

describe('--allow-origin', () => {
  it('lets a page on the allowed origin use the API and attach to a run', async () => {
    const page = await browser.context.newPage()
    await page.goto(`${allowed}/`)
    const result = await page.evaluate(tryServer, { base: server.origin, token })
    expect(result.runtimes).toMatch(/"kind":"native"/)
    expect(result.output).toBe('from-the-lesson\n')
    await page.close()
  })

  it('refuses a page on any other origin, even with the token', async () => {
    const page = await browser.context.newPage()
    await page.goto(`${other}/`)
    const result = await page.evaluate(tryServer, { base: server.origin, token })
    expect(result.runtimes).toMatch(/^refused: /)
    // and its WebSocket to a run that exists is refused at the upgrade
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const run = (await (await fetch(`${server.origin}/api/runs`, { method: 'POST', headers, body: JSON.stringify({ image: 'busybox', cmd: ['sleep', '5'] }) })).json()) as { id: string }
    const ws = await page.evaluate(
      (a) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(`${a.base.replace('http', 'ws')}/api/runs/${a.id}/attach?token=${a.token}`)
          socket.onopen = () => resolve('open')
          socket.onclose = (e) => resolve(`closed ${e.code}`)
        }),
      { base: server.origin, token, id: run.id },
    )
    expect(ws).toBe('closed 1006')
    await fetch(`${server.origin}/api/runs/${run.id}`, { method: 'DELETE', headers })
    await page.close()
  })
})
