// The wasi runtime in headless Chromium (Debian's chromium + playwright-core), on a page
// built by vite and loaded from vite's preview server with COOP/COEP: the engine runs in
// module web workers with blocking stdin over SharedArrayBuffer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { buildPages, launchChromium, openPage, removeBuild, screenshot, servePreview, type Browser, type Served } from '../browser/harness.js'
import type { RunOptions, RunOutcome } from '../browser/pages/wasi.js'
import type { ExitStatus } from '../../web/runtimes/runtime.js'
import { program } from './programs.js'

let outDir: string
let served: Served
let browser: Browser
let page: Page
let errors: string[]

beforeAll(async () => {
  for (const name of ['echo', 'limits', 'misc', 'files', 'dirs']) program(name)
  outDir = await buildPages({ images: 'dist/images', 'wasi-tests': '.cache/wasi-tests' })
  served = await servePreview(outDir)
  browser = await launchChromium()
  ;({ page, errors } = await openPage(browser, `${served.url}/test/browser/pages/wasi.html`))
  await page.waitForSelector('#status[data-ready]')
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
  if (outDir) removeBuild(outDir)
})

function runImage(name: string, opts: RunOptions = {}): Promise<RunOutcome> {
  return page.evaluate(([n, o]) => window.boxplayWasi.runImage(n, o), [name, opts] as const)
}
function runProgram(name: string, opts: RunOptions = {}): Promise<RunOutcome> {
  return page.evaluate(([n, o]) => window.boxplayWasi.runProgram(n, o), [name, opts] as const)
}

describe('wasi runtime in Chromium', () => {
  it('the page is cross-origin isolated and the runtime available', async () => {
    expect(await page.evaluate(() => window.boxplayWasi.crossOriginIsolated())).toBe(true)
    expect(await page.evaluate(() => window.boxplayWasi.available())).toEqual({ ok: true })
    expect(await page.textContent('#status')).toBe('ready')
  })

  it('hello image with args and env', async () => {
    const r = await runImage('hello', { cmd: ['from', 'chromium'], env: ['WHERE=browser'] })
    expect(r.stdout).toContain('hello from boxplay (wasi/wasm)')
    expect(r.stdout).toContain('argv[1]: from\nargv[2]: chromium\n')
    expect(r.stdout).toContain('env: WHERE=browser')
    expect(r.status).toEqual({ code: 0, reason: 'exited' })
  })

  it("python reads print(6*7) from stdin and prints 42; sleep works", async () => {
    const r = await runImage('python', { stdinText: 'import time\ntime.sleep(0.2)\nprint(6*7)\n' })
    expect(r.stdout).toBe('42\n')
    expect(r.status.code).toBe(0)
  })

  it('lua runs a script', async () => {
    const r = await runImage('lua', { cmd: ['-e', 'print(6*7)'] })
    expect(r.stdout).toBe('42\n')
  })

  it('interactive stdin blocks in the worker, output streams before exit', async () => {
    const r = await page.evaluate(() => window.boxplayWasi.interactive(['alpha', 'beta', 'gamma']))
    expect(r.sawReadyBeforeInput).toBe(true)
    expect(r.transcript).toBe('ready\ngot: alpha\ngot: beta\ngot: gamma\nlines 3\n') // stdout, then stderr at EOF
    expect(r.status).toEqual({ code: 3, reason: 'exited' })
  })

  it('python REPL on the cooked tty: echo, line editing, result, Ctrl-D', async () => {
    const keys = [...'print(6*8', '\x7f', ...'7)', '\r']
    const r = await page.evaluate((k) => window.boxplayWasi.pythonRepl(k), keys)
    expect(r.transcript).toContain('>>> print(6*8\b \b7)\r\n42\r\n>>> ')
    expect(r.status).toMatchObject({ code: 0, reason: 'exited' })
  })

  it('conformance programs pass in the browser too', async () => {
    for (const name of ['files', 'dirs']) {
      const r = await runProgram(name, { conformanceTree: true })
      expect(r.stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([])
      expect(r.stdout).toContain('failures 0\n')
      expect(r.status.code).toBe(0)
    }
    const misc = await runProgram('misc', { cmd: [String(Math.floor(Date.now() / 1000)), 'héllo wörld', 'x'], env: ['GREETING=grüezi'] })
    expect(misc.stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([])
    expect(misc.status.code).toBe(42)
  })

  it('timeout, memory cap, trap and kill end runs with clear reasons', async () => {
    const timeout = await runProgram('limits', { cmd: ['spin'], timeoutMs: 300 })
    expect(timeout.status).toMatchObject({ code: 124, reason: 'timeout' })
    const memory = await runProgram('limits', { cmd: ['alloc'], memoryBytes: 32 * 1048576 })
    expect(memory.status).toMatchObject({ reason: 'memory' })
    expect(memory.stderr).toMatch(/out of memory after \d+ MiB/)
    const trap = await runProgram('limits', { cmd: ['trap'] })
    expect(trap.status).toMatchObject({ code: 134, reason: 'trap' })
    const killed: ExitStatus = await page.evaluate(() => window.boxplayWasi.killSpin(200))
    expect(killed).toMatchObject({ code: 137, reason: 'killed' })
    const after = await runImage('hello', { cmd: ['--exit', '5'] })
    expect(after.status.code).toBe(5)
  })

  it('the page shows the runs, and nothing went wrong on it', async () => {
    expect(await page.textContent('#out')).toContain('$ hello from chromium')
    await screenshot(page, 'wasi-chromium')
    expect(errors, errors.join("\n")).toEqual([])
  })
})
