// The playground as a newcomer first sees it, in headless Chromium against `boxplay serve`
// and from the static build: it opens on the bundled debian image with a starting point
// (what to type, what Run does), one-click samples that run and show their output, and
// links to the lessons that lead there.

import { release } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPage, screenshot, servePreview, type Browser } from '../browser/harness.js'
import { closePlayground, openPlayground, playgroundDir, waitForTerminal, type Serve } from './playground.js'

let serve: Serve
let browser: Browser

beforeAll(async () => ({ serve, browser } = await openPlayground()))
afterAll(() => closePlayground({ serve, browser }))

describe('the first screen', () => {
  it('opens on debian with hints and samples in place of an empty terminal', async () => {
    const { page, errors } = await openPage(browser, `${serve.origin}/`)
    const steps = page.locator('boxplay-app bp-first-steps')
    await expect.poll(() => steps.isVisible()).toBe(true)
    const text = await steps.locator('ol.how').innerText()
    expect(text).toMatch(/Type a command/)
    expect(text).toMatch(/Press Run/)
    expect(text).toMatch(/Emulated VM.*boots a Linux kernel/)
    await expect.poll(() => page.locator('boxplay-app bp-image-picker select').inputValue(), { timeout: 20_000 }).toBe('debian:latest')
    expect(await page.locator('boxplay-app bp-terminal').isVisible()).toBe(false)
    expect(await steps.locator('li.sample').count()).toBeGreaterThanOrEqual(4)
    await screenshot(page, 'e2e-first-screen')
    expect(errors).toEqual([])
    await page.close()
  })

  it('runs a sample with one click and shows its output in the terminal', async () => {
    const { page, errors } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
    await page.locator('boxplay-app bp-runtime-switch label[data-runtime=native]').click()
    await page.locator('boxplay-app bp-first-steps li[data-sample=kernel] button[data-action=run]').click()
    const text = await waitForTerminal(page, /\[exited with code 0\]/, 60_000)
    expect(text).toMatch(/^Linux /m)
    expect(text).toContain(release())
    expect(await page.locator('boxplay-app #cmd').inputValue()).toBe('uname -a')
    expect(new URL(page.url()).searchParams.get('cmd')).toBe('uname -a')
    expect(await page.locator('boxplay-app bp-first-steps').count()).toBe(0)
    await screenshot(page, 'e2e-first-sample')
    expect(errors).toEqual([])
    await page.close()
  })

  it('runs python3 in debian in the VM from a sample', async () => {
    const { page } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
    await page.locator('boxplay-app bp-runtime-switch label[data-runtime=v86]').click()
    await page.locator('boxplay-app bp-first-steps li[data-sample=python] button[data-action=run]').click()
    expect(await waitForTerminal(page, /^i686 6\.1\.\d+[\s\S]*\[exited with code 0\]/m, 90_000)).toBeTruthy()
    await page.close()
  })

  it('compares a sample across the runtimes that can take its image', async () => {
    const { page } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
    await page.locator('boxplay-app bp-first-steps li[data-sample=kernel] button[data-action=compare]').click()
    await expect.poll(() => page.locator('boxplay-app #tab-compare').getAttribute('aria-selected')).toBe('true')
    const columns = page.locator('boxplay-app bp-compare section[data-runtime]')
    await expect
      .poll(() => columns.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-runtime')}:${e.getAttribute('data-state')}`)), { timeout: 90_000 })
      .toEqual(['v86:exited', 'native:exited'])
    const outputs = await page.locator('boxplay-app bp-compare section[data-runtime] pre').allInnerTexts()
    expect(outputs[0]).toMatch(/6\.1\.\d+/)
    expect(outputs[1]).toContain(release())
    await page.close()
  })

  it('runs the WASI sample in the python image', async () => {
    const { page } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
    await page.locator('boxplay-app bp-first-steps li[data-sample=wasi] button[data-action=run]').click()
    expect(await waitForTerminal(page, /^wasi /m, 60_000)).toBeTruthy()
    expect(await page.locator('boxplay-app bp-image-picker select').inputValue()).toBe('python:latest')
    expect(new URL(page.url()).searchParams.get('runtime')).toBe('wasi')
    await page.close()
  })

  it('leads to the lessons', async () => {
    const { page } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-first-steps #lessons-link').click()
    await page.waitForURL(/\/lessons\/$/)
    expect(await page.locator('h1').textContent()).toMatch(/What is a container, really\?/)
    await page.goto(`${serve.origin}/`)
    await page.locator('boxplay-app bp-first-steps a[href="lessons/images-and-layers.html"]').click()
    await page.waitForURL(/\/lessons\/images-and-layers\.html$/)
    expect(await page.locator('boxplay-lesson').count()).toBeGreaterThan(0)
    await page.goto(`${serve.origin}/`)
    await page.locator('boxplay-app #nav-lessons').click()
    await page.waitForURL(/\/lessons\/$/)
    await page.close()
  })

  it('gives the static build the same first screen and lessons link', async () => {
    const served = await servePreview(playgroundDir)
    try {
      const { page } = await openPage(browser, `${served.url}/`)
      await expect.poll(() => page.locator('boxplay-app bp-image-picker select').inputValue(), { timeout: 20_000 }).toBe('debian:latest')
      await page.locator('boxplay-app bp-first-steps li[data-sample=kernel] button[data-action=run]').click()
      expect(await waitForTerminal(page, /^Linux .*6\.1\.\d+[\s\S]*\[exited with code 0\]/m, 60_000)).toBeTruthy()
      await page.locator('boxplay-app #nav-lessons').click()
      await page.waitForURL(/\/lessons\/$/)
      expect(await page.locator('h1').textContent()).toMatch(/What is a container, really\?/)
      await page.close()
    } finally {
      await served.close()
    }
  })
})
