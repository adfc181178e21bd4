// v86 with a real distribution image, from the CLI as a user runs it: `boxplay run --runtime
// v86 debian python3 -c 'print(42)'` (process start → exit) against the same command in a
// native container, and `bash -c true` in Debian against busybox `true`, both in v86. Uses the
// bundled `debian` image (dist/images, seeded into a temp store); without it those rows say
// they were skipped and why. The first run of an image indexes its layer (server/v86/
// tree-cache.ts): it is timed on its own row, the medians are of the runs after it.
//   node dist/test/bench/v86-debian.js     (or `npm run bench -- v86-debian`)

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Store } from '../../server/store/store.js'
import { bundledImagesDir, packageRoot } from '../../server/store/paths.js'
import { type BenchResult, median, round } from './framework.js'

const CLI = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')

interface Timed {
  ms: number
  stdout: string
}

/** One `boxplay run`: wall time from spawn to exit, and what it printed. */
function cliRun(home: string, args: string[]): Timed {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [CLI, 'run', ...args], { env: { ...process.env, BOXPLAY_HOME: home }, encoding: 'utf8' })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`boxplay run ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return { ms, stdout: r.stdout }
}

function samples(home: string, args: string[], repeats: number, expect: string): number[] {
  const out: number[] = []
  for (let i = 0; i < repeats; i++) {
    const r = cliRun(home, args)
    if (r.stdout !== expect) throw new Error(`boxplay run ${args.join(' ')} printed ${JSON.stringify(r.stdout)}, not ${JSON.stringify(expect)}`)
    out.push(round(r.ms, 1))
  }
  return out
}

function skipped(name: string, why: string): BenchResult {
  return { name, unit: 'ms', boxplay: null, anchor: null, anchorName: null, ratio: null, note: `skipped: ${why}` }
}

function compare(name: string, mine: number[], anchor: number[] | string, anchorName: string): BenchResult {
  const b = median(mine)
  if (typeof anchor === 'string') return { name, unit: 'ms', boxplay: round(b, 1), anchor: null, anchorName, ratio: null, samples: { boxplay: mine }, note: anchor }
  const a = median(anchor)
  return { name, unit: 'ms', boxplay: round(b, 1), anchor: round(a, 1), anchorName, ratio: round(b / Math.max(a, 1), 2), samples: { boxplay: mine, anchor } }
}

export async function benchV86Debian(opts: { repeats?: number } = {}): Promise<BenchResult[]> {
  const repeats = opts.repeats ?? 5
  const PY = "python3 in debian, CLI: boxplay run --runtime v86 debian python3 -c 'print(42)'"
  const BASH = 'bash -c true in debian, CLI, v86'
  // BOXPLAY_BENCH_HOME / BOXPLAY_BENCH_DEBIAN: measure another store's image (e.g. a Debian
  // rootfs loaded by hand) where the bundled one is not built yet.
  const own = process.env.BOXPLAY_BENCH_HOME
  const name = process.env.BOXPLAY_BENCH_DEBIAN || 'debian'
  const home = own || mkdtempSync(join(tmpdir(), 'boxplay-bench-debian-'))
  try {
    const store = await Store.open({ home, ...(own ? {} : { bundled: bundledImagesDir() }) })
    const has386 = await store.runImage(name, { os: 'linux', architecture: '386' }).then(
      () => true,
      () => false,
    )
    if (!has386) {
      const why = `no ${name} image for linux/386 in the store ${own ? home : `seeded from ${bundledImagesDir()}`}: build it with \`boxplay setup\``
      return [skipped(PY, why), skipped(BASH, why)]
    }
    const py = [name, 'python3', '-c', 'print(42)']
    const first = cliRun(home, ['--runtime', 'v86', ...py])
    const v86 = samples(home, ['--runtime', 'v86', ...py], repeats, '42\n')
    let native: number[] | string
    try {
      samples(home, ['--runtime', 'native', ...py], 1, '42\n') // unpacks the layers once
      native = samples(home, ['--runtime', 'native', ...py], repeats, '42\n')
    } catch (e) {
      native = `no native figure: ${(e as Error).message.split('\n')[0]}`
    }
    const bash = samples(home, ['--runtime', 'v86', name, 'bash', '-c', 'true'], repeats, '')
    samples(home, ['--runtime', 'v86', 'busybox', 'true'], 1, '')
    const busybox = samples(home, ['--runtime', 'v86', 'busybox', 'true'], repeats, '')
    return [
      { name: `${PY}, first run (indexes the layer)`, unit: 'ms', boxplay: round(first.ms, 1), anchor: null, anchorName: null, ratio: null },
      withNote(compare(PY, v86, native, 'the same command, --runtime native'), 'target ≤ 2000 ms'),
      compare(BASH, bash, busybox, 'busybox true, CLI, v86'),
    ]
  } finally {
    if (!own) rmSync(home, { recursive: true, force: true })
  }
}

function withNote(row: BenchResult, note: string): BenchResult {
  return { ...row, note: row.note ? `${row.note}; ${note}` : note }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchV86Debian()) {
    process.stdout.write(`${r.name.padEnd(90)} ${String(r.boxplay).padStart(8)} ${r.unit}  vs ${r.anchor ?? '-'} (${r.anchorName ?? '-'}) ×${r.ratio ?? '-'}${r.note ? `  ${r.note}` : ''}\n`)
  }
}
