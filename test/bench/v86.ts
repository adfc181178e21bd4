// v86 benchmarks: process start (Node) or navigation start (Chromium) to the command's first
// output, cold and from the saved state; and a fixed CPU workload (sha256 of 16 MiB with the
// image's own busybox) in v86 against the same i386 binary run natively, as a ratio.
//   node dist/test/bench/v86.js      (or through test/bench/main.ts when it lists it)

import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { buildRootFs, resolveImage } from '../../web/oci/image.js'
import { readFile as readNode } from '../../web/oci/rootfs.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { V86Runtime } from '../../web/runtimes/v86/runtime.js'
import { nodeV86Assets } from '../../server/v86/node-assets.js'
import { bundledImagesDir } from '../../server/store/paths.js'
import { layoutSource } from '../v86/helpers-layout.js'
import { startV86Page } from '../v86/browser/harness.js'
import type { AnyRow, BenchResult } from './framework.js'

export interface BenchRow {
  name: string
  value: number
  unit: string
  target?: string
  samples?: number[]
}

const here = dirname(fileURLToPath(import.meta.url))

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const round = (x: number) => Math.round(x * 10) / 10

/** Spawns the child and times spawn → first stdout byte. */
function firstOutputMs(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'v86-child.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const t0 = performance.now()
    let first: number | undefined
    let err = ''
    child.stdout.once('data', () => (first = performance.now() - t0))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('exit', (code) => (code === 0 && first !== undefined ? resolve(first) : reject(new Error(`v86 bench child failed (${code}): ${err}`))))
  })
}

async function nodeStartup(repeats: number): Promise<BenchRow[]> {
  const cache = mkdtempSync(join(tmpdir(), 'boxplay-bench-v86-'))
  try {
    const cold: number[] = []
    const warm: number[] = []
    const warmDefaults: number[] = []
    for (let i = 0; i < repeats; i++) cold.push(await firstOutputMs(['--cold', '--cache', cache]))
    for (let i = 0; i < repeats; i++) {
      warm.push(await firstOutputMs(['--cache', cache]))
      warmDefaults.push(await firstOutputMs(['--cache', cache, '--v8-defaults']))
    }
    return [
      { name: 'v86 node: process start → first output, cold boot', value: round(median(cold)), unit: 'ms', target: '≤ 1500', samples: cold.map(round) },
      { name: 'v86 node: process start → first output, saved state', value: round(median(warm)), unit: 'ms', target: '≤ 300', samples: warm.map(round) },
      { name: 'v86 node: … saved state, V8 default tiering', value: round(median(warmDefaults)), unit: 'ms', samples: warmDefaults.map(round) },
    ]
  } finally {
    rmSync(cache, { recursive: true, force: true })
  }
}

async function chromiumStartup(repeats: number): Promise<BenchRow[]> {
  const page = await startV86Page()
  const profile = mkdtempSync(join(tmpdir(), 'boxplay-bench-chromium-'))
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const once = async (query: string): Promise<number> => {
    const tab = await browser.newPage()
    try {
      await tab.goto(`${page.url}?${query}&cmd=${encodeURIComponent('["echo","ready"]')}`)
      await tab.waitForFunction(() => window.boxplayResult !== undefined || window.boxplayError !== undefined, undefined, { timeout: 90_000 })
      const error = await tab.evaluate(() => window.boxplayError)
      if (error) throw new Error(error)
      return (await tab.evaluate(() => window.boxplayResult!.firstOutputMs))
    } finally {
      await tab.close()
    }
  }
  try {
    const cold: number[] = []
    const warm: number[] = []
    for (let i = 0; i < repeats; i++) cold.push(await once('cold=1'))
    for (let i = 0; i < repeats; i++) warm.push(await once('restore=1'))
    return [
      { name: 'v86 chromium: navigation start → first output, cold boot', value: round(median(cold)), unit: 'ms', target: '≤ 2500', samples: cold.map(round) },
      { name: 'v86 chromium: navigation start → first output, saved state', value: round(median(warm)), unit: 'ms', target: '≤ 600', samples: warm.map(round) },
    ]
  } finally {
    await browser.close()
    await page.close()
    rmSync(profile, { recursive: true, force: true })
  }
}

const WORKLOAD = (bb: string) => `${bb} dd if=/dev/zero bs=1048576 count=16 2>/dev/null | ${bb} sha256sum`

/** Seconds from busybox `time`'s "real 0m 1.23s" line. */
function realSeconds(stderr: string): number {
  const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(stderr)
  if (!m) throw new Error(`no timing in: ${stderr}`)
  return Number(m[1]) * 60 + Number(m[2])
}

async function cpuRatio(repeats: number): Promise<BenchResult[]> {
  const image = await resolveImage(layoutSource(bundledImagesDir()), 'busybox', { os: 'linux', architecture: '386' })
  // Native: the image's own i386 busybox, run directly on the host kernel.
  const tmp = mkdtempSync(join(tmpdir(), 'boxplay-bench-bb-'))
  const native: number[] = []
  const inVm: number[] = []
  try {
    const fs = await buildRootFs(image)
    const node = fs.get('/bin/busybox')
    if (node.kind !== 'file') throw new Error('busybox image has no /bin/busybox file')
    const bb = join(tmp, 'busybox')
    writeFileSync(bb, await readNode(node))
    chmodSync(bb, 0o755)
    for (let i = 0; i < repeats; i++) {
      const r = spawnSync(bb, ['time', bb, 'sh', '-c', WORKLOAD(bb)], { encoding: 'utf8' })
      native.push(realSeconds(r.stderr))
    }
    const runtime = new V86Runtime({ assets: nodeV86Assets({ cacheDir: join(tmp, 'states') }) })
    for (let i = 0; i < repeats; i++) {
      const run = await runtime.start({ image, cmd: ['time', 'sh', '-c', WORKLOAD('/bin/busybox')] })
      const { stderr, status } = await collectOutput(run)
      if (status.code !== 0) throw new Error(`v86 workload failed: ${stderr}`)
      inVm.push(realSeconds(stderr))
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  const n = median(native) * 1000
  const v = median(inVm) * 1000
  const row: BenchResult = {
    name: 'v86 cpu workload: sha256 of 16 MiB with the image\'s busybox (i386)',
    unit: 'ms',
    boxplay: round(v),
    anchor: round(n),
    anchorName: 'the same binary run natively',
    ratio: round(v / Math.max(n, 1)),
    samples: { boxplay: inVm.map((x) => round(x * 1000)), anchor: native.map((x) => round(x * 1000)) },
  }
  return [row]
}

export async function benchV86(opts: { repeats?: number } = {}): Promise<AnyRow[]> {
  const repeats = opts.repeats ?? 5
  return [...(await nodeStartup(repeats)), ...(await chromiumStartup(repeats)), ...(await cpuRatio(3))]
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await benchV86()
  for (const r of rows) {
    if ('boxplay' in r) process.stdout.write(`${r.name.padEnd(68)} ${String(r.boxplay).padStart(8)} ${r.unit}  vs ${r.anchor} ${r.unit} (${r.anchorName}): ×${r.ratio}\n`)
    else process.stdout.write(`${r.name.padEnd(68)} ${String(r.value).padStart(8)} ${r.unit}${r.target ? `  (target ${r.target})` : ''}${r.samples ? `  [${r.samples.join(', ')}]` : ''}\n`)
  }
}
