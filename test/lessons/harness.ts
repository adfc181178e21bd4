// The lesson widget's end-to-end harness: the widget built by the real `vite build` (into a
// temp folder of this test file's own, so parallel files do not race), served by a plain
// static server with COOP/COEP like any course site would, a real `boxplay serve` server
// (store + native runtime) and headless Chromium.

import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import { NativeRuntime } from '../../server/native/index.js'
import { Store } from '../../server/store/store.js'
import { buildWidget } from '../../server/lessons/widget-build.js'

export const ROOT = resolve(import.meta.dirname, '../..')

/** Builds the widget (the same build `vite build` runs) into `outDir`. */
export async function buildWidgetInto(outDir: string): Promise<void> {
  await buildWidget(ROOT, outDir)
  if (!existsSync(join(outDir, 'boxplay-lesson.js'))) throw new Error(`the widget build did not write ${outDir}/boxplay-lesson.js`)
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
}

export interface StaticSite {
  origin: string
  close(): Promise<void>
}

/**
 * A static host: URL prefixes mapped to folders, plus in-memory pages. Sends COOP/COEP unless
 * `isolation` is false (a host that cannot set headers, where coi-sw.js has to help).
 */
export async function startStatic(
  mounts: Record<string, string>,
  pages: Record<string, string> = {},
  opts: { isolation?: boolean } = {},
): Promise<StaticSite> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    if (opts.isolation !== false) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp')
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin')
    }
    const page = pages[path]
    if (page !== undefined) {
      res.setHeader('Content-Type', TYPES['.html']!)
      res.end(page)
      return
    }
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (!path.startsWith(prefix)) continue
      let file = normalize(join(dir, path.slice(prefix.length)))
      if (!file.startsWith(dir + sep) && file !== dir) break
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html')
      if (!existsSync(file)) break
      res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream')
      res.setHeader('Content-Length', statSync(file).size)
      createReadStream(file).pipe(res)
      return
    }
    res.statusCode = 404
    res.end('not found')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  }
}

export interface Boxplay {
  server: RunningServer
  close(): Promise<void>
}

/** A real `boxplay serve` (store in a temp home, native runtime). */
export async function startBoxplay(opts: { allowOrigin?: string; staticDir?: string } = {}): Promise<Boxplay> {
  const home = await mkdtemp(join(tmpdir(), 'boxplay-lessons-home-'))
  const store = await Store.open({ home })
  const native = new NativeRuntime({ layerDirs: (image) => store.layerDirs(image) })
  const ok = await native.available()
  if (!ok.ok) throw new Error(`the native runtime must be available for the lesson tests: ${ok.reason}`)
  const server = await startServer({
    port: 0,
    images: storeImages(store),
    runtimes: [native],
    ...(opts.allowOrigin ? { allowOrigin: opts.allowOrigin } : {}),
    ...(opts.staticDir ? { staticDir: opts.staticDir } : {}),
  })
  return {
    server,
    async close() {
      await server.close()
      await rm(home, { recursive: true, force: true })
    },
  }
}

export interface Browser {
  context: BrowserContext
  close(): Promise<void>
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'boxplay-lessons-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Page errors and console errors, collected so a test can assert there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    // Failed loads are reported with their URL below.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text())
  })
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`)
  })
  return errors
}

// ---- driving a widget from a test, the way a learner would --------------------------------

/** A locator for the nth <boxplay-lesson> on the page (playwright pierces shadow roots). */
export function lesson(page: Page, n: number) {
  const root = page.locator('boxplay-lesson').nth(n)
  return {
    root,
    /** Waits until the sandbox is up (the status says "ready in"). */
    async ready(timeout = 90_000): Promise<string> {
      await root.locator('.status', { hasText: /ready in|could not start/ }).waitFor({ timeout })
      const status = (await root.locator('.status').textContent())!.trim()
      if (!/ready in/.test(status)) throw new Error(`the sandbox did not start: ${status}`)
      return status
    },
    step(i: number) {
      return root.locator('boxplay-step').nth(i)
    },
    activeStep() {
      return root.locator('boxplay-step[active]')
    },
    async terminalText(): Promise<string> {
      return root.evaluate((el) => (el as unknown as { terminalText(): string }).terminalText())
    },
    async waitForText(re: RegExp, timeout = 30_000): Promise<void> {
      await page.waitForFunction(
        ([i, source, flags]) => {
          const el = document.querySelectorAll('boxplay-lesson')[i as number] as unknown as { terminalText(): string }
          return new RegExp(source as string, flags as string).test(el.terminalText())
        },
        [n, re.source, re.flags] as const,
        { timeout },
      )
    },
    /** Types into the terminal like a learner: focus it, then keystrokes. */
    async type(line: string): Promise<void> {
      await root.locator('bp-terminal .xterm-helper-textarea').focus()
      await page.keyboard.type(line)
      await page.keyboard.press('Enter')
    },
    async clickRun(text: string): Promise<void> {
      await root.locator('boxplay-step[active] boxplay-run', { hasText: text }).first().locator('button').click()
    },
    async check(): Promise<void> {
      await root.locator('boxplay-step[active] button.check').click()
    },
    async waitStatus(status: 'passed' | 'failed', timeout = 60_000): Promise<string> {
      const step = root.locator(`boxplay-step[active][status="${status}"]`)
      await step.waitFor({ timeout })
      return ((await step.locator('.result').textContent()) ?? '').trim()
    },
    async next(): Promise<void> {
      await root.locator('boxplay-step[active] button.next').click()
    },
  }
}
