// The shipped lessons (web/lessons/), served the way `boxplay serve` serves them: its static
// site holds widget/ and lessons/ (as the widget setup step lays them out in dist/playground),
// so a lesson at /lessons/NAME.html loads ../widget/boxplay-lesson.js and uses the page's
// own server (server=".") for its container steps. Each lesson is completed in headless
// Chromium by doing exactly what it says: clicking its run snippets in order.

import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { installLessons } from '../../server/lessons/widget-build.js'
import { type Boxplay, type Browser, ROOT, buildWidgetInto, collectErrors, launchBrowser, lesson, startBoxplay, startStatic } from './harness.js'

let site: string
let boxplay: Boxplay
let browser: Browser

beforeAll(async () => {
  site = mkdtempSync(join(tmpdir(), 'boxplay-lessons-site-'))
  const widget = join(site, 'built-widget')
  await buildWidgetInto(widget)
  installLessons(ROOT, widget, site)
  // serveStatic wants a playground index at the root; the lessons do not need it.
  cpSync(join(ROOT, 'web', 'lessons', 'index.html'), join(site, 'index.html'))
  boxplay = await startBoxplay({ staticDir: site })
  browser = await launchBrowser()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await boxplay?.close()
  if (site) rmSync(site, { recursive: true, force: true })
})

type LessonEl = HTMLElement & { busy: boolean; commandCount: number }

async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => !(document.querySelector('boxplay-lesson') as LessonEl).busy, undefined, { timeout: 90_000 })
}

/** Opens a lesson through the server (token in the URL, swapped for the cookie) and follows every step. */
async function complete(name: string): Promise<{ steps: number; events: { type: string; detail: Record<string, unknown> }[]; errors: string[]; text: string; status: string }> {
  const page = await browser.context.newPage()
  const errors = collectErrors(page)
  try {
    await page.addInitScript(() => {
      const w = window as unknown as { events: unknown[] }
      w.events = []
      for (const type of ['boxplay-step-passed', 'boxplay-lesson-complete']) document.addEventListener(type, (e) => w.events.push({ type, detail: (e as CustomEvent).detail }))
    })
    await page.goto(`${boxplay.server.origin}/lessons/${name}.html?token=${boxplay.server.token}`)
    const l = lesson(page, 0)
    await l.ready()
    const steps = await l.root.locator('boxplay-step').count()
    expect(steps).toBeGreaterThanOrEqual(4)
    expect(steps).toBeLessThanOrEqual(8)
    for (let i = 0; i < steps; i++) {
      await expect(l.activeStep().getAttribute('heading')).resolves.toBe(await l.step(i).getAttribute('heading'))
      await idle(page)
      const runs = l.activeStep().locator('boxplay-run')
      const count = await runs.count()
      expect(count, `step ${i + 1} of ${name} has something to run`).toBeGreaterThan(0)
      for (let j = 0; j < count; j++) {
        const before = await l.root.evaluate((el) => (el as LessonEl).commandCount)
        await runs.nth(j).locator('button').click()
        await page.waitForFunction(
          (n) => {
            const el = document.querySelector('boxplay-lesson') as LessonEl
            return el.commandCount > n && !el.busy
          },
          before,
          { timeout: 60_000 },
        )
      }
      if ((await l.activeStep().getAttribute('status')) !== 'passed') await l.check()
      const result = await l.waitStatus('passed').catch(async (e: Error) => {
        const hint = await l.activeStep().locator('.result').textContent()
        throw new Error(`${name}: step ${i + 1} did not pass (${hint}); terminal:\n${await l.terminalText()}\n${e.message}`)
      })
      expect(result).toMatch(/Passed/)
      if (i < steps - 1) await l.next()
    }
    const events = await page.evaluate(() => (window as unknown as { events: { type: string; detail: Record<string, unknown> }[] }).events)
    return { steps, events, errors, text: await l.terminalText(), status: ((await l.root.locator('.status').textContent()) ?? '').trim() }
  } finally {
    await page.close()
  }
}

function expectCompleted(name: string, r: Awaited<ReturnType<typeof complete>>): void {
  expect(r.events.filter((e) => e.type === 'boxplay-step-passed').map((e) => e.detail.step)).toEqual([...Array(r.steps).keys()])
  expect(r.events.at(-1)).toEqual({ type: 'boxplay-lesson-complete', detail: { lesson: name, steps: r.steps } })
  expect(r.errors).toEqual([])
}

