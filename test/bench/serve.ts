// `boxplay serve` benchmarks:
//   - deep link → the command's output in the terminal, per runtime, in headless Chromium
//     (navigation start to the output on screen, measured in the page);
//   - the server's overhead per native run: `busybox true` through the WebSocket (the remote
//     runtime, as the browser drives it) against the same run through the in-process API;
//   - 20 concurrent native runs through the server (wall time for all of them).
//   node dist/test/bench/serve.js      (or through test/bench/main.ts when it lists it)

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import { NativeRuntime } from '../../server/native/index.js'
import { packageRoot } from '../../server/store/paths.js'
import { Store } from '../../server/store/store.js'
import { RemoteRuntime, type WebSocketConstructor } from '../../web/runtimes/remote/index.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { Runtime, RunImage } from '../../web/runtimes/runtime.js'
import { launchChromium } from '../browser/harness.js'
import { compare, type AnyRow } from './framework.js'
import type { BenchRow } from './v86.js'

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number): number => Math.round(x * 100) / 100

async function timeRuns(runtime: Runtime, image: RunImage, count: number): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < count + 3; i++) {
    const t = performance.now()
    const { status } = await collectOutput(await runtime.start({ image, cmd: ['true'] }))
    if (status.code !== 0) throw new Error(`busybox true failed: ${JSON.stringify(status)}`)
    if (i >= 3) samples.push(performance.now() - t) // the first runs unpack layers and warm caches
  }
  return samples
}

async function deepLinks(server: RunningServer, repeats: number): Promise<BenchRow[]> {
  const browser = await launchChromium()
  const rows: BenchRow[] = []
  try {
    const first = await browser.context.newPage()
    await first.goto(server.url) // the token becomes the cookie
    await first.close()
    const cases: [string, Record<string, string>][] = [
      ['native (busybox)', { image: 'busybox', runtime: 'native', cmd: 'echo bench-marker' }],
      ['v86 (busybox)', { image: 'busybox', runtime: 'v86', cmd: 'echo bench-marker' }],
      ['wasi (lua)', { image: 'lua', runtime: 'wasi', cmd: `-e 'print("bench-marker")'` }],
    ]
    for (const [label, query] of cases) {
      const samples: number[] = []
      for (let i = 0; i < repeats; i++) {
        const page = await browser.context.newPage()
        await page.goto(`${server.origin}/?${new URLSearchParams(query).toString().replace(/\+/g, '%20')}`)
        const handle = await page.waitForFunction(
          () => {
            const term = document.querySelector('boxplay-app')?.shadowRoot?.querySelector('bp-terminal') as (Element & { text(): string }) | null
            return term && /^bench-marker$/m.test(term.text()) ? performance.now() : false
          },
          undefined,
          { polling: 5, timeout: 60_000 },
        )
        samples.push((await handle.jsonValue()) as number)
        await page.close()
      }
      rows.push({ name: `deep link → output in Chromium: ${label}`, value: round(median(samples)), unit: 'ms', samples: samples.map(round) })
    }
  } finally {
    await browser.close()
  }
  return rows
}

export async function benchServe(opts: { repeats?: number; runs?: number } = {}): Promise<AnyRow[]> {
  const repeats = opts.repeats ?? 5
  const runs = opts.runs ?? 20
  const home = mkdtempSync(join(tmpdir(), 'boxplay-bench-serve-'))
  const store = await Store.open({ home })
  const native = new NativeRuntime({ layerDirs: (image) => store.layerDirs(image) })
  const server = await startServer({ port: 0, images: storeImages(store), runtimes: [native], staticDir: join(packageRoot(), 'dist', 'playground'), maxRuns: 64 })
  try {
    const image = await store.runImage('busybox:latest')
    const remote = new RemoteRuntime({ baseUrl: server.origin, token: server.token, WebSocket: WebSocket as unknown as WebSocketConstructor })
    const api = await timeRuns(native, image, runs)
    const ws = await timeRuns(remote, image, runs)
    const rows: AnyRow[] = [
      compare('native busybox true: through boxplay serve (HTTP + WebSocket)', 'ms', ws, 'the in-process API', api),
      { name: 'server overhead per native run', value: round(median(ws) - median(api)), unit: 'ms' },
    ]
    const batches: number[] = []
    for (let b = 0; b < 3; b++) {
      const t = performance.now()
      const results = await Promise.all(Array.from({ length: 20 }, () => remote.start({ image, cmd: ['true'] }).then(collectOutput)))
      batches.push(performance.now() - t)
      if (results.some((r) => r.status.code !== 0)) throw new Error('a concurrent run failed')
    }
    rows.push({ name: '20 concurrent native runs through the server: wall time', value: round(median(batches)), unit: 'ms', samples: batches.map(round) })
    rows.push(...(await deepLinks(server, repeats)))
    return rows
  } finally {
    await server.close()
    rmSync(home, { recursive: true, force: true })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await benchServe()
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`)
}
