// python3 in the bundled debian image, v86, in headless Chromium through `boxplay serve`, as a
// user opens it: a deep link (page.goto → the run's exit, a fresh browser profile each sample),
// then Run again in the same page (click → exit), against the same command as a native
// container Run in the same page. Counts the content requests each run made, so the rows say
// what the second run reused. One serve for all samples: the first one's cold page includes
// serve indexing the debian layer once.
//   node dist/test/bench/v86-debian-page.js   (or `npm run bench -- v86-debian-page`; REPEATS=N)

import { fileURLToPath } from 'node:url'
import { launchChromium, openPage } from '../browser/harness.js'
import { deepLink, startServe, terminalText } from '../e2e/playground.js'
import { type AnyRow, type BenchResult, median, round } from './framework.js'

const CMD = "python3 -c 'print(42)'"

/** The runtime logs one line per finished run (web/runtimes/v86/runtime.ts): "python3 ran in tree 0, load 3, restore 400, …". */
const RAN = /python3 ran in (.*) ms/

/** Resolves when the page has logged `n` finished python3 runs; the wall clock (ms) then. */
function ranTimes(page: import('playwright-core').Page): { wait(n: number): Promise<{ at: number; phases: string }> } {
  const done: { at: number; phases: string }[] = []
  const waiters: (() => void)[] = []
  page.on('console', (m) => {
    const match = RAN.exec(m.text())
    if (!match) return
    done.push({ at: performance.now(), phases: match[1]! })
    for (const w of waiters.splice(0)) w()
  })
  return {
    async wait(n) {
      const deadline = performance.now() + 180_000
      while (done.length < n) {
        if (performance.now() > deadline) throw new Error(`python3 in v86 debian did not finish run ${n} in the page; terminal:\n${await terminalText(page)}`)
        await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 500)))
      }
      return done[n - 1]!
    },
  }
}

export interface PageSample {
  /** page.goto (the deep link) → the first run's exit. */
  coldMs: number
  /** Run clicked → the second run's exit. */
  secondMs: number
  /** Content requests (single or batched) of each run. */
  coldContents: number
  secondContents: number
  /** The runtime's phases of each run (load, restore, init, command). */
  coldPhases: string
  secondPhases: string
  /** The same command as a native container through the same page and server (Run → exit), its second run. */
  nativeMs: number
}

/** Run clicked → the terminal shows 42 and the exit; the terminal is cleared first, so wait for that too. */
async function runAgainMs(page: import('playwright-core').Page): Promise<number> {
  const t0 = performance.now()
  await page.locator('boxplay-app #run').click()
  // Function form: the playground's CSP refuses evaluating strings.
  const shows = (exited: boolean) => {
    const app = document.querySelector('boxplay-app')
    const term = app?.shadowRoot?.querySelector('bp-terminal') as (Element & { text(): string }) | null | undefined
    const text = term ? term.text() : ''
    return exited ? /^42$[\s\S]*\[exited with code 0\]/m.test(text) : !text.includes('[exited')
  }
  await page.waitForFunction(shows, false, { polling: 'raf', timeout: 60_000 })
  await page.waitForFunction(shows, true, { polling: 'raf', timeout: 120_000 })
  return performance.now() - t0
}

export async function pageSamples(repeats: number): Promise<PageSample[]> {
  const serve = await startServe()
  const out: PageSample[] = []
  try {
    for (let i = 0; i < repeats; i++) {
      const browser = await launchChromium() // a fresh profile: nothing cached from the last sample
      try {
        const { page } = await openPage(browser, serve.url.href) // the token becomes a cookie
        let contents = 0
        page.on('request', (r) => {
          if (!/^\/api\/contents?\b/.test(new URL(r.url()).pathname)) return
          contents++
          if (process.env.BOXPLAY_BENCH_VERBOSE) console.error(`request: ${r.url().slice(0, 140)}`)
        })
        const runs = ranTimes(page)
        const t0 = performance.now()
        await page.goto(deepLink(serve.origin, { image: 'debian', runtime: 'v86', cmd: CMD }))
        const first = await runs.wait(1)
        const coldContents = contents
        contents = 0
        await page.waitForTimeout(300) // the page settles (the Run button comes back)
        const t1 = performance.now()
        await page.locator('boxplay-app #run').click()
        const second = await runs.wait(2)
        await page.locator('boxplay-app bp-runtime-switch label[data-runtime=native]').click()
        await page.waitForTimeout(300)
        await runAgainMs(page) // the first native run unpacks the image's layers
        await page.waitForTimeout(300)
        const nativeMs = await runAgainMs(page)
        out.push({
          coldMs: round(first.at - t0, 1),
          secondMs: round(second.at - t1, 1),
          coldContents,
          secondContents: contents,
          coldPhases: first.phases,
          secondPhases: second.phases,
          nativeMs: round(nativeMs, 1),
        })
        await page.close()
      } finally {
        await browser.close()
      }
    }
  } finally {
    await serve.close()
  }
  return out
}

export async function benchV86DebianPage(opts: { repeats?: number } = {}): Promise<AnyRow[]> {
  const s = await pageSamples(opts.repeats ?? 3)
  const cold = s.map((x) => x.coldMs)
  const second = s.map((x) => x.secondMs)
  const native = s.map((x) => x.nativeMs)
  const against = (name: string, mine: number[], note: string): BenchResult => {
    const b = median(mine)
    const a = median(native)
    return { name, unit: 'ms', boxplay: round(b, 1), anchor: round(a, 1), anchorName: 'the same command, native container, Run in the same page', ratio: round(b / Math.max(a, 1), 2), samples: { boxplay: mine, anchor: native }, note }
  }
  return [
    // The first sample's cold page includes serve indexing the debian layer once (~2 s idle).
    against(`python3 in debian, v86, Chromium: deep link → exit (cold page, through serve)`, cold, 'target ≤ 3000 ms'),
    against(`python3 in debian, v86, Chromium: Run again in the same page → exit`, second, 'target ≤ 1000 ms'),
    { name: `… content requests of the cold page's run`, value: median(s.map((x) => x.coldContents)), unit: 'requests', samples: s.map((x) => x.coldContents) },
    { name: `… content requests of the second run`, value: median(s.map((x) => x.secondContents)), unit: 'requests', target: '0', samples: s.map((x) => x.secondContents) },
  ]
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const x of await pageSamples(Number(process.env.REPEATS ?? 3))) process.stdout.write(JSON.stringify(x) + '\n')
}
