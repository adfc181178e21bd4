// First-byte latency of the Ports panel's preview: Chromium against `boxplay serve`, a v86
// guest running busybox httpd, the preview frame loaded again and again. Each load goes
// frame → service worker → the page (postMessage) → the page's LAN host stack → the guest's
// httpd and back; the figure is responseStart - requestStart of the frame's load, as the parent page
// times it (the frame's own document is sandboxed).
//   node dist/test/bench/main.js v86-preview

import { launchChromium, openPage } from '../browser/harness.js'
import { deepLink, startServe } from '../e2e/playground.js'
import type { AnyRow } from './framework.js'

const CMD = `sh -c "mkdir -p /www && head -c 1024 /dev/zero | tr '\\\\0' x > /www/index.html && exec httpd -f -p 80 -h /www"`

export async function benchV86Preview(loads = 15): Promise<AnyRow[]> {
  const serve = await startServe()
  const browser = await launchChromium()
  try {
    await (await openPage(browser, serve.url.href)).page.close()
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'v86', cmd: CMD }))
    const panel = page.locator('boxplay-app bp-ports-panel')
    await panel.locator('button', { hasText: 'Preview' }).waitFor({ state: 'attached', timeout: 60_000 })
    await page.click('#tab-ports')
    await panel.locator('button', { hasText: 'Preview' }).click()
    const samples: number[] = []
    for (let i = 0; i < loads; i++) {
      const ttfb = await page.evaluate(async (n) => {
        const frame = document.querySelector('boxplay-app')!.shadowRoot!.querySelector('bp-ports-tab')!.shadowRoot!.querySelector('bp-ports-panel')!.shadowRoot!.querySelector('iframe')!
        const url = new URL(frame.src)
        url.search = `?n=${n}`
        await new Promise<void>((resolve) => {
          frame.addEventListener('load', () => resolve(), { once: true })
          frame.src = url.href
        })
        // The frame's document is sandboxed (opaque origin); its load is a same-origin resource
        // entry of the parent's.
        const entry = performance.getEntriesByName(url.href).at(-1) as PerformanceResourceTiming | undefined
        return entry ? entry.responseStart - entry.requestStart : -1
      }, i)
      if (ttfb > 0) samples.push(Math.round(ttfb * 10) / 10)
    }
    if (samples.length === 0) throw new Error('the preview frame reported no navigation timing')
    const sorted = [...samples].sort((a, b) => a - b)
    return [{ name: 'v86 preview in Chromium: first byte of a 1 KB page (median)', value: sorted[Math.floor(sorted.length / 2)]!, unit: 'ms', samples }]
  } finally {
    await browser.close()
    await serve.close()
  }
}
