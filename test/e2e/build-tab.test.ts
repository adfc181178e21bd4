// The Build tab end to end, in headless Chromium against `boxplay serve`: a Dockerfile and a
// context file (added through the file input and by drag and drop) built in the page with RUN
// in the v86 VM and on the server with RUN in a native container give the same digest (the
// builder is deterministic); the log shows the CLI's lines and CACHED on a rebuild; the layers
// are listed with what each changed; the result runs in the VM and natively.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { openPage, screenshot, servePreview, type Browser } from '../browser/harness.js'
import { buildInPanel, closePlayground, openPlayground, playgroundDir, waitForTerminal, type Serve } from './playground.js'

let serve: Serve
let browser: Browser

beforeAll(async () => ({ serve, browser } = await openPlayground()))
afterAll(() => closePlayground({ serve, browser }))

const DOCKERFILE = ['FROM busybox', 'COPY hello.txt dropped.txt /srv/', 'RUN echo built-by-RUN >> /srv/hello.txt && rm /etc/group', 'CMD ["cat", "/srv/hello.txt", "/srv/dropped.txt"]', ''].join('\n')

async function pickRuntime(page: Page, id: 'v86' | 'native'): Promise<void> {
  const input = page.locator(`boxplay-app bp-runtime-switch label[data-runtime=${id}] input`)
  await expect.poll(() => input.isEnabled(), { timeout: 30_000 }).toBe(true)
  await page.locator(`boxplay-app bp-runtime-switch label[data-runtime=${id}]`).click()
}

/** Presses Build and waits for the digest (or fails with the build's error and log). */
const build = (page: Page) => buildInPanel(page)

