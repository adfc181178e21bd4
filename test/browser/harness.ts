// The shared harness for browser end-to-end tests: build the test pages with vite (the
// project's vite.config.ts takes every test/browser/pages/*.html), serve them from vite's
// PREVIEW server on 127.0.0.1 with a free port (COOP/COEP on), and drive Debian's chromium
// with playwright-core. Static files a page needs (an OCI layout, test programs) are linked
// into the served directory. Screenshots go to test-results/.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const root = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
})()

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Builds the test pages into a fresh directory under .cache (one per caller, so test files
 * running in parallel never share an output directory). `extra` maps served paths to
 * files or directories to link in, e.g. { images: 'dist/images' }.
 */
export async function buildPages(extra: Record<string, string> = {}): Promise<string> {
  const { build } = await import('vite')
  mkdirSync(join(root, '.cache'), { recursive: true })
  const outDir = mkdtempSync(join(root, '.cache', 'test-web-'))
  await build({
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  })
  for (const [at, from] of Object.entries(extra)) {
    const target = join(outDir, at)
    mkdirSync(dirname(target), { recursive: true })
    symlinkSync(join(root, from), target)
  }
  return outDir
}

export interface Served {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string
  close(): Promise<void>
}

/** Serves a built directory with vite's preview server (cross-origin isolated) on 127.0.0.1. */
export async function servePreview(outDir: string): Promise<Served> {
  const { preview } = await import('vite')
  const server = await preview({
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  })
  const address = server.httpServer.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => server.close(),
  }
}

export interface Browser {
  context: BrowserContext
  close(): Promise<void>
}

/** Debian's chromium, headless, with a fresh profile that is deleted on close. */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'boxplay-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Opens a page and collects its console errors and uncaught exceptions (tests can assert none). */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`)
  })
  await page.goto(url)
  return { page, errors }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(root, 'test-results')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

export function removeBuild(outDir: string): void {
  rmSync(outDir, { recursive: true, force: true })
}
