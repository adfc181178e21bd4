// The official WASI test suite in headless Chromium: every module of ../shared/wasi-testsuite
// through the browser wasi runtime in module web workers, on one page (wasi-suite.html),
// run as the CLI runs them (bare module, the case's root at "/", exact env, stdin at EOF).

import { relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { buildPages, launchChromium, openPage, removeBuild, root, servePreview, type Browser, type Served } from '../browser/harness.js'
import type { BrowserCase } from '../browser/pages/wasi-suite.js'
import { judge, plainTree, suiteCases, suiteDir } from './testsuite.js'

const cases = suiteCases()
let outDir: string
let served: Served
let browser: Browser
let page: Page
let errors: string[]

beforeAll(async () => {
  outDir = await buildPages({ 'wasi-testsuite': relative(root, suiteDir()) })
  served = await servePreview(outDir)
  browser = await launchChromium()
  ;({ page, errors } = await openPage(browser, `${served.url}/test/browser/pages/wasi-suite.html`))
  await page.waitForSelector('#status[data-ready]')
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
  if (outDir) removeBuild(outDir)
})

describe('wasi-testsuite in Chromium', () => {
  it('passes all 72 tests through the browser runtime in web workers', async () => {
    const sent: BrowserCase[] = cases.map((c) => ({
      name: c.name,
      wasmUrl: `/wasi-testsuite/${relative(suiteDir(), c.wasmPath)}`,
      args: c.args,
      env: c.env,
      ...(c.root ? { root: plainTree(c.root) } : {}),
    }))
    const results = await page.evaluate(([s]) => window.boxplayWasiSuite.run(s, 2), [sent] as const)
    const failing = results
      .map((r, i) => ({ name: r.name, reason: judge(cases[i]!, r) }))
      .filter((f) => f.reason !== undefined)
      .map((f) => `${f.name}: ${f.reason}`)
    expect(failing, failing.join('\n')).toEqual([])
    expect(results.length).toBe(72)
    expect(errors, errors.join('\n')).toEqual([])
  }, 240_000)
})
