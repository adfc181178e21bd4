// The Build tab's debian starter, built as a learner would pick it: in the page (RUN runs
// python3 in the v86 VM) and on the server (natively), the same digest, and the result runs.
// Slow by nature (python3 in the emulated VM, the ~29 MB debian layer read in the page).
// The result runs natively (the server's x86_64 kernel) and in the VM (i686).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { openPage, screenshot, type Browser } from '../browser/harness.js'
import { buildInPanel, closePlayground, openPlayground, waitForTerminal, type Serve } from './playground.js'

let serve: Serve
let browser: Browser

beforeAll(async () => ({ serve, browser } = await openPlayground()))
afterAll(() => closePlayground({ serve, browser }))

const build = (page: Page) => buildInPanel(page)

async function pickRuntime(page: Page, id: 'v86' | 'native'): Promise<void> {
  const input = page.locator(`boxplay-app bp-runtime-switch label[data-runtime=${id}] input`)
  await expect.poll(() => input.isEnabled(), { timeout: 30_000 }).toBe(true)
  await page.locator(`boxplay-app bp-runtime-switch label[data-runtime=${id}]`).click()
}

describe('the debian starter', () => {
  it('builds in the page and on the server to one digest, and the result runs python3 natively and in the VM', async () => {
    const { page, errors } = await openPage(browser, `${serve.origin}/?build=debian`)
    const panel = page.locator('boxplay-app bp-build-panel')
    await expect.poll(() => panel.locator('#dockerfile').inputValue(), { timeout: 30_000 }).toMatch(/^FROM debian\n/)
    await pickRuntime(page, 'v86')
    const inPage = await build(page)
    expect(inPage.log).toMatch(/^#4 .*app\.pyc/m)
    await pickRuntime(page, 'native')
    const onServer = await build(page)
    console.log(`debian starter: in the page ${/writing image .*$/m.exec(inPage.log)?.[0]}; on the server ${/writing image .*$/m.exec(onServer.log)?.[0]}`)
    expect(onServer.digest).toBe(inPage.digest)
    await panel.locator('#build-use').click()
    await page.locator('boxplay-app #tab-terminal').click()
    await page.locator('boxplay-app #run').click()
    // natively the server's kernel answers, in the VM its own i686 one
    expect(await waitForTerminal(page, /^hello from x86_64$[\s\S]*\[exited with code 0\]/m, 60_000)).toBeTruthy()
    await pickRuntime(page, 'v86')
    await page.locator('boxplay-app #run').click()
    await expect.poll(() => page.locator('boxplay-app .exit').innerText(), { timeout: 120_000 }).toMatch(/Emulated VM.*exited with code 0/)
    expect(await waitForTerminal(page, /^hello from i686$/m)).toBeTruthy()
    await screenshot(page, 'e2e-build-debian')
    expect(errors).toEqual([])
    await page.close()
  }, 600_000)
})