describe('the shipped lessons, served at /lessons/ by boxplay serve', () => {
  test('the index links every lesson page, and every page exists', async () => {
    const res = await fetch(`${boxplay.server.origin}/lessons/`)
    expect(res.status).toBe(200)
    const html = await res.text()
    const pages = readdirSync(join(ROOT, 'web', 'lessons')).filter((f) => f.endsWith('.html') && f !== 'index.html')
    expect(pages.length).toBe(6)
    for (const p of pages) {
      expect(html).toContain(`./${p}`)
      expect((await fetch(`${boxplay.server.origin}/lessons/${p}`)).status).toBe(200)
    }
  })

  test('1. containers vs virtual machines: VM kernel and init, then the host kernel and sh as PID 1', async () => {
    const r = await complete('containers-vs-vms')
    expectCompleted('containers-vs-vms', r)
    expect(r.events.map((e) => e.detail.runtime).filter(Boolean)).toEqual(['v86', 'v86', 'native', 'native', 'native'])
    // After the switch, the status line shows both start times side by side.
    expect(r.status).toMatch(/^Container \(native\): ready in [\d.]+ s · VM \(v86\) took [\d.]+ s$/)
    console.info(`lesson 1 status line: ${r.status}`)
  }, 240_000)

  test('2. namespaces: PID, UTS, mount, net in a container; unshare in the VM', async () => {
    const r = await complete('namespaces')
    expectCompleted('namespaces', r)
  }, 240_000)

  test('3. cgroups: the OOM killer and the pids limit stop a runaway', async () => {
    const r = await complete('cgroups')
    expectCompleted('cgroups', r)
    expect(r.text).toMatch(/can't fork/)
    expect(r.text).toMatch(/^137$/m)
  }, 240_000)

  test('4. images and layers: writes and deletes stay in the run', async () => {
    const r = await complete('images-and-layers')
    expectCompleted('images-and-layers', r)
  }, 240_000)

  test('5. WebAssembly and WASI: hello as a module and as a native binary', async () => {
    const r = await complete('wasi')
    expectCompleted('wasi', r)
    expect(r.text).toMatch(/Name:\s+hello/)
  }, 240_000)

  test('6. networking: lo only in the VM without a card, httpd over lo in the VM and in the container, its namespace', async () => {
    const r = await complete('networking')
    expectCompleted('networking', r)
    expect(r.events.map((e) => e.detail.runtime).filter(Boolean)).toEqual(['v86', 'v86', 'v86', 'native', 'native'])
    expect(r.text).toContain('hello from the container')
    expect(r.text).toMatch(/net:\[\d+\]/)
  }, 240_000)

  test('on a static host that cannot send COOP/COEP, coi-sw.js beside the lessons isolates them and wasi runs', async () => {
    const plain = await startStatic({ '/widget/': join(site, 'widget'), '/lessons/': join(site, 'lessons') }, {}, { isolation: false })
    const page = await browser.context.newPage()
    try {
      await page.goto(`${plain.origin}/lessons/wasi.html`)
      // The widget installs the worker and reloads once; the page then comes through it.
      await expect.poll(() => page.evaluate(() => globalThis.crossOriginIsolated), { timeout: 30_000 }).toBe(true)
      const l = lesson(page, 0)
      await l.ready()
      await expect(l.root.locator('button.runtime[data-runtime="wasi"]').isEnabled()).resolves.toBe(true)
    } finally {
      await page.close()
      await plain.close()
    }
  }, 120_000)

  test('on a static host without a server, the lesson offers the browser runtimes and says why not native', async () => {
    const plain = await startStatic({ '/widget/': join(site, 'widget'), '/lessons/': join(site, 'lessons') })
    const page = await browser.context.newPage()
    try {
      await page.goto(`${plain.origin}/lessons/containers-vs-vms.html`)
      const l = lesson(page, 0)
      await l.ready()
      const native = l.root.locator('button.runtime[data-runtime="native"]')
      await expect(native.isDisabled()).resolves.toBe(true)
      expect(await native.getAttribute('title')).toMatch(/not a boxplay server|no boxplay server/)
      await expect(l.root.locator('button.runtime[data-runtime="v86"]').isEnabled()).resolves.toBe(true)
      // The VM steps work; a container step says what is missing instead of hanging.
      await l.clickRun('uname -r > /tmp/kernel')
      await l.waitStatus('passed')
      await l.root.locator('nav button', { hasText: '3' }).click()
      await l.root.locator('.status', { hasText: /Container \(native\) could not start: .*boxplay/ }).waitFor({ timeout: 30_000 })
    } finally {
      await page.close()
      await plain.close()
    }
  }, 120_000)
})
