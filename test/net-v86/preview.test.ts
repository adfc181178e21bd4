// The Ports panel and its preview in headless Chromium against `boxplay serve`: a v86 guest
// runs busybox httpd, the panel lists port 80 (read from the guest's /proc/net/tcp), and the
// preview frame shows the page the guest serves, routed by the service worker to the page,
// and by the page over its LAN into the guest.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Browser, launchChromium, openPage, screenshot } from '../browser/harness.js'
import { assertBuilt, deepLink, startServe, type Serve } from '../e2e/playground.js'

let serve: Serve
let browser: Browser

beforeAll(async () => {
  assertBuilt()
  serve = await startServe()
  browser = await launchChromium()
  const { page } = await openPage(browser, serve.url.href) // the token becomes a cookie
  await page.close()
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await serve?.close()
})

const SERVE_CMD = `sh -c "mkdir -p /www && echo '<h1>served by the v86 guest</h1>' > /www/index.html && exec httpd -f -p 80 -h /www"`

describe('Ports panel and preview (v86 in Chromium)', () => {
  it('lists the port the guest listens on and previews the page it serves', async () => {
    const { page, errors } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'v86', cmd: SERVE_CMD }))
    const panel = page.locator('boxplay-app bp-ports-panel')
    const rows = async () => (await panel.locator('li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim())
    await expect.poll(rows, { timeout: 60_000 }).toEqual(['80/tcpon 0.0.0.0 Preview'])
    await page.click('#tab-ports') // after the run started: starting one shows the terminal
    await panel.locator('button', { hasText: 'Preview' }).click()
    const frame = page.frameLocator('boxplay-app bp-ports-panel iframe')
    await expect.poll(() => frame.locator('h1').textContent({ timeout: 30_000 }), { timeout: 30_000 }).toBe('served by the v86 guest')
    const ttfb = await frame.locator('h1').evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
      return nav.responseStart - nav.requestStart
    })
    expect(ttfb).toBeGreaterThan(0)
    console.info(`preview first byte: ${ttfb.toFixed(1)} ms`)
    await screenshot(page, 'net-v86-preview')
    // A path the guest does not have is the guest's own 404 page, not the site's.
    await page.evaluate(() => {
      const frame = document.querySelector('boxplay-app')!.shadowRoot!.querySelector('bp-ports-tab')!.shadowRoot!.querySelector('bp-ports-panel')!.shadowRoot!.querySelector('iframe')!
      frame.src = new URL('missing.html', frame.src).href
    })
    await expect.poll(() => frame.locator('body').textContent({ timeout: 30_000 }), { timeout: 30_000 }).toMatch(/404 Not Found/)
    expect(errors.filter((e) => !/404/.test(e))).toEqual([])
    await page.close()
  }, 120_000)
})
