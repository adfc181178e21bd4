// <boxplay-lesson> end to end in headless Chromium: a course page on one origin embeds two
// widgets from the built bundle (one in v86, one in a native container of a `boxplay serve`
// on another origin that allows this one). A learner's clicks and typing make checks pass
// and fail; checks run in the learner's own sandbox and stay out of the terminal; events
// reach `document`; the two widgets do not share anything.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Boxplay, type Browser, type StaticSite, buildWidgetInto, collectErrors, launchBrowser, lesson, startBoxplay, startStatic } from './harness.js'

let widgetDir: string
let site: StaticSite
let boxplay: Boxplay
let browser: Browser
let page: Page
let errors: string[]

function coursePage(server: string): string {
  return `<!doctype html><meta charset="utf-8"><title>A course page</title>
<script type="module" src="/widget/boxplay-lesson.js"></script>
<script>
  window.events = []
  for (const type of ['boxplay-step-passed', 'boxplay-lesson-complete'])
    document.addEventListener(type, (e) => window.events.push({ type, detail: e.detail }))
</script>
<h1>Two widgets</h1>
<boxplay-lesson lesson="vm" image="busybox" runtime="v86" heading="In a VM">
  <boxplay-step heading="Leave a greeting">
    <p>Write a greeting into a file:</p>
    <boxplay-run>echo hello > /tmp/greeting</boxplay-run>
    <boxplay-check command="grep -q hello /tmp/greeting" hint="There is no /tmp/greeting saying hello yet."></boxplay-check>
    <boxplay-solution>echo hello > /tmp/greeting</boxplay-solution>
  </boxplay-step>
  <boxplay-step heading="Make a directory">
    <p>Make the directory <code>/tmp/box</code> and go into it.</p>
    <boxplay-check command="test -d /tmp/box" hint="/tmp/box is not there."></boxplay-check>
    <boxplay-check command='test "$PWD" = /tmp/box' hint="You are not in /tmp/box: cd into it."></boxplay-check>
  </boxplay-step>
</boxplay-lesson>
<boxplay-lesson lesson="ct" image="busybox" runtime="native" runtimes="native v86" server="${server}" heading="In a container">
  <boxplay-step heading="Make a directory">
    <boxplay-run>mkdir /root/made</boxplay-run>
    <boxplay-check command="test -d /root/made" hint="/root/made does not exist."></boxplay-check>
  </boxplay-step>
</boxplay-lesson>`
}

beforeAll(async () => {
  widgetDir = mkdtempSync(join(tmpdir(), 'boxplay-widget-'))
  await buildWidgetInto(widgetDir)
  // The course site's origin must be known before the server starts (--allow-origin), and
  // its page must name the server: start the site, then the server, then add the page.
  const pages: Record<string, string> = {}
  site = await startStatic({ '/widget/': widgetDir }, pages)
  boxplay = await startBoxplay({ allowOrigin: site.origin })
  pages['/course.html'] = coursePage(`${boxplay.server.origin}/?token=${boxplay.server.token}`)
  browser = await launchBrowser()
  page = await browser.context.newPage()
  errors = collectErrors(page)
  await page.goto(`${site.origin}/course.html`)
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await boxplay?.close()
  await site?.close()
  if (widgetDir) rmSync(widgetDir, { recursive: true, force: true })
})

const events = () => page.evaluate(() => (window as unknown as { events: { type: string; detail: Record<string, unknown> }[] }).events)