describe('the Build tab', () => {
  it('builds in the page (v86 RUN) and on the server (native RUN) to the same digest, and runs the result in both', async () => {
    const { page, errors } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
    await page.locator('boxplay-app #tab-build').click()
    const panel = page.locator('boxplay-app bp-build-panel')
    await panel.locator('#dockerfile').fill(DOCKERFILE)
    // the starter's hello.txt, replaced through the file input, and a file dropped in
    await panel.locator('#context-files').setInputFiles({ name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the test\n') })
    const dropped = await page.evaluateHandle(() => {
      const dt = new DataTransfer()
      dt.items.add(new File(['dropped in the page\n'], 'dropped.txt', { type: 'text/plain' }))
      return dt
    })
    await panel.locator('.drop').dispatchEvent('drop', { dataTransfer: dropped })
    await expect.poll(() => panel.locator('ul[aria-label="Context files"] li').evaluateAll((els) => els.map((e) => e.getAttribute('data-file')))).toEqual(['dropped.txt', 'hello.txt'])
    expect(await panel.locator('li[data-file="hello.txt"]').innerText()).toMatch(/\(20 B\)/)

    await pickRuntime(page, 'v86')
    expect(await panel.locator('#build-where').innerText()).toMatch(/Builds in this page/)
    const inPage = await build(page)
    expect(inPage.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(inPage.log).toMatch(/^#1 \[stage-0 1\/1\] FROM busybox$/m)
    expect(inPage.log).toMatch(/^#3 \[stage-0 1\/1\] RUN \/bin\/sh -c echo built-by-RUN/m)
    expect(inPage.log).toMatch(/^#3 DONE \d+\.\ds$/m)
    expect(inPage.log).toContain(`writing image ${inPage.digest} done (0 of 4 steps cached`)
    expect(await page.locator('boxplay-app bp-progress').count()).toBe(0)
    await screenshot(page, 'e2e-build-page')

    // layers: the base's, then COPY's and RUN's, each with what it changed
    const layers = panel.locator('bp-build-layers tr[data-layer]:not([data-layer=none])')
    const count = await layers.count()
    expect(count).toBeGreaterThanOrEqual(3)
    await layers.nth(count - 1).locator('button').click()
    const changes = panel.locator('bp-build-layers bp-file-panel section[aria-label=Changes]')
    await expect.poll(() => changes.innerText(), { timeout: 20_000 }).toMatch(/\/srv\/hello\.txt/)
    expect(await changes.innerText()).toMatch(/− \/etc\/group/)
    await layers.nth(count - 2).locator('button').click()
    await expect.poll(() => changes.innerText(), { timeout: 20_000 }).toMatch(/\+ \/srv\/dropped\.txt/)
    await screenshot(page, 'e2e-build-layers')

    // a rebuild in the page takes every step from the cache
    const again = await build(page)
    expect(again.digest).toBe(inPage.digest)
    expect(again.log).toMatch(/^#3 CACHED$/m)

    // on the server, natively: the same digest
    await pickRuntime(page, 'native')
    expect(await panel.locator('#build-where').innerText()).toMatch(/on the boxplay server/)
    const onServer = await build(page)
    expect(onServer.log).toMatch(/^#3 \[stage-0 1\/1\] RUN /m)
    expect(onServer.log).toMatch(/naming to my-image:latest done/)
    expect(onServer.digest).toBe(inPage.digest)
    console.log(`busybox build: in the page ${/writing image .*$/m.exec(inPage.log)?.[0]}; cached in the page ${/writing image .*$/m.exec(again.log)?.[0]}; on the server ${/writing image .*$/m.exec(onServer.log)?.[0]}`)

    // run it: natively, then in the VM
    await panel.locator('#build-use').click()
    await expect.poll(() => page.locator('boxplay-app bp-image-picker select').inputValue()).toBe('my-image:latest')
    await page.locator('boxplay-app #tab-terminal').click()
    await page.locator('boxplay-app #run').click()
    expect(await waitForTerminal(page, /^hello from the test\nbuilt-by-RUN\ndropped in the page$[\s\S]*\[exited with code 0\]/m, 60_000)).toBeTruthy()
    await pickRuntime(page, 'v86')
    await page.locator('boxplay-app #run').click()
    await expect.poll(() => page.locator('boxplay-app .exit').innerText(), { timeout: 90_000 }).toMatch(/Emulated VM.*exited with code 0/)
    expect(await waitForTerminal(page, /^hello from the test\nbuilt-by-RUN\ndropped in the page$/m)).toBeTruthy()
    expect(errors).toEqual([])
    await page.close()
  })

  it('takes a whole folder as the context: its Dockerfile into the editor, its .dockerignore applied', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boxplay-e2e-ctx-'))
    try {
      await mkdir(join(dir, 'site', 'css'), { recursive: true })
      await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY site/ /www/\nCMD ["find", "/www", "-type", "f"]\n')
      await writeFile(join(dir, 'site', 'index.html'), '<h1>hi</h1>\n')
      await writeFile(join(dir, 'site', 'css', 'main.css'), 'h1 { color: red }\n')
      await writeFile(join(dir, 'site', 'draft.html'), 'not yet\n')
      await writeFile(join(dir, '.dockerignore'), 'site/draft.html\n')
      const { page } = await openPage(browser, `${serve.origin}/?build=busybox`)
      const panel = page.locator('boxplay-app bp-build-panel')
      await panel.locator('#context-folder').setInputFiles(dir)
      await expect.poll(() => panel.locator('#dockerfile').inputValue()).toMatch(/^FROM busybox\nCOPY site\/ \/www\//)
      expect(await panel.locator('li[data-file]').evaluateAll((els) => els.map((e) => e.getAttribute('data-file')))).toEqual(['.dockerignore', 'hello.txt', 'site/css/main.css', 'site/draft.html', 'site/index.html'])
      await pickRuntime(page, 'v86')
      const built = await build(page)
      expect(built.digest).toMatch(/^sha256:/)
      await panel.locator('#build-use').click()
      await page.locator('boxplay-app #tab-terminal').click()
      await page.locator('boxplay-app #run').click()
      const text = await waitForTerminal(page, /\[exited with code 0\]/, 90_000)
      expect(text).toMatch(/^\/www\/index\.html$/m)
      expect(text).toMatch(/^\/www\/css\/main\.css$/m)
      expect(text).not.toContain('draft.html')
      await page.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('builds with no server at all, from the static site, to the digest the server gives', async () => {
    const served = await servePreview(playgroundDir)
    try {
      const { page, errors } = await openPage(browser, `${served.url}/?build=busybox`)
      const panel = page.locator('boxplay-app bp-build-panel')
      await expect.poll(() => panel.locator('#dockerfile').inputValue(), { timeout: 30_000 }).toMatch(/^FROM busybox\n/)
      await pickRuntime(page, 'v86')
      const offline = await build(page)
      expect(offline.log).toMatch(/^#3 \[stage-0 1\/1\] RUN /m)
      expect(await page.locator('boxplay-app bp-runtime-switch label[data-runtime=native] .reason').textContent()).toMatch(/static playground/)
      await page.close()
      // the same starter, built on the server
      const online = await openPage(browser, `${serve.origin}/?build=busybox`)
      await pickRuntime(online.page, 'native')
      expect((await build(online.page)).digest).toBe(offline.digest)
      await online.page.close()
      expect(errors.filter((e) => !/404/.test(e))).toEqual([])
    } finally {
      await served.close()
    }
  })

  it('names the line of a bad Dockerfile and refuses the WASI runtime for RUN steps', async () => {
    const { page } = await openPage(browser, `${serve.origin}/`)
    await page.locator('boxplay-app bp-image-picker select:not([disabled])').waitFor()
    await page.locator('boxplay-app #tab-build').click()
    const panel = page.locator('boxplay-app bp-build-panel')
    // starters for the bundled images fill in the Dockerfile and its context
    await expect.poll(() => panel.locator('#starter').inputValue()).toBe('busybox')
    await panel.locator('#starter').selectOption('debian')
    expect(await panel.locator('#dockerfile').inputValue()).toMatch(/^FROM debian\n/)
    expect(await panel.locator('li[data-file]').evaluateAll((els) => els.map((e) => e.getAttribute('data-file')))).toEqual(['app.py'])
    await pickRuntime(page, 'v86')
    await panel.locator('#dockerfile').fill('FROM busybox\nRUN true\nCOPPY a /b\n')
    await panel.locator('#build').click()
    await expect.poll(() => panel.locator('#build-failure').innerText()).toMatch(/^Dockerfile:3: COPPY: unknown instruction/)
    await page.locator('boxplay-app bp-image-picker select').selectOption('python:latest')
    await page.locator('boxplay-app bp-runtime-switch label[data-runtime=wasi]').click()
    await expect.poll(() => panel.locator('#build-where').innerText()).toMatch(/RUN steps need a Linux shell/)
    expect(await panel.locator('#build').isDisabled()).toBe(true)
    await page.close()
  })
})
