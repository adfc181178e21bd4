// Native start-to-exit of `busybox true`, side by side on the same rootfs:
//   - boxplay through the TypeScript API (what the server does per run),
//   - boxplay through the CLI (`boxplay run --runtime native busybox -- true`, a fresh Node),
//   - `runc run` and `crun run` (create, start, exit, delete) with `runc spec`'s defaults.
// crun 1.8 refuses the hybrid cgroup layout of these machines, so both OCI runtimes run in a
// private mount namespace with /sys/fs/cgroup/unified unmounted (plain v1 then).
//   node dist/test/bench/native-start.js      (or through test/bench/main.ts when it lists it)

import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NativeRuntime } from '../../server/native/index.js'
import { packageRoot } from '../../server/native/paths.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { RunImage } from '../../web/runtimes/runtime.js'
import { busyboxLayerBlob } from '../native/fixture.js'
import { compare, formatTable, normalise, type AnyRow } from './framework.js'

const RUNS = Number(process.env.BOXPLAY_BENCH_RUNS ?? 30)


/** busybox unpacked once under .cache/bench (the native core shifts its owners on first use). */
function rootfs(): string {
  const dir = join(packageRoot(), '.cache', 'bench', 'native-busybox')
  if (!existsSync(dir)) {
    const tmp = `${dir}.tmp-${process.pid}`
    mkdirSync(tmp, { recursive: true })
    execFileSync('tar', ['-xzf', busyboxLayerBlob(), '-C', tmp, '--numeric-owner'])
    renameSync(tmp, dir)
  }
  return dir
}

async function apiSamples(dir: string): Promise<number[]> {
  const runtime = new NativeRuntime({ layerDirs: async () => [dir] })
  const image: RunImage = {
    name: 'busybox',
    digest: 'sha256:' + '0'.repeat(64),
    platform: { os: 'linux', architecture: '386' },
    config: { Cmd: ['sh'] },
    layers: [],
    blob: async () => new Uint8Array(),
  }
  const samples: number[] = []
  for (let i = 0; i < RUNS + 3; i++) {
    const t = performance.now()
    const { status } = await collectOutput(await runtime.start({ image, cmd: ['true'] }))
    const ms = performance.now() - t
    if (status.code !== 0) throw new Error(`busybox true failed: ${JSON.stringify(status)}`)
    if (i >= 3) samples.push(ms)
  }
  return samples
}

function cliSamples(): number[] {
  const cli = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
  const home = mkdtempSync(join(tmpdir(), 'boxplay-bench-home-'))
  const samples: number[] = []
  try {
    for (let i = 0; i < Math.min(RUNS, 10) + 1; i++) {
      const t = performance.now()
      const res = spawnSync(process.execPath, [cli, 'run', '--runtime', 'native', 'busybox', '--', 'true'], { env: { ...process.env, BOXPLAY_HOME: home } })
      const ms = performance.now() - t
      if (res.status !== 0) throw new Error(`boxplay run failed: ${res.stderr}`)
      if (i >= 1) samples.push(ms) // the first run also seeds the store and unpacks the layer
    }
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
  return samples
}

/** runc and crun in one private mount namespace, each run timed by the shell around it. */
function ociSamples(dir: string): { runc: number[]; crun: number[] } {
  const work = mkdtempSync(join(tmpdir(), 'boxplay-bench-oci-'))
  try {
    execFileSync('runc', ['spec'], { cwd: work })
    const configPath = join(work, 'config.json')
    const config = JSON.parse(execFileSync('cat', [configPath], { encoding: 'utf8' })) as {
      root: { path: string; readonly: boolean }
      process: { args: string[]; terminal: boolean }
    }
    config.root = { path: dir, readonly: true }
    config.process.args = ['/bin/true']
    config.process.terminal = false
    writeFileSync(configPath, JSON.stringify(config))
    const loop = (tool: string) =>
      `for i in $(seq 0 ${RUNS + 2}); do s=$(date +%s%N); ${tool} --root ${work}/${tool}-state run -b ${work} ${tool}-$i >/dev/null || exit 1; e=$(date +%s%N); echo ${tool} $(( (e - s) / 1000 )); done`
    const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `umount /sys/fs/cgroup/unified 2>/dev/null; ${loop('crun')}; ${loop('runc')}`], {
      encoding: 'utf8',
    })
    const pick = (tool: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith(`${tool} `))
        .map((l) => Number(l.split(' ')[1]) / 1000)
        .slice(3)
    return { runc: pick('runc'), crun: pick('crun') }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

export async function nativeStartBench(): Promise<AnyRow[]> {
  const dir = rootfs()
  const api = await apiSamples(dir)
  const oci = ociSamples(dir)
  const cli = cliSamples()
  const what = 'native start→exit, busybox true'
  return [
    compare(`${what}: TypeScript API`, 'ms', api, 'crun run', oci.crun, 'target ≤ crun'),
    compare(`${what}: TypeScript API`, 'ms', api, 'runc run', oci.runc, 'target well below runc'),
    compare(`${what}: the boxplay CLI (a fresh node)`, 'ms', cli, 'crun run', oci.crun, 'a process start each, like the CLIs'),
  ]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await nativeStartBench()
  process.stdout.write(formatTable(rows.map(normalise)))
}
