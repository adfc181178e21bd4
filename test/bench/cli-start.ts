// The CLI as a process, the way a user types it, against podman (Debian's 4.3, with crun):
//   boxplay run --runtime native busybox true     vs     podman run --rm --net=none busybox true
// Both get the same busybox image: boxplay's store copy is exported with skopeo and loaded
// into podman. podman is installed here, for this bench only (not by `npm test`).
// Two adjustments podman needs on these machines, both outside the timed command's work:
//   - crun refuses the hybrid cgroup layout, so podman runs in a private mount namespace with
//     /sys/fs/cgroup/unified unmounted (as native-start.ts does for crun);
//   - its default rlimits (nofile 1048576, nproc) exceed the sandbox's hard limits, so
//     `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024`.
// A plain `node -e 0` row says how much of boxplay's figure is node starting at all.
//   node dist/test/bench/cli-start.js      (or: npm run bench -- cli-start)

import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageRoot } from '../../server/native/paths.js'
import { ensurePackages } from '../../server/setup/system-packages.js'
import { compare, formatTable, normalise, type AnyRow } from './framework.js'

const RUNS = Number(process.env.BOXPLAY_BENCH_RUNS ?? 30)
const PODMAN_IMAGE = 'localhost/boxplay-bench-busybox:latest'

function timedProcess(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t = performance.now()
  const res = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  const ms = performance.now() - t
  if (res.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${res.status}): ${res.stderr}`)
  return ms
}

function boxplaySamples(home: string): { boxplay: number[]; node: number[] } {
  const cli = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
  const env = { ...process.env, BOXPLAY_HOME: home }
  // The first run seeds the store and unpacks the layer: not what this bench is about.
  timedProcess(process.execPath, [cli, 'run', '--runtime', 'native', 'busybox', '--', 'true'], env)
  const boxplay: number[] = []
  const node: number[] = []
  // Interleaved, so a burst of load on this shared machine lands on both.
  for (let i = 0; i < RUNS; i++) {
    boxplay.push(timedProcess(process.execPath, [cli, 'run', '--runtime', 'native', 'busybox', '--', 'true'], env))
    node.push(timedProcess(process.execPath, ['-e', '0'], env))
  }
  return { boxplay, node }
}

function podmanSamples(home: string): number[] {
  ensurePackages(['podman', 'skopeo'], (m) => process.stderr.write(`bench cli-start: ${m}\n`))
  const work = mkdtempSync(join(tmpdir(), 'boxplay-bench-podman-'))
  try {
    const archive = join(work, 'busybox.tar')
    execFileSync('skopeo', ['copy', '-q', `oci:${home}:busybox:latest`, `oci-archive:${archive}:${PODMAN_IMAGE.replace(/^localhost\//, '')}`])
    execFileSync('podman', ['load', '-q', '-i', archive], { stdio: 'ignore' })
    const run = `podman run --rm --net=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 ${PODMAN_IMAGE} true >/dev/null 2>&1 || exit 1`
    const loop = `for i in $(seq 0 ${RUNS}); do s=$(date +%s%N); ${run}; e=$(date +%s%N); echo $(( (e - s) / 1000 )); done`
    const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `umount /sys/fs/cgroup/unified 2>/dev/null; ${loop}`], { encoding: 'utf8' })
    // The first podman run warms its storage and the image's layer: dropped like boxplay's.
    return out.trim().split('\n').map((l) => Number(l) / 1000).slice(1)
  } finally {
    spawnSync('podman', ['rmi', '-f', PODMAN_IMAGE], { stdio: 'ignore' })
    rmSync(work, { recursive: true, force: true })
  }
}

export async function cliStartBench(): Promise<AnyRow[]> {
  const home = mkdtempSync(join(tmpdir(), 'boxplay-bench-cli-'))
  try {
    const { boxplay, node } = boxplaySamples(home)
    const podman = podmanSamples(home)
    const what = 'CLI start→exit, busybox true'
    return [
      compare(`${what}: boxplay run --runtime native`, 'ms', boxplay, 'podman run --rm --net=none', podman, 'goal ≤ 1.0× podman'),
      compare(`${what}: node -e 0 alone`, 'ms', node, 'podman run --rm --net=none', podman, "node's own start, part of boxplay's figure"),
    ]
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await cliStartBench()
  process.stdout.write(formatTable(rows.map(normalise)))
}
