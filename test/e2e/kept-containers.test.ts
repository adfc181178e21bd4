// Containers kept in the browser, end to end in headless Chromium on the static playground
// (dist/playground) with a persistent profile: a file written in a v86 container started
// with `&name=` survives closing and reopening the browser and comes back through
// `?container=N&cmd=…`; the container commits to an image that survives a restart too and
// runs; the Containers panel lists both and downloads the image as a tarball.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS, screenshot, servePreview, type Served } from '../browser/harness.js'
import { assertBuilt, deepLink, playgroundDir, waitForTerminal } from './playground.js'

let served: Served
let profile: string
let context: BrowserContext | undefined
let errors: string[] = []

async function openBrowser(): Promise<void> {
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, acceptDownloads: true })
}

async function open(url: string): Promise<Page> {
  const page = await context!.newPage()
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/404/.test(m.text())) errors.push(`console: ${m.text()}`)
  })
  await page.goto(url)
  return page
}

async function restartBrowser(): Promise<void> {
  await context!.close()
  context = undefined
  await openBrowser()
}

beforeAll(async () => {
  assertBuilt()
  served = await servePreview(playgroundDir)
  profile = mkdtempSync(join(tmpdir(), 'boxplay-kept-profile-'))
  await openBrowser()
})

afterAll(async () => {
  await context?.close()
  await served?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
})

describe('containers kept in the browser', () => {
  it('keeps a v86 container’s file across a browser restart and reopens it with ?container=', async () => {
    const page = await open(deepLink(served.url, { image: 'busybox', runtime: 'v86', name: 'work', cmd: "sh -c 'mkdir -p /root/notes && echo kept $((6*7)) > /root/notes/a.txt && rm /bin/vi && echo written'" }))
    await waitForTerminal(page, /^written$[\s\S]*\[exited with code 0\]/m, 90_000)
    // The address now reopens the container instead of making another.
    await expect.poll(() => new URL(page.url()).searchParams.get('container'), { timeout: 10_000 }).toBe('work')
    // The exit's save lands in IndexedDB: the panel shows the container with its files.
    await page.locator('boxplay-app #tab-containers').click()
    const row = page.locator('boxplay-app bp-containers tr[data-name=work]')
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/exited \(0\)[\s\S]*entries/)
    await page.close()

    await restartBrowser()
    const again = await open(deepLink(served.url, { container: 'work', cmd: "sh -c 'cat /root/notes/a.txt; ls /bin/vi 2>&1; echo more > /root/notes/b.txt'" }))
    const text = await waitForTerminal(again, /\[exited with code \d+\]/, 90_000)
    expect(text).toMatch(/^kept 42$/m)
    expect(text).toMatch(/No such file/)
    expect(await again.locator('boxplay-app #attached').textContent()).toBe('work')
    await screenshot(again, 'e2e-kept-container')
    await again.close()
  }, 240_000)

  it('commits the container to an image that survives a restart, runs, and downloads as a tarball', async () => {
    let page = await open(`${served.url}/?container=work`)
    await waitForTerminal(page, /\[exited with code \d+\]/, 90_000).catch(() => undefined)
    await page.locator('boxplay-app #tab-containers').click()
    const row = page.locator('boxplay-app bp-containers tr[data-name=work]')
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/exited/)
    await row.locator('input[name=image]').fill('notes:1')
    await row.locator('form.commit button').click()
    await expect.poll(() => page.locator('boxplay-app bp-containers [role=status]').textContent(), { timeout: 30_000 }).toMatch(/Committed work to notes:1/)
    await page.close()

    await restartBrowser()
    page = await open(deepLink(served.url, { image: 'notes:1', runtime: 'v86', cmd: "sh -c 'cat /root/notes/a.txt /root/notes/b.txt'" }))
    const text = await waitForTerminal(page, /\[exited with code 0\]/, 90_000)
    expect(text).toMatch(/^kept 42$[\s\S]*^more$/m)

    await page.locator('boxplay-app #tab-containers').click()
    const image = page.locator('boxplay-app bp-containers #images tr[data-name="notes:1"]')
    await expect.poll(() => image.count(), { timeout: 15_000 }).toBe(1)
    const [download] = await Promise.all([page.waitForEvent('download'), image.locator('button.download').click()])
    expect(download.suggestedFilename()).toBe('notes_1.tar')
    const path = await download.path()
    const tar = readFileSync(path!)
    expect(tar.includes(Buffer.from('manifest.json'))).toBe(true)
    expect(tar.includes(Buffer.from('"RepoTags":["notes:1"]'))).toBe(true)
    await page.close()
    expect(errors).toEqual([])
  }, 240_000)

  it('uploads a tarball and plain files into a kept container’s files; the next run sees them', async () => {
    const page = await open(`${served.url}/?container=work`)
    await waitForTerminal(page, /\[exited with code \d+\]/, 90_000).catch(() => undefined)
    await page.locator('boxplay-app #tab-containers').click()
    const row = page.locator('boxplay-app bp-containers tr[data-name=work]')
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/exited/)
    await row.locator('input[id^=target-]').fill('/srv/upload')
    await row.locator('input.upload-files').setInputFiles({ name: 'site.tar', mimeType: 'application/x-tar', buffer: tarWith('docs/readme.txt', 'uploaded from the host\n') })
    await expect.poll(() => page.locator('boxplay-app bp-containers [role=status]').textContent(), { timeout: 20_000 }).toMatch(/Added 1 file under \/srv\/upload in work/)
    // Plain files too (a multi-file pick), each at its name under the target.
    await row.locator('input[id^=target-]').fill('/srv/files')
    await row.locator('input.upload-files').setInputFiles([
      { name: 'one.txt', mimeType: 'text/plain', buffer: Buffer.from('file one\n') },
      { name: 'two.txt', mimeType: 'text/plain', buffer: Buffer.from('file two\n') },
    ])
    await expect.poll(() => page.locator('boxplay-app bp-containers [role=status]').textContent(), { timeout: 20_000 }).toMatch(/Added 2 files under \/srv\/files in work/)
    await row.locator('button.resume').click()
    await expect.poll(() => page.locator('boxplay-app #attached').textContent(), { timeout: 20_000 }).toBe('work')
    await waitForTerminal(page, /\[exited with code \d+\]/, 90_000).catch(() => undefined)
    await page.locator('boxplay-app #cmd').fill('cat /srv/files/one.txt /srv/files/two.txt /srv/upload/docs/readme.txt /root/notes/a.txt')
    await page.locator('boxplay-app #run').click()
    const text = await waitForTerminal(page, /file one\s+file two\s+uploaded from the host\s+kept 42\s+\[exited with code 0\]/, 90_000)
    expect(text).toMatch(/^uploaded from the host$/m)
    await page.close()
  }, 240_000)

  it('keeps a WASI container’s files too', async () => {
    let page = await open(deepLink(served.url, { image: 'python', runtime: 'wasi', name: 'py', cmd: "-c \"open('/kept.txt','w').write('from wasi')\"" }))
    await waitForTerminal(page, /\[exited with code 0\]/, 90_000)
    await expect.poll(() => new URL(page.url()).searchParams.get('container'), { timeout: 10_000 }).toBe('py')
    await page.locator('boxplay-app #tab-containers').click()
    await expect.poll(() => page.locator('boxplay-app bp-containers tr[data-name=py]').textContent(), { timeout: 15_000 }).toMatch(/entries/)
    await page.close()
    page = await open(deepLink(served.url, { container: 'py', cmd: "-c \"print(open('/kept.txt').read())\"" }))
    expect(await waitForTerminal(page, /\[exited with code 0\]/, 90_000)).toMatch(/^from wasi$/m)
    await page.close()
    expect(errors).toEqual([])
  }, 240_000)
})