describe('<boxplay-lesson> on a course page', () => {
  test('the built bundle is one script plus assets found beside it', async () => {
    const vm = lesson(page, 0)
    const ct = lesson(page, 1)
    const vmStatus = await vm.ready()
    const ctStatus = await ct.ready()
    expect(vmStatus).toMatch(/^VM \(v86\): ready in [\d.]+ s$/)
    expect(ctStatus).toMatch(/^Container \(native\): ready in [\d.]+ s$/)
    console.info(`start times seen by the learner: ${vmStatus}; ${ctStatus}`)
    // Each runs the sandbox it says: the VM's own kernel vs the host's.
    await vm.type('uname -r')
    await vm.waitForText(/6\.1\.\d+/)
    await ct.type('echo pid1=$(cat /proc/1/comm)')
    await ct.waitForText(/pid1=\S+/)
  }, 180_000)

  test('a check fails with its hint before the learner has done the step', async () => {
    const vm = lesson(page, 0)
    await vm.check()
    expect(await vm.waitStatus('failed')).toContain('There is no /tmp/greeting saying hello yet.')
    expect(await events()).toEqual([])
  }, 60_000)

  test('clicking a run snippet types it into the terminal, and the check passes by itself after it', async () => {
    const vm = lesson(page, 0)
    await vm.clickRun('echo hello')
    expect(await vm.waitStatus('passed')).toMatch(/Passed/)
    const text = await vm.terminalText()
    expect(text).toContain('echo hello > /tmp/greeting')
    // The checks ran in the same shell, but none of their lines or markers show.
    expect(text).not.toMatch(/grep -q|printf|777;bp/)
    expect(await events()).toEqual([{ type: 'boxplay-step-passed', detail: { lesson: 'vm', step: 0, heading: 'Leave a greeting', runtime: 'v86' } }])
  }, 60_000)

  test('the solution is hidden until revealed', async () => {
    const vm = lesson(page, 0)
    const solution = vm.step(0).locator('boxplay-solution')
    await expect(solution.isVisible()).resolves.toBe(false)
    await vm.step(0).locator('button.solution-toggle').click()
    await expect(solution.isVisible()).resolves.toBe(true)
  })

  test('the other widget is a different sandbox: no greeting there, and its own step passes', async () => {
    const ct = lesson(page, 1)
    await ct.type('test -e /tmp/greeting && echo greeting-found || echo greeting-absent')
    await ct.waitForText(/^greeting-absent/m)
    expect(await ct.activeStep().getAttribute('status')).not.toBe('passed')
    await ct.clickRun('mkdir /root/made')
    await ct.waitStatus('passed')
    const all = await events()
    expect(all.slice(1)).toEqual([
      { type: 'boxplay-step-passed', detail: { lesson: 'ct', step: 0, heading: 'Make a directory', runtime: 'native' } },
      { type: 'boxplay-lesson-complete', detail: { lesson: 'ct', steps: 1 } },
    ])
    // The VM widget's progress is untouched by the container's.
    expect(await lesson(page, 0).root.locator('.progress').textContent()).toContain('1 of 2')
  }, 60_000)

  test('checks see the shell state the learner typed: one passes, the other shows its hint, then both pass', async () => {
    const vm = lesson(page, 0)
    await vm.next()
    await vm.type('mkdir /tmp/box')
    // Typing a command re-runs the step's checks: the directory is there, the cwd is not.
    expect(await vm.waitStatus('failed')).toContain('You are not in /tmp/box')
    await vm.type('cd /tmp/box')
    await vm.waitStatus('passed')
    await page.waitForFunction(() => (window as unknown as { events: unknown[] }).events.length === 5)
    expect((await events()).slice(3)).toEqual([
      { type: 'boxplay-step-passed', detail: { lesson: 'vm', step: 1, heading: 'Make a directory', runtime: 'v86' } },
      { type: 'boxplay-lesson-complete', detail: { lesson: 'vm', steps: 2 } },
    ])
    expect(await vm.root.locator('.progress').textContent()).toContain('Lesson complete')
  }, 60_000)

  test('the learner keeps typing in the same shell after checks (prompt and cwd intact)', async () => {
    const vm = lesson(page, 0)
    await vm.type('echo "cwd=$(pwd)"')
    await vm.waitForText(/^cwd=\/tmp\/box$/m)
  }, 30_000)

  test('reset gives a fresh sandbox from the image: what the learner wrote is gone', async () => {
    const vm = lesson(page, 0)
    await vm.root.locator('button.reset').click()
    await vm.ready()
    await vm.type('test -e /tmp/greeting && echo still-there || echo gone-after-reset')
    await vm.waitForText(/^gone-after-reset/m)
  }, 120_000)

  test('keyboard only: Tab reaches a run snippet from the lesson header, Enter runs it', async () => {
    const ct = lesson(page, 1)
    await ct.root.locator('button.reset').focus()
    const focusedHost = () =>
      page.evaluate(() => {
        let a: Element | null = document.activeElement
        while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement
        const host = (a?.getRootNode() as ShadowRoot | undefined)?.host
        return `${host?.tagName ?? ''} ${a?.tagName ?? ''}`
      })
    let tabs = 0
    while ((await focusedHost()) !== 'BOXPLAY-RUN BUTTON') {
      expect(++tabs, 'a run snippet is reachable with Tab').toBeLessThan(15)
      await page.keyboard.press('Tab')
    }
    await page.keyboard.press('Enter')
    // The snippet ran again in the container, where the directory now exists.
    await ct.waitForText(/File exists/)
  }, 30_000)

  test('the page saw no errors', () => {
    expect(errors).toEqual([])
  })
})
