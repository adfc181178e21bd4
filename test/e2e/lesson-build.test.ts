// The images-and-layers lesson's build steps, followed as a learner would in headless Chromium
// against `boxplay serve`: its link opens the Build tab on the lesson's Dockerfile; a build, a
// rebuild (all CACHED, the same digest), then line 3 changed: lines 1–2 CACHED, 3 and 4 run,
// line 3's layer new and line 4's the same layer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { openPage, screenshot, type Browser } from '../browser/harness.js'
import { buildInPanel, closePlayground, openPlayground, type Serve } from './playground.js'

let serve: Serve
let browser: Browser

beforeAll(async () => ({ serve, browser } = await openPlayground()))
afterAll(() => closePlayground({ serve, browser }))

const build = (page: Page) => buildInPanel(page)

/** "same layer" / "new layer" for the layer row whose step contains `text`. */
function since(page: Page, text: string): Promise<string> {
  return page.locator('boxplay-app bp-build-layers tr[data-layer]', { hasText: text }).locator('td.since').innerText()
}

describe('the images-and-layers lesson: build, change one line, build again', () => {
  it('shows which steps are cached and which layers change', async () => {
    const { page, errors } = await openPage(browser, `${serve.origin}/lessons/images-and-layers.html`)
    const missing: string[] = []
    page.on('response', (r) => r.status() === 404 && missing.push(r.url()))
    await page.locator('#open-build').click()
    await page.waitForURL(/build=layers/)
    await expect.poll(() => page.locator('boxplay-app #tab-build').getAttribute('aria-selected'), { timeout: 30_000 }).toBe('true')
    const panel = page.locator('boxplay-app bp-build-panel')
    await expect.poll(() => panel.locator('#dockerfile').inputValue()).toMatch(/^FROM busybox\nCOPY message\.txt/)
    expect(await panel.locator('#build-where').innerText()).toMatch(/Builds in this page/)

    const first = await build(page)
    expect(first.log).toMatch(/^#3 \[stage-0 1\/1\] RUN \/bin\/sh -c echo "made by line 3"/m)
    await page.locator('boxplay-app bp-build-layers tr[data-layer]', { hasText: 'rm /bin/vi' }).locator('button').click()
    const changes = panel.locator('bp-build-layers bp-file-panel section[aria-label=Changes]')
    await expect.poll(() => changes.innerText(), { timeout: 20_000 }).toMatch(/− \/bin\/vi/)

    const again = await build(page)
    expect(again.digest).toBe(first.digest)
    for (const n of [2, 3, 4]) expect(again.log).toMatch(new RegExp(`^#${n} CACHED$`, 'm'))

    const dockerfile = await panel.locator('#dockerfile').inputValue()
    await panel.locator('#dockerfile').fill(dockerfile.replace('made by line 3', 'changed'))
    const changed = await build(page)
    expect(changed.digest).not.toBe(first.digest)
    expect(changed.log).toMatch(/^#2 CACHED$/m)
    expect(changed.log).not.toMatch(/^#3 CACHED$/m)
    expect(changed.log).toMatch(/^#3 DONE /m)
    expect(changed.log).toMatch(/^#4 DONE /m)
    expect(await since(page, 'COPY message.txt')).toBe('same layer')
    expect(await since(page, 'echo "changed"')).toBe('new layer')
    expect(await since(page, 'rm /bin/vi')).toBe('same layer')
    await screenshot(page, 'e2e-lesson-build')
    expect(missing).toEqual([])
    // The lesson pages declare no icon: Chromium's own /favicon.ico request is the one 404.
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([])
    await page.close()
  })
})
