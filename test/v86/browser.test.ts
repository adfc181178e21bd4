// The v86 runtime in headless Chromium: a page built by vite and served by its preview
// server boots the busybox image (cold, and from the shipped saved state) and prints its output.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type V86Page, startV86Page } from './browser/harness.js'

interface PageResult {
  stdout: string
  stderr: string
  code: number
  reason: string
  boot: string
  kernel: string
}

let page: V86Page
let browser: BrowserContext
let profile: string

beforeAll(async () => {
  page = await startV86Page()
  profile = mkdtempSync(join(tmpdir(), 'boxplay-chromium-'))
  // A fresh profile each time: no IndexedDB state from an earlier run.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  })
})

afterAll(async () => {
  await browser?.close()
  await page?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
})

async function runInPage(query: string): Promise<PageResult> {
  const tab = await browser.newPage()
  const errors: string[] = []
  tab.on('pageerror', (e) => errors.push(e.message))
  try {
    await tab.goto(`${page.url}?${query}`)
    await tab.waitForFunction(() => window.boxplayResult !== undefined || window.boxplayError !== undefined, undefined, {
      timeout: 90_000,
    })
    const error = await tab.evaluate(() => window.boxplayError)
    if (error) throw new Error(`the page failed: ${error}`)
    const shown = await tab.textContent('#out')
    const result = (await tab.evaluate(() => window.boxplayResult)) as PageResult
    expect(shown).toBe(result.stdout)
    expect(errors).toEqual([])
    return result
  } finally {
    await tab.close()
  }
}

describe('v86 runtime (headless Chromium)', () => {
  test('boots cold in the page and prints the guest kernel', async () => {
    const r = await runInPage(`cold=1&cmd=${encodeURIComponent(JSON.stringify(['uname', '-m', '-r']))}`)
    expect(r.boot).toBe('cold')
    expect(r.stdout.trim()).toMatch(/^6\.1\.\d+ i686$/)
    expect(r.code).toBe(0)
  }, 120_000)

  test('restores the saved state shipped in dist/guest and runs a command with an exit code', async () => {
    const r = await runInPage(`cmd=${encodeURIComponent(JSON.stringify(['sh', '-c', 'echo from the browser; echo oops >&2; exit 5']))}`)
    expect(r.boot).toBe('restored')
    expect(r.stdout).toBe('from the browser\n')
    expect(r.stderr).toBe('oops\n')
    expect(r).toMatchObject({ code: 5, reason: 'exited' })

    // The state fetched from the site is kept in IndexedDB for the next visit.
    const tab = await browser.newPage()
    await tab.goto(`${page.url}?cmd=${encodeURIComponent('["true"]')}`)
    await tab.waitForFunction(() => window.boxplayResult !== undefined || window.boxplayError !== undefined, undefined, { timeout: 90_000 })
    const keys = await tab.evaluate(
      () =>
        new Promise<string[]>((resolve, reject) => {
          const open = indexedDB.open('boxplay-v86')
          open.onerror = () => reject(open.error)
          open.onsuccess = () => {
            const req = open.result.transaction('states').objectStore('states').getAllKeys()
            req.onsuccess = () => resolve(req.result.map(String))
            req.onerror = () => reject(req.error)
          }
        }),
    )
    await tab.close()
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(/^v86-64m-[0-9a-f]{20}$/)
  }, 120_000)
})
