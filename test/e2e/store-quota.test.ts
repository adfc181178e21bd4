// The quota path of the playground in headless Chromium: with the page's store capped small
// (localStorage boxplay.storeMaxBytes), a container whose files do not fit is refused with
// a clear message, nothing stored before is lost, and the Containers tab offers the least
// recently used things for removal; removing one frees its space. A damaged record is
// skipped with a message and the other containers still show.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS, servePreview, type Served } from '../browser/harness.js'
import { assertBuilt, deepLink, playgroundDir, waitForTerminal } from './playground.js'

let served: Served
let profile: string
let context: BrowserContext

beforeAll(async () => {
  assertBuilt()
  served = await servePreview(playgroundDir)
  profile = mkdtempSync(join(tmpdir(), 'boxplay-quota-profile-'))
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
})

afterAll(async () => {
  await context?.close()
  await served?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
})

describe('a full store', () => {
  it('refuses what does not fit, says so, keeps the rest and offers the oldest for removal', async () => {
    const page = await context.newPage()
    await page.goto(`${served.url}/`)
    await page.evaluate(() => localStorage.setItem('boxplay.storeMaxBytes', String(2 * 2 ** 20)))
    // A small container first: it fits.
    await page.goto(deepLink(served.url, { image: 'busybox', runtime: 'v86', name: 'small', cmd: "sh -c 'echo small > /root/s'" }))
    await waitForTerminal(page, /\[exited with code 0\]/, 90_000)
    await page.locator('boxplay-app #tab-containers').click()
    await expect.poll(() => page.locator('boxplay-app bp-containers tr[data-name=small]').textContent(), { timeout: 15_000 }).toMatch(/entries/)

    // Then one whose files (3 MB that do not compress) pass the 2 MiB cap.
    await page.goto(deepLink(served.url, { image: 'busybox', runtime: 'v86', name: 'big', cmd: "sh -c 'head -c 3000000 /dev/urandom > /root/big'" }))
    await waitForTerminal(page, /\[exited with code 0\]/, 120_000).catch(() => {})
    await expect
      .poll(() => page.locator('boxplay-app main > [role=alert]').textContent({ timeout: 1000 }).catch(() => ''), { timeout: 30_000 })
      .toMatch(/The files of container big were not kept: the page's store is full: the files of container big would add .* Remove old containers or images/)
    await page.locator('boxplay-app #tab-containers').click()
    const panel = page.locator('boxplay-app bp-containers')
    await expect.poll(() => panel.locator('tr[data-name=small]').textContent(), { timeout: 15_000 }).toMatch(/entries/)
    await expect.poll(() => panel.locator('tr[data-name=big]').textContent(), { timeout: 15_000 }).toMatch(/none yet/)
    const offered = panel.locator('#candidates li')
    await expect.poll(() => offered.count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(2)
    expect(await offered.first().textContent()).toMatch(/(container small|image busybox:latest)/)
    expect(await panel.locator('#usage').textContent()).toMatch(/of at most 2\.0 MiB/)

    // Removing the oldest frees its space.
    await offered.first().locator('button').click()
    await expect.poll(() => panel.locator('[role=status]').textContent(), { timeout: 15_000 }).toMatch(/Removed .* freed/)

    // A damaged record (written behind the store's back) is skipped with a message; the rest shows.
    await page.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const req = indexedDB.open('boxplay')
          req.onsuccess = () => {
            const tx = req.result.transaction('containers', 'readwrite')
            tx.objectStore('containers').put({ id: 'damaged', name: 7 }, 'damaged')
            tx.oncomplete = () => (req.result.close(), resolve())
            tx.onerror = () => reject(tx.error)
          }
        }),
    )
    await page.reload()
    await page.locator('boxplay-app #tab-containers').click()
    await expect.poll(() => page.locator('boxplay-app bp-containers #skipped').textContent({ timeout: 1000 }).catch(() => ''), { timeout: 20_000 }).toMatch(
      /Skipped 1 damaged record[\s\S]*containers\/damaged: the record is not a container record/,
    )
    expect(await page.locator('boxplay-app bp-containers tr[data-name=big]').count()).toBe(1)
    await page.close()
  }, 240_000)
})
