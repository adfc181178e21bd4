// The playground end to end, in headless Chromium against `boxplay serve` on a free port:
// each runtime runs a command from a deep link and the terminal shows its output, runtimes
// that cannot take an image say why, switching runtimes works, the compare view fills in,
// the file panel shows what a run wrote, and the static build runs the browser runtimes.
// Screenshots go to test-results/.

import { spawn } from 'node:child_process'
import { release } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, openPage, screenshot, servePreview, type Browser } from '../browser/harness.js'
import { freePort } from '../helpers/registry.js'
import { assertBuilt, deepLink, playgroundDir, startServe, terminalText, waitForTerminal, type Serve } from './playground.js'

let serve: Serve
let browser: Browser

beforeAll(async () => {
  assertBuilt()
  serve = await startServe()
  browser = await launchChromium()
  // Visiting the printed URL once swaps the token for the cookie, as a user's first visit does.
  const { page } = await openPage(browser, serve.url.href)
  expect(new URL(page.url()).searchParams.has('token')).toBe(false)
  await page.close()
})
afterAll(async () => {
  await browser?.close()
  await serve?.close()
})

describe('deep links against boxplay serve', () => {
  it('runs busybox natively: the container shows the host kernel', async () => {
    const { page, errors } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'native', cmd: 'uname -r' }))
    const text = await waitForTerminal(page, /\[exited with code 0\]/)
    expect(text).toContain(release())
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true)
    await screenshot(page, 'e2e-native-uname')
    expect(errors).toEqual([])
    await page.close()
  })

  it('runs busybox in v86: the VM shows its own kernel', async () => {
    const { page, errors } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'v86', cmd: 'uname -r' }))
    const text = await waitForTerminal(page, /\[exited with code 0\]/, 60_000)
    expect(text).toMatch(/^6\.1\.\d+/m)
    expect(text).not.toContain(release())
    await screenshot(page, 'e2e-v86-uname')
    expect(errors).toEqual([])
    await page.close()
  })

  it('runs python in a WASI worker', async () => {
    const { page, errors } = await openPage(browser, deepLink(serve.origin, { image: 'python', runtime: 'wasi', cmd: "-c 'print(6*7)'" }))
    const text = await waitForTerminal(page, /\[exited with code 0\]/, 60_000)
    expect(text).toMatch(/^42$/m)
    await screenshot(page, 'e2e-wasi-python')
    expect(errors).toEqual([])
    await page.close()
  })

  it('gives an interactive shell a terminal that takes keystrokes', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'native' }))
    await page.waitForTimeout(300)
    await waitForTerminal(page, /#\s*$/m, 15_000)
    await page.locator('boxplay-app bp-terminal').click()
    await page.keyboard.type('echo $((6*7)); exit 3\n')
    const text = await waitForTerminal(page, /\[exited with code 3\]/)
    expect(text).toMatch(/^42$/m)
    await page.close()
  })

  it('gives a VM shell and a WASI python REPL a terminal too', async () => {
    const vm = (await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'v86' }))).page
    await waitForTerminal(vm, /\/ #\s*$/m, 60_000)
    await vm.locator('boxplay-app bp-terminal').click()
    await vm.keyboard.type('echo $((6*7)); exit 3\n')
    expect(await waitForTerminal(vm, /^42$[\s\S]*\[exited with code 3\]/m)).toBeTruthy()
    await vm.close()
    const py = (await openPage(browser, deepLink(serve.origin, { image: 'python', runtime: 'wasi' }))).page
    await waitForTerminal(py, />>>\s*$/m, 60_000)
    await py.locator('boxplay-app bp-terminal').click()
    await py.keyboard.type('print(6*7)\n')
    expect(await waitForTerminal(py, /^>>> print\(6\*7\)\n42$/m)).toBeTruthy()
    await screenshot(py, 'e2e-wasi-repl')
    await py.close()
  })

  it('shows runtimes that cannot take the image as disabled, with the reason', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'busybox' }))
    const wasi = page.locator('boxplay-app bp-runtime-switch label[data-runtime=wasi]')
    await expect.poll(() => wasi.locator('.reason').textContent()).toMatch(/wasi\/wasm.*this one is linux\/386/)
    expect(await wasi.locator('input').isDisabled()).toBe(true)
    expect(await page.locator('boxplay-app bp-runtime-switch label[data-runtime=native] input').isDisabled()).toBe(false)
    await screenshot(page, 'e2e-runtime-reasons')
    await page.close()
  })

  it('switches runtimes: the same command, another kernel', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'native', cmd: 'uname -r' }))
    await waitForTerminal(page, /\[exited with code 0\]/)
    expect(await terminalText(page)).toContain(release())
    await page.locator('boxplay-app bp-runtime-switch label[data-runtime=v86]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('runtime')).toBe('v86')
    await page.locator('boxplay-app #run').click()
    const text = await waitForTerminal(page, /^6\.1\.\d+[\s\S]*\[exited with code 0\]/m, 60_000)
    expect(text).not.toContain(release())
    await page.close()
  })

  it('fills in the compare view: output, where the time went, and each run\'s kernel', async () => {
    const { page, errors } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', compare: 'v86,native', cmd: 'uname -r' }))
    const columns = page.locator('boxplay-app bp-compare section[data-runtime]')
    await expect.poll(() => columns.evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))), { timeout: 90_000 }).toEqual(['exited', 'exited'])
    const table = await page.locator('boxplay-app bp-compare section.table-wrap table').innerText()
    expect(table).toMatch(/Kernel/)
    expect(table).toContain(release())
    expect(table).toMatch(/6\.1\.\d+/)
    expect(await page.locator('boxplay-app bp-compare bp-timing-chart .row').count()).toBe(2)
    await screenshot(page, 'e2e-compare')
    expect(errors).toEqual([])
    await page.close()
  })

  it('compares one image in all three runtimes: three kernels, or none', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'hello', compare: 'v86,wasi,native' }))
    const columns = page.locator('boxplay-app bp-compare section[data-runtime]')
    await expect.poll(() => columns.evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))), { timeout: 120_000 }).toEqual(['exited', 'exited', 'exited'])
    const outputs = await page.locator('boxplay-app bp-compare section[data-runtime] pre').allInnerTexts()
    expect(outputs[0]).toMatch(/kernel: .*6\.1\.\d+/)
    expect(outputs[1]).toMatch(/kernel: .*wasi/)
    expect(outputs[2]).toContain(release())
    expect(await page.locator('boxplay-app bp-compare .lesson').textContent()).toMatch(/kernel of its own \(6\.1\.\d+\).*borrowed the server's kernel.*no kernel at all/)
    await screenshot(page, 'e2e-compare-three')
    await page.close()
  })

  it('compares only the runtimes ticked, chosen in the page', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'hello', runtime: 'wasi' }))
    await waitForTerminal(page, /\[exited with code 0\]/, 60_000)
    await page.locator('boxplay-app #tab-compare').click()
    await page.locator('boxplay-app fieldset.pick input[value=v86]').uncheck()
    await expect.poll(() => new URL(page.url()).searchParams.get('compare')).toBe('wasi,native')
    await page.locator('boxplay-app #run').click()
    const columns = page.locator('boxplay-app bp-compare section[data-runtime]')
    await expect.poll(() => columns.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-runtime')}:${e.getAttribute('data-state')}`)), { timeout: 60_000 }).toEqual(['wasi:exited', 'native:exited'])
    await page.close()
  })

  it('shows in the file panel what a WASI run wrote', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'hello', runtime: 'wasi', cmd: '--write /tmp/from-wasi.txt hello-files' }))
    await waitForTerminal(page, /\[exited with code 0\]/, 60_000)
    await page.locator('boxplay-app #tab-files').click()
    const changes = page.locator('boxplay-app bp-file-panel section[aria-label=Changes]')
    await expect.poll(() => changes.innerText(), { timeout: 15_000 }).toMatch(/\+ \/tmp\/from-wasi\.txt/)
    await changes.getByText('/tmp/from-wasi.txt').click()
    await expect.poll(() => page.locator('boxplay-app bp-file-panel pre').innerText()).toContain('hello-files')
    await page.close()
  })

  it('shows in the file panel what a v86 run wrote, compared with the image', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'v86', cmd: "sh -c 'echo written-by-the-guest > /root/note.txt'" }))
    await waitForTerminal(page, /\[exited with code 0\]/, 60_000)
    await page.locator('boxplay-app #tab-files').click()
    const changes = page.locator('boxplay-app bp-file-panel section[aria-label=Changes]')
    await expect.poll(() => changes.innerText(), { timeout: 15_000 }).toMatch(/\+ \/root\/note\.txt/)
    await changes.getByText('/root/note.txt').click()
    await expect.poll(() => page.locator('boxplay-app bp-file-panel pre').innerText()).toContain('written-by-the-guest')
    await screenshot(page, 'e2e-files')
    await page.close()
  })

  it('shows in the file panel what a native run wrote and deleted, after the container is gone', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'busybox', runtime: 'native', cmd: "sh -c 'echo written-in-a-container > /root/native.txt && rm /etc/group'" }))
    await waitForTerminal(page, /\[exited with code 0\]/, 60_000)
    await page.locator('boxplay-app #tab-files').click()
    const changes = page.locator('boxplay-app bp-file-panel section[aria-label=Changes]')
    await expect.poll(() => changes.innerText(), { timeout: 15_000 }).toMatch(/\+ \/root\/native\.txt/)
    expect(await changes.innerText()).toMatch(/− \/etc\/group/)
    await changes.getByText('/root/native.txt').click()
    await expect.poll(() => page.locator('boxplay-app bp-file-panel pre').innerText()).toContain('written-in-a-container')
    await screenshot(page, 'e2e-files-native')
    await page.close()
  })

  it('says in words what is wrong with a bad deep link', async () => {
    const { page } = await openPage(browser, deepLink(serve.origin, { image: 'no-such-image', runtime: 'native' }))
    await expect.poll(() => page.locator('boxplay-app [role=alert]').textContent()).toMatch(/there is no image "no-such-image" here/)
    await page.close()
  })
})

