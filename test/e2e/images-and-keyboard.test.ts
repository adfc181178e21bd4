// The playground's other ways in: a `docker save` tarball dropped into the page (opened by
// the browser alone), an image pulled into the server's store from a registry, the whole
// flow by keyboard, and the layout on a tablet. Headless Chromium against `boxplay serve`.

import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, openPage, root, screenshot, type Browser } from '../browser/harness.js'
import { startRegistry } from '../helpers/registry.js'
import { assertBuilt, deepLink, startServe, waitForTerminal, type Serve } from './playground.js'

let serve: Serve
let browser: Browser
let scratch: string
const layout = join(root, 'dist', 'images')

beforeAll(async () => {
  assertBuilt()
  scratch = await mkdtemp(join(tmpdir(), 'boxplay-e2e-images-'))
  serve = await startServe()
  browser = await launchChromium()
  const { page } = await openPage(browser, serve.url.href)
  await page.close()
})
afterAll(async () => {
  await browser?.close()
  await serve?.close()
  await rm(scratch, { recursive: true, force: true })
})

describe('images from elsewhere', () => {
  it('opens a dropped docker-save tarball in the browser and runs it in v86', async () => {
    const archive = join(scratch, 'saved.tar')
    const save = spawnSync('skopeo', ['copy', `oci:${layout}:busybox:latest`, `docker-archive:${archive}:dropped/box:7`], { encoding: 'utf8' })
    expect(save.status, save.stderr).toBe(0)
    const { page, errors } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
    await page.locator('boxplay-app bp-image-picker input[type=file]').setInputFiles(archive)
    const select = page.locator('boxplay-app bp-image-picker select')
    await expect.poll(() => select.inputValue(), { timeout: 20_000 }).toBe('dropped/box:7')
    expect(await page.locator('boxplay-app bp-image-picker optgroup[label="Dropped in"] option').allTextContents()).toEqual(['dropped/box:7'])
    // the server does not have it: the native runtime says so
    const native = page.locator('boxplay-app bp-runtime-switch label[data-runtime=native]')
    expect(await native.locator('.reason').textContent()).toMatch(/opened in your browser/)
    await page.locator('boxplay-app bp-runtime-switch label[data-runtime=v86]').click()
    await page.locator('boxplay-app #cmd').fill("sh -c 'echo from-the-tarball'")
    await page.locator('boxplay-app #run').click()
    expect(await waitForTerminal(page, /^from-the-tarball$[\s\S]*\[exited with code 0\]/m, 60_000)).toBeTruthy()
    await screenshot(page, 'e2e-dropped-tarball')
    expect(errors).toEqual([])
    await page.close()
  })

  it('says in words when a dropped file is not an image archive', async () => {
    const { page } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
    await page.locator('boxplay-app bp-image-picker input[type=file]').setInputFiles({ name: 'notes.tar', mimeType: 'application/x-tar', buffer: Buffer.from('just some text, not a tar') })
    await expect.poll(() => page.locator('boxplay-app [role=alert]').textContent()).toMatch(/Could not open notes\.tar: /)
    await page.close()
  })

  it('pulls an image from a registry into the server, with progress, and runs it natively', async () => {
    const registry = await startRegistry()
    try {
      const push = spawnSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:busybox:latest`, `docker://${registry.host}/pulled/box:3`], { encoding: 'utf8' })
      expect(push.status, push.stderr).toBe(0)
      const ref = `${registry.host}/pulled/box:3`
      const { page, errors } = await openPage(browser, `${serve.origin}/`)
      await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
      await page.locator('boxplay-app bp-image-picker #ref').fill(ref)
      await page.locator('boxplay-app bp-image-picker #ref').press('Enter')
      const select = page.locator('boxplay-app bp-image-picker select')
      await expect.poll(() => select.inputValue(), { timeout: 30_000 }).toBe(ref)
      await page.locator('boxplay-app bp-runtime-switch label[data-runtime=native]').click()
      await page.locator('boxplay-app #cmd').fill('echo pulled-and-run')
      await page.locator('boxplay-app #run').click()
      expect(await waitForTerminal(page, /^pulled-and-run$[\s\S]*\[exited with code 0\]/m)).toBeTruthy()
      expect(errors).toEqual([])
      await page.close()
    } finally {
      await registry.stop()
    }
  })
})

describe('keyboard and tablet', () => {
  it('runs a command by keyboard alone: runtime by arrow keys, command and Enter', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'native' }))
    const nativeRadio = page.locator('boxplay-app bp-runtime-switch label[data-runtime=native] input')
    await expect.poll(() => nativeRadio.isChecked()).toBe(true)
    // v86 reads "checking…" (disabled) until its guest assets are found; arrows skip it till then.
    const v86Radio = page.locator('boxplay-app bp-runtime-switch label[data-runtime=v86] input')
    await expect.poll(() => v86Radio.isEnabled(), { timeout: 30_000 }).toBe(true)
    await nativeRadio.focus()
    await page.keyboard.press('ArrowUp') // wasi cannot take busybox: the radio group skips it
    await expect.poll(() => new URL(page.url()).searchParams.get('runtime')).toBe('v86')
    // The switch re-checks each option against the image after a change; arrow once native is back.
    await expect.poll(() => nativeRadio.isEnabled(), { timeout: 30_000 }).toBe(true)
    await page.keyboard.press('ArrowDown')
    await expect.poll(() => new URL(page.url()).searchParams.get('runtime')).toBe('native')
    await page.locator('boxplay-app #cmd').focus()
    await page.keyboard.type('echo typed-by-keyboard')
    await page.keyboard.press('Enter')
    expect(await waitForTerminal(page, /^typed-by-keyboard$[\s\S]*\[exited with code 0\]/m)).toBeTruthy()
    // the views are tabs: arrows move between them
    await page.locator('boxplay-app #tab-terminal').focus()
    await page.keyboard.press('ArrowRight')
    await expect.poll(() => page.locator('boxplay-app #tab-compare').getAttribute('aria-selected')).toBe('true')
    expect(await page.locator('boxplay-app #panel-compare').isVisible()).toBe(true)
    await page.close()
  })

  it('stacks the controls above the terminal on a tablet', async () => {
    const page = await browser.context.newPage()
    await page.setViewportSize({ width: 820, height: 1180 })
    await page.goto(deepLink(serve.origin, { image: 'busybox', runtime: 'native', cmd: 'uname -a' }))
    await waitForTerminal(page, /\[exited with code 0\]/)
    const aside = (await page.locator('boxplay-app aside').boundingBox())!
    const main = (await page.locator('boxplay-app main').boundingBox())!
    expect(aside.y + aside.height).toBeLessThanOrEqual(main.y)
    expect(main.width).toBeGreaterThan(700)
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth)
    expect(scrollWidth).toBeLessThanOrEqual(820)
    await screenshot(page, 'e2e-tablet')
    await page.close()
  })
})
