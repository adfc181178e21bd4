// Containers kept in the browser when the page comes from `boxplay serve` (images from the
// server's store, with layer indexes): a v86 container made with &name= comes back with
// ?container= in a new page, and its image was copied into the browser (it is small), so
// the container does not depend on the server's store for its image.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPage, type Browser } from '../browser/harness.js'
import { closePlayground, deepLink, openPlayground, waitForTerminal, type Serve } from './playground.js'

let serve: Serve
let browser: Browser

beforeAll(async () => ({ serve, browser } = await openPlayground()))
afterAll(() => closePlayground({ serve, browser }))

describe('containers kept in the browser, served', () => {
  it('keeps a v86 container made from a server image, and a copy of the image', async () => {
    const { page, errors } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'v86', name: 'srv', cmd: "sh -c 'echo served > /root/s.txt'" }))
    await waitForTerminal(page, /\[exited with code 0\]/, 90_000)
    await page.locator('boxplay-app #tab-containers').click()
    await expect.poll(() => page.locator('boxplay-app bp-containers tr[data-name=srv]').textContent(), { timeout: 15_000 }).toMatch(/exited \(0\)[\s\S]*entries/)
    await expect.poll(() => page.locator('boxplay-app bp-containers #images tr[data-name="busybox:latest"]').textContent(), { timeout: 20_000 }).toMatch(/copied/)
    await page.close()
    const again = (await openPage(browser, deepLink(serve.origin, { container: 'srv', cmd: 'cat /root/s.txt' }))).page
    expect(await waitForTerminal(again, /\[exited with code 0\]/, 90_000)).toMatch(/^served$/m)
    await again.close()
    expect(errors).toEqual([])
  }, 240_000)
})
