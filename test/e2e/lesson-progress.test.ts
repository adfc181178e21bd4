// A lesson's progress and sandbox kept in the browser, end to end in headless Chromium: the
// built widget on a course page, a v86 lesson. Passing a step and writing a file survive a
// reload (the step shows passed, the next step is open, the file is back in the sandbox);
// Reset drops the sandbox's files but keeps the progress; Start over really resets both,
// also across another reload.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Browser, type StaticSite, buildWidgetInto, collectErrors, launchBrowser, lesson, startStatic } from '../lessons/harness.js'

let widgetDir: string
let site: StaticSite
let browser: Browser
let page: Page
let errors: string[]

const COURSE = `<!doctype html><meta charset="utf-8"><title>Kept lesson</title>
<script type="module" src="/widget/boxplay-lesson.js"></script>
<boxplay-lesson lesson="kept" image="busybox" runtime="v86" heading="Kept work">
  <boxplay-step heading="Leave a note">
    <boxplay-run>mkdir -p /root/work && echo remembered > /root/work/note</boxplay-run>
    <boxplay-check command="grep -q remembered /root/work/note" hint="/root/work/note does not say remembered yet."></boxplay-check>
  </boxplay-step>
  <boxplay-step heading="Make a directory">
    <boxplay-check command="test -d /root/box" hint="/root/box is not there."></boxplay-check>
  </boxplay-step>
</boxplay-lesson>`

/** Waits until the page's store holds the lesson's sandbox files (saved after each command). */
async function sandboxKept(p: Page, wantEntries: (n: number) => boolean): Promise<void> {
  await expect
    .poll(
      () =>
        p.evaluate(
          () =>
            new Promise<number>((resolve) => {
              const req = indexedDB.open('boxplay')
              req.onsuccess = () => {
                const db = req.result
                if (!db.objectStoreNames.contains('containers')) return resolve(-1)
                const all = db.transaction('containers').objectStore('containers').getAll()
                all.onsuccess = () => {
                  const mine = (all.result as { name: string; changes?: { entries: number } }[]).find((c) => c.name.startsWith('lesson.kept.'))
                  db.close()
                  resolve(mine?.changes?.entries ?? -1)
                }
              }
              req.onerror = () => resolve(-1)
            }),
        ),
      { timeout: 20_000 },
    )
    .toSatisfy(wantEntries)
}

beforeAll(async () => {
  widgetDir = mkdtempSync(join(tmpdir(), 'boxplay-widget-kept-'))
  await buildWidgetInto(widgetDir)
  site = await startStatic({ '/widget/': widgetDir }, { '/course.html': COURSE })
  browser = await launchBrowser()
  page = await browser.context.newPage()
  errors = collectErrors(page)
  await page.goto(`${site.origin}/course.html`)
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await site?.close()
  if (widgetDir) rmSync(widgetDir, { recursive: true, force: true })
})

describe('a lesson kept in the browser', () => {
  test('progress and the sandbox’s files survive a reload', async () => {
    const l = lesson(page, 0)
    await l.ready()
    await l.clickRun('remembered')
    expect(await l.waitStatus('passed')).toMatch(/Passed/)
    await sandboxKept(page, (n) => n > 0)
    await l.step(0).locator('button.next').click()
    await expect.poll(() => l.activeStep().getAttribute('heading')).toBe('Make a directory')

    await page.reload()
    const again = lesson(page, 0)
    const status = await again.ready()
    expect(status).toMatch(/your files from last time are back/)
    expect(await again.step(0).getAttribute('status')).toBe('passed')
    await expect.poll(() => again.activeStep().getAttribute('heading')).toBe('Make a directory')
    expect(await again.root.locator('.progress').textContent()).toMatch(/1 of 2 steps done/)
    await again.type('cat /root/work/note')
    await again.waitForText(/^remembered$/m).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\nterminal:\n${await again.terminalText()}\nstatus: ${await again.root.locator('.status').textContent()}`)
    })
  }, 180_000)

  test('Reset drops the sandbox’s files and keeps the progress', async () => {
    const l = lesson(page, 0)
    await l.root.locator('button.reset').click()
    await l.ready()
    await l.type('cat /root/work/note 2>/dev/null || echo gone-after-reset')
    await l.waitForText(/^gone-after-reset$/m)
    expect(await l.step(0).getAttribute('status')).toBe('passed')
  }, 120_000)

  test('Start over forgets progress and sandbox, also after a reload', async () => {
    let l = lesson(page, 0)
    await l.type('mkdir -p /root/box')
    expect(await l.waitStatus('passed')).toMatch(/Passed/)
    await sandboxKept(page, (n) => n > 0)
    await l.root.locator('button.start-over').click()
    await l.ready()
    await expect.poll(() => l.activeStep().getAttribute('heading')).toBe('Leave a note')
    expect(await l.step(0).getAttribute('status')).not.toBe('passed')
    expect(await l.step(1).getAttribute('status')).not.toBe('passed')
    await l.type('ls -d /root/box 2>/dev/null || echo fresh-box')
    await l.waitForText(/^fresh-box$/m)

    await page.reload()
    l = lesson(page, 0)
    const status = await l.ready()
    expect(status).not.toMatch(/files from last time/)
    expect(await l.root.locator('.progress').textContent()).toMatch(/0 of 2 steps done/)
    await expect.poll(() => l.activeStep().getAttribute('heading')).toBe('Leave a note')
    expect(errors).toEqual([])
  }, 180_000)
})