describe('without the token', () => {
  it('still loads, and says why the native runtime is unavailable', async () => {
    const fresh = await launchChromium()
    try {
      const { page } = await openPage(fresh, deepLink(serve.origin, { image: 'busybox' }))
      const native = page.locator('boxplay-app bp-runtime-switch label[data-runtime=native]')
      await expect.poll(() => native.locator('.reason').textContent()).toMatch(/access token/)
      expect(await native.locator('input').isDisabled()).toBe(true)
    } finally {
      await fresh.close()
    }
  })
})

describe('the static build', () => {
  it('runs the browser runtimes from a static host, with native offered as unavailable', async () => {
    const served = await servePreview(playgroundDir)
    try {
      const { page, errors } = await openPage(browser, deepLink(served.url, { image: 'busybox', runtime: 'v86', cmd: "sh -c 'echo static $((40+2))'" }))
      const text = await waitForTerminal(page, /\[exited with code 0\]/, 60_000)
      expect(text).toMatch(/^static 42$/m)
      // and the WASI runtime, switched to from the same page
      await page.locator('boxplay-app bp-image-picker select').selectOption('python:latest')
      await page.locator('boxplay-app bp-runtime-switch label[data-runtime=wasi]').click()
      await page.locator('boxplay-app #cmd').fill("-c 'print(2**10)'")
      await page.locator('boxplay-app #run').click()
      expect(await waitForTerminal(page, /^1024$[\s\S]*\[exited with code 0\]/m, 60_000)).toBeTruthy()
      const native = page.locator('boxplay-app bp-runtime-switch label[data-runtime=native]')
      expect(await native.locator('.reason').textContent()).toMatch(/static playground/)
      expect(await page.locator('boxplay-app .badge').textContent()).toMatch(/static playground/)
      await screenshot(page, 'e2e-static-v86')
      expect(errors.filter((e) => !/404/.test(e))).toEqual([])
      await page.close()
    } finally {
      await served.close()
    }
  })

  it('is made cross-origin isolated by its service worker on a host that sends no COOP/COEP', async () => {
    const port = await freePort()
    const host = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', playgroundDir], { stdio: 'ignore' })
    try {
      const base = `http://127.0.0.1:${port}`
      for (let i = 0; i < 50; i++) {
        if (await fetch(base).then((r) => r.ok, () => false)) break
        await new Promise((r) => setTimeout(r, 100))
      }
      const headers = (await fetch(`${base}/`)).headers
      expect(headers.get('cross-origin-embedder-policy')).toBeNull()
      const { page } = await openPage(browser, deepLink(base, { image: 'busybox', runtime: 'v86', cmd: 'echo isolated' }))
      await expect.poll(() => page.evaluate(() => crossOriginIsolated), { timeout: 15_000 }).toBe(true)
      expect(await waitForTerminal(page, /\[exited with code 0\]/, 60_000)).toMatch(/^isolated$/m)
      await page.close()
    } finally {
      host.kill()
    }
  })
})
