// Two v86 guests on one LAN inside one Chromium page (test/browser/pages/v86-lan.ts): the
// client fetches the web guest by name, the page reaches the web guest's port through the
// LAN's host stack. No server takes part beyond the static files.

import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Browser, type Served, buildPages, launchChromium, openPage, removeBuild, servePreview } from '../browser/harness.js'

let outDir: string
let served: Served
let browser: Browser

beforeAll(async () => {
  outDir = await buildPages({ images: 'dist/images', guest: 'dist/guest' })
  served = await servePreview(outDir)
  browser = await launchChromium()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await served?.close()
  if (outDir) removeBuild(outDir)
})

interface LanResult {
  clientStdout: string
  clientStderr: string
  clientCode: number
  fromPage: string
  webIp: string
  clientIp: string
}

describe('an in-page LAN of v86 guests (headless Chromium)', () => {
  test('the client guest fetches http://web/ by name, and the page reaches the web guest', async () => {
    const { page, errors } = await openPage(browser, `${served.url}/test/browser/pages/v86-lan.html`)
    await page.waitForFunction(() => window.boxplayLan !== undefined || window.boxplayError !== undefined, undefined, { timeout: 120_000 })
    const error = await page.evaluate(() => window.boxplayError)
    expect(error).toBeUndefined()
    const r = (await page.evaluate(() => window.boxplayLan)) as LanResult
    expect(r.clientStderr).toBe('')
    expect(r.clientStdout).toContain('hello from the web guest\n')
    expect(r.clientStdout).toMatch(/inet 10\.86\.0\.3\/24/)
    expect(r).toMatchObject({ clientCode: 0, webIp: '10.86.0.2', clientIp: '10.86.0.3' })
    expect(r.fromPage).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/)
    expect(r.fromPage).toContain('hello from the web guest')
    // 404s: the layout has no lazy layer indexes (images/lazy/), so whole layers are fetched.
    expect(errors.filter((e) => !/404/.test(e))).toEqual([])
  }, 150_000)
})
