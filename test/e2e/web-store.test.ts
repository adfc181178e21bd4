// web/store/ in headless Chromium: the image and container stores in IndexedDB, kept across a
// browser restart (a persistent profile closed and opened again), a commit, the quota path
// with a capped store, damaged records skipped with a message, and downloads that
// `boxplay load` reads. The page is test/browser/pages/store.ts.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS, buildPages, removeBuild, root, servePreview, type Served } from '../browser/harness.js'
import type { StoreApi } from '../browser/pages/store.js'

let outDir: string
let served: Served
let profile: string
let context: BrowserContext | undefined
let page: Page
const DB = 'boxplay-store-test'

async function openBrowser(): Promise<void> {
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  page = await context.newPage()
  await page.goto(`${served.url}/test/browser/pages/store.html`)
  await page.waitForSelector('#status[data-ready]')
}

function call<K extends keyof StoreApi>(name: K, ...args: Parameters<StoreApi[K]>): Promise<Awaited<ReturnType<StoreApi[K]>>> {
  return page.evaluate(([n, a]) => (window.boxplayStore[n as K] as (...x: unknown[]) => unknown)(...(a as unknown[])), [name, args] as const) as Promise<
    Awaited<ReturnType<StoreApi[K]>>
  >
}

beforeAll(async () => {
  outDir = await buildPages({ images: 'dist/images' })
  served = await servePreview(outDir)
  profile = mkdtempSync(join(tmpdir(), 'boxplay-store-profile-'))
  await openBrowser()
  await call('reset', DB)
}, 240_000)

afterAll(async () => {
  await context?.close()
  await served?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
  if (outDir) removeBuild(outDir)
})

describe('the browser store', () => {
  it('keeps an image, a container with its changes and a committed image', async () => {
    const made = await call('populate', DB)
    expect(made.images).toEqual(['busybox:latest', 'mine:1'])
    expect(made.containers).toEqual(['work exited 0'])
    expect(made.usage).toBeGreaterThan(100_000)
  })

  it('has all of it after the browser is closed and opened again', async () => {
    await context!.close()
    context = undefined
    await openBrowser()
    const seen = await call('inspect', DB)
    expect(seen.images).toEqual(['busybox:latest linux/386 copied', 'mine:1 linux/386 committed'])
    expect(seen.containers).toEqual(['work exited 0'])
    expect(seen.skipped).toEqual([])
    expect(seen.changes).toEqual(['dir /etc', 'deleted /etc/motd', 'dir /root', 'symlink /root/link -> notes.txt', 'file /root/notes.txt', 'dir /srv opaque'])
    expect(seen.committed).toEqual({ notes: 'kept in the browser\n', motd: false, cmd: ['sh'], layers: 2 })
    expect(seen.usage.storeBytes).toBeGreaterThan(100_000)
    expect(seen.usage.quotaBytes).toBeGreaterThan(0)
  })

  it('refuses bad input clearly', async () => {
    const e = await call('errors', DB)
    expect(e.nameInUse).toMatchObject({ code: 'exists' })
    expect(e.nameInUse!.message).toMatch(/the container name "work" is already in use by container [0-9a-f]{12}/)
    expect(e.missing).toMatchObject({ code: 'not-found' })
    expect(e.badName).toMatchObject({ code: 'invalid' })
    expect(e.commitRunning).toMatchObject({ code: 'busy' })
    expect(e.commitRunning!.message).toMatch(/is running: stop it/)
    expect(e.badImageName).toMatchObject({ code: 'invalid' })
  })

  it('says so when the store is full, keeps what it had, and offers the oldest for removal', async () => {
    const { usage } = await call('inspect', DB)
    const q = await call('quota', DB, usage.storeBytes + 30_000)
    expect(q.refused).toMatchObject({ code: 'quota' })
    expect(q.refused!.message).toMatch(/store is full: .* would add .* Remove old containers or images/)
    expect(q.unchanged).toBe(true)
    expect(q.stillReadable).toBe(6)
    expect(q.candidates.map((c) => `${c.kind} ${c.name}`)).toEqual(['image busybox:latest', 'image mine:1', 'container work'])
    expect(q.usage.capBytes).toBe(usage.storeBytes + 30_000)
  })

  it('downloads an image as a docker-archive that `boxplay load` reads, and a container’s changes as a tar', async () => {
    const d = await call('downloads', DB)
    expect(d.reopened).toEqual(['mine:1'])
    const dir = mkdtempSync(join(tmpdir(), 'boxplay-store-dl-'))
    try {
      writeFileSync(join(dir, 'mine.tar'), Buffer.from(d.image, 'base64'))
      writeFileSync(join(dir, 'changes.tar'), Buffer.from(d.changes, 'base64'))
      const env = { ...process.env, BOXPLAY_HOME: join(dir, 'home'), BOXPLAY_BUNDLED_IMAGES: '' }
      const cli = join(root, 'dist', 'server', 'cli', 'main.js')
      execFileSync(process.execPath, [cli, 'load', join(dir, 'mine.tar')], { env })
      const images = JSON.parse(execFileSync(process.execPath, [cli, 'images', '--json'], { env }).toString()) as { name?: string; repository?: string; tag?: string }[]
      expect(JSON.stringify(images)).toContain('mine')
      const listing = execFileSync('tar', ['-tvf', join(dir, 'changes.tar')]).toString()
      expect(listing).toMatch(/root\/notes\.txt/)
      expect(listing).toMatch(/etc\/\.wh\.motd/)
      expect(listing).toMatch(/srv\/\.wh\.\.wh\.\.opq/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('skips damaged records with a message and loses nothing else', async () => {
    await call('corrupt', DB)
    const after = await call('afterCorruption', DB)
    expect(after.containers).toEqual(['work'])
    expect(after.skipped.map((s) => s.key).sort()).toEqual(['damaged-1', 'damaged-2'])
    expect(after.skipped[0]!.reason).toMatch(/not a container record/)
    expect(after.changes).toMatchObject({ code: 'corrupt' })
    expect(after.changes!.message).toMatch(/is damaged/)
    expect(after.imageStillRuns).toBe(true)
  })

  it('frees the space of what is removed', async () => {
    const r = await call('removeAll', DB)
    expect(r.afterImages).toBe(0)
    expect(r.left).toBe(0)
  })
})
