// python3 in the bundled debian image, v86, in Chromium through `boxplay serve`: a deep link
// prints 42, and Run again in the same page fetches no file content at all (the page keeps
// the merged tree and what it loaded, the run's user included); a new page in the same
// browser, which has the command's reads recorded, gets them in one batched request.
// Requests are counted, never milliseconds.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { launchChromium, openPage, type Browser } from '../browser/harness.js'
import { assertBuilt, deepLink, startServe, terminalText, type Serve } from './playground.js'

let serve: Serve
let browser: Browser

beforeAll(async () => {
  assertBuilt()
  serve = await startServe()
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await serve?.close()
})

const CMD = "python3 -c 'print(6*7)'"

/** Content requests (single and batched) the page makes, by kind. */
function countContents(page: Page): { single: number; batch: number; urls: string[]; reset(): void } {
  const c = { single: 0, batch: 0, urls: [] as string[], reset: () => ((c.single = 0), (c.batch = 0), (c.urls.length = 0)) }
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname
    if (path.startsWith('/api/content/')) c.single++
    else if (path === '/api/contents') c.batch++
    else return
    c.urls.push(path)
  })
  return c
}

/** Waits for the runtime's log line of the n-th finished python3 run (web/runtimes/v86/runtime.ts). */
function finishedRuns(page: Page): (n: number) => Promise<void> {
  let done = 0
  page.on('console', (m) => {
    if (/^v86: python3 ran in /.test(m.text())) done++
  })
  return async (n) => {
    const deadline = Date.now() + 240_000
    while (done < n) {
      if (Date.now() > deadline) throw new Error(`run ${n} of python3 did not finish; terminal:\n${await terminalText(page)}`)
      await page.waitForTimeout(200)
    }
  }
}

describe('debian in the v86 page', () => {
  it('runs python3, and a second run in the page fetches nothing again; a new page gets the recorded files in one batch', async () => {
    const { page, errors } = await openPage(browser, serve.url.href) // the token becomes a cookie
    const contents = countContents(page)
    const finished = finishedRuns(page)
    await page.goto(deepLink(serve.origin, { image: 'debian', runtime: 'v86', cmd: CMD }))
    await finished(1)
    expect(await terminalText(page)).toMatch(/^42$[\s\S]*\[exited with code 0\]/m)
    expect(contents.single).toBeGreaterThan(5) // python3, its libraries and modules, one by one
    // Nothing recorded yet in this browser: at most the run's /etc/passwd and /etc/group, read
    // together on the host, went as one batch.
    expect(contents.batch).toBeLessThanOrEqual(1)

    contents.reset()
    await page.locator('boxplay-app #run').click()
    await finished(2)
    expect(await terminalText(page)).toMatch(/^42$[\s\S]*\[exited with code 0\]/m)
    expect(contents.single + contents.batch, contents.urls.join('\n')).toBe(0)
    expect(errors).toEqual([])
    await page.close()

    // A new page: the tree and contents are gone with the old one, the record is in localStorage.
    const { page: next, errors: nextErrors } = await openPage(browser, `${serve.origin}/`)
    const nextContents = countContents(next)
    const nextFinished = finishedRuns(next)
    await next.goto(deepLink(serve.origin, { image: 'debian', runtime: 'v86', cmd: CMD }))
    await nextFinished(1)
    expect(await terminalText(next)).toMatch(/^42$[\s\S]*\[exited with code 0\]/m)
    expect(nextContents.batch).toBe(1)
    expect(nextContents.single, nextContents.urls.join('\n')).toBe(0)
    expect(nextErrors).toEqual([])
    await next.close()
  }, 600_000)
})
