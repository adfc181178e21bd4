// WASI servers in headless Chromium: the browser wasi runtime in module web workers, the
// module's listening socket an in-page PagePort, the page script its client over streams
// (test/browser/pages/wasi-sock.html). The same C programs as the CLI tests.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { buildPages, launchChromium, openPage, removeBuild, servePreview, type Browser, type Served } from '../browser/harness.js'
import { program } from './programs.js'

let outDir: string
let served: Served
let browser: Browser
let page: Page
let errors: string[]

beforeAll(async () => {
  for (const name of ['echo-server', 'http-server']) program(name)
  outDir = await buildPages({ 'wasi-tests': '.cache/wasi-tests' })
  served = await servePreview(outDir)
  browser = await launchChromium()
  ;({ page, errors } = await openPage(browser, `${served.url}/test/browser/pages/wasi-sock.html`))
  await page.waitForSelector('#status[data-ready]')
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await served?.close()
  if (outDir) removeBuild(outDir)
})

describe('WASI servers on an in-page port in Chromium', () => {
  it('the page is cross-origin isolated', async () => {
    expect(await page.evaluate(() => window.boxplayWasiSock.crossOriginIsolated())).toBe(true)
    expect(await page.textContent('#status')).toBe('ready')
  })

  it('the echo server answers page clients one after another', async () => {
    const r = await page.evaluate(() => window.boxplayWasiSock.echo(['hello from the page\n', 'second\n', 'third\n'], false))
    expect(r.replies).toEqual(['hello from the page\n', 'second\n', 'third\n'])
    expect(r.stdout).toBe('conn 1: 20 bytes\nconn 2: 7 bytes\nconn 3: 6 bytes\n')
    expect(r.status).toEqual({ code: 0, reason: 'exited' })
    // The run is over: its port refuses connections.
    expect(r.refusedAfter).toBe(true)
  }, 60_000)

  it('the poll() echo server answers page clients at once, 300 KB included', async () => {
    const big = 'x'.repeat(300 * 1024)
    const texts = ['a\n', 'bb\n', big, 'dddd\n']
    const r = await page.evaluate((t) => window.boxplayWasiSock.echo(t, true), texts)
    expect(r.replies.map((x) => x.length)).toEqual(texts.map((x) => x.length))
    expect(r.replies).toEqual(texts)
    expect(r.status.code).toBe(0)
  }, 60_000)

  it('the HTTP server answers pipelined requests on one connection, and stops on a kill', async () => {
    const r = await page.evaluate(() => window.boxplayWasiSock.http(['/', '/bytes/5']))
    expect(r.response).toBe(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\nhello from wasi\n' +
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nxxxxx',
    )
    expect(r.status.code).toBe(143)
    expect(errors, errors.join('\n')).toEqual([])
  }, 60_000)
})