describe('a container whose tab goes away mid-run', () => {
  it('keeps what was saved when the tab was hidden, and resumes once the tab is gone', async () => {
    const page = await open(deepLink(served.url, { image: 'busybox', runtime: 'v86', name: 'live' }))
    await waitForTerminal(page, /\/ #\s*$/m, 90_000)
    await page.locator('boxplay-app bp-terminal').click()
    // sync: the guest writes its cached pages back to the host's tree (a save reads that tree).
    await page.keyboard.type('echo still running > /root/live.txt; sync; echo synced\n')
    await waitForTerminal(page, /^synced$/m, 30_000)
    // The tab is hidden (as when the learner switches away or closes it): a save runs.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' })
      document.dispatchEvent(new Event('visibilitychange'))
    })
    await expect.poll(() => keptEntries(page, 'live'), { timeout: 20_000 }).toBeGreaterThan(0)
    // While this tab runs it, another tab may not.
    const other = await open(`${served.url}/?container=live`)
    await expect.poll(() => other.locator('boxplay-app main > [role=alert]').textContent({ timeout: 1000 }).catch(() => ''), { timeout: 30_000 }).toMatch(/running in another tab/)
    await other.close()
    await page.close()

    const again = await open(deepLink(served.url, { container: 'live', cmd: 'cat /root/live.txt' }))
    expect(await waitForTerminal(again, /\[exited with code 0\]/, 90_000)).toMatch(/^still running$/m)
    await again.close()
    expect(errors).toEqual([])
  }, 240_000)
})

/** Entries in the kept layer of container `name`, read straight from IndexedDB (-1: none yet). */
function keptEntries(page: Page, name: string): Promise<number> {
  return page.evaluate(
    (n) =>
      new Promise<number>((resolve) => {
        const req = indexedDB.open('boxplay')
        req.onsuccess = () => {
          const all = req.result.transaction('containers').objectStore('containers').getAll()
          all.onsuccess = () => {
            const c = (all.result as { name: string; changes?: { entries: number } }[]).find((x) => x.name === n)
            req.result.close()
            resolve(c?.changes?.entries ?? -1)
          }
        }
        req.onerror = () => resolve(-1)
      }),
    name,
  )
}

/** A one-file ustar archive (the test's own bytes: what a learner would upload). */
function tarWith(path: string, text: string): Buffer {
  const body = Buffer.from(text)
  const header = Buffer.alloc(512)
  header.write(path, 0)
  header.write('0000644\0', 100)
  header.write('0000000\0', 108)
  header.write('0000000\0', 116)
  header.write(body.length.toString(8).padStart(11, '0') + '\0', 124)
  header.write('00000000000\0', 136)
  header.fill(' ', 148, 156)
  header.write('0', 156)
  header.write('ustar\0', 257)
  header.write('00', 263)
  let sum = 0
  for (const b of header) sum += b
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512)
  return Buffer.concat([header, body, pad, Buffer.alloc(1024)])
}
