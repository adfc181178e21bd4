// Helpers for the playground's end-to-end tests: start `boxplay serve` (the compiled CLI, as
// a user would), and read what the page shows (the terminal's text, the compare columns).

import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'
import { launchChromium, openPage, root, type Browser } from '../browser/harness.js'

export const playgroundDir = join(root, 'dist', 'playground')

export function assertBuilt(): void {
  if (!existsSync(join(playgroundDir, 'index.html'))) {
    throw new Error('dist/playground is not built: run `npm run setup` (npm test does it first)')
  }
}

export interface Serve {
  /** The printed URL, with the token. */
  url: URL
  origin: string
  token: string
  close(): Promise<void>
}

export async function startServe(): Promise<Serve> {
  const home = await mkdtemp(join(tmpdir(), 'boxplay-e2e-'))
  const child: ChildProcess = spawn(process.execPath, [join(root, 'dist', 'server', 'cli', 'main.js'), 'serve', '--no-open', '--port', '0'], {
    env: { ...process.env, BOXPLAY_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const url = await new Promise<URL>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /http:\/\/\S+/.exec(out)
      if (m) resolve(new URL(m[0]))
    })
    void exited.then(() => reject(new Error(`boxplay serve exited early: ${stderr}`)))
  })
  return {
    url,
    origin: url.origin,
    token: url.searchParams.get('token')!,
    async close() {
      child.kill('SIGTERM')
      await exited
      await rm(home, { recursive: true, force: true })
    },
  }
}

/** The text in the playground's terminal (screen and scrollback). */
export function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const app = document.querySelector('boxplay-app')
    const term = app?.shadowRoot?.querySelector('bp-terminal') as (Element & { text(): string }) | null | undefined
    return term ? term.text() : ''
  })
}

/** Waits until the terminal shows `pattern`; fails with what it shows and any page error. */
export async function waitForTerminal(page: Page, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let text = ''
  while (Date.now() < deadline) {
    text = await terminalText(page)
    if (pattern.test(text)) return text
    const alert = await page.locator('boxplay-app [role=alert]').allTextContents()
    if (alert.length) throw new Error(`the playground shows an error: ${alert.join(' ')}\nterminal: ${text}`)
    await page.waitForTimeout(200)
  }
  throw new Error(`the terminal did not show ${pattern} within ${timeoutMs} ms; it shows:\n${text}`)
}

/** The playground's URL for a deep link, on the served origin (the cookie carries the token). */
export function deepLink(base: string, query: Record<string, string>): string {
  const q = new URLSearchParams(query).toString().replace(/\+/g, '%20')
  return `${base}/?${q}`
}

/**
 * A served playground and one Chromium for a test file. The first page load (which
 * exchanges the token for the cookie and installs the service worker) is done here.
 */
export async function openPlayground(): Promise<{ serve: Serve; browser: Browser }> {
  assertBuilt()
  const serve = await startServe()
  const browser = await launchChromium()
  const { page } = await openPage(browser, serve.url.href)
  await page.close()
  return { serve, browser }
}

export async function closePlayground(p: { serve?: Serve; browser?: Browser }): Promise<void> {
  await p.browser?.close()
  await p.serve?.close()
}

/** Clicks Build in the Build tab and waits for that build; throws with the log if it failed. */
export async function buildInPanel(page: Page, timeoutMs = 240_000): Promise<{ digest: string; log: string }> {
  const panel = page.locator('boxplay-app bp-build-panel')
  await expect.poll(() => panel.locator('#build').isEnabled(), { timeout: 30_000 }).toBe(true)
  const builds = async () => Number((await panel.getAttribute('data-builds')) ?? 0)
  const before = await builds()
  await panel.locator('#build').click()
  await expect.poll(builds, { timeout: timeoutMs, interval: 500 }).toBeGreaterThan(before)
  if (await panel.locator('#build-failure').count()) {
    throw new Error(`the build failed: ${await panel.locator('#build-failure').innerText()}\n${await panel.locator('#build-log').innerText().catch(() => '')}`)
  }
  return { digest: await panel.locator('#build-digest').innerText(), log: await panel.locator('#build-log').innerText() }
}
