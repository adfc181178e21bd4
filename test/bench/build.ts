// `boxplay build` of a 7-step Dockerfile with two RUNs, side by side with Debian's
// `podman build` (buildah inside; `--runtime runc`, as crun refuses this host's cgroups):
//   - cold: nothing cached (boxplay --no-cache; podman --no-cache), the base image stored;
//   - cached: every step from the cache;
//   - v86 cold: the same build with RUN in the VM.
// Each sample is a fresh CLI process, as a user types it. podman is installed here, in the
// bench's setup, when missing (the tests never need it).

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packageRoot } from '../../server/native/paths.js'
import { compare, skipped, type AnyRow } from './framework.js'

const RUNS = Number(process.env.BOXPLAY_BENCH_RUNS ?? 5)
const DOCKERFILE = (base: string) =>
  [
    `FROM ${base}`,
    'ENV APP=/app',
    'WORKDIR /app',
    'COPY hello.txt ./',
    'RUN echo built > /app/built && mkdir -p /var/data',
    'RUN cat /app/hello.txt /app/built > /app/all',
    'CMD ["cat", "/app/all"]',
    '',
  ].join('\n')

function timed(cmd: string, args: string[]): number {
  const t = performance.now()
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 8).join(' ')} failed: ${r.stderr.slice(-400)}`)
  return ms
}

function ensurePodman(): string | undefined {
  if (spawnSync('podman', ['--version']).status === 0) return undefined
  const r = spawnSync('apt-get', ['install', '-y', '-q', 'podman'], { encoding: 'utf8', timeout: 600_000 })
  return r.status === 0 ? undefined : `podman is not installed and apt-get install podman failed: ${r.stderr.slice(-200)}`
}

export async function benchBuild(): Promise<AnyRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'boxplay-bench-build-'))
  try {
    writeFileSync(join(dir, 'hello.txt'), 'hello\n')
    writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE('busybox'))
    writeFileSync(join(dir, 'Dockerfile.podman'), DOCKERFILE('localhost/busybox'))
    const cli = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
    const home = join(dir, 'home')
    const boxplay = (...args: string[]) => timed(process.execPath, [cli, '--home', home, 'build', '-q', ...args, dir])
    boxplay() // seeds the store and warms the page cache
    const cold = Array.from({ length: RUNS }, () => boxplay('--no-cache'))
    const cached = Array.from({ length: RUNS }, () => boxplay())
    const v86 = Array.from({ length: RUNS }, () => boxplay('--no-cache', '--runtime', 'v86'))

    const missing = ensurePodman()
    if (missing) return [skipped('build cold (native)', missing)]
    const root = join(dir, 'podman')
    const podman = ['--root', join(root, 'root'), '--runroot', join(root, 'run'), '--runtime', 'runc']
    timed('podman', [...podman, 'pull', '-q', `oci:${join(packageRoot(), 'dist', 'images')}:busybox:latest`])
    const id = spawnSync('podman', [...podman, 'images', '-q'], { encoding: 'utf8' }).stdout.trim().split('\n')[0]!
    timed('podman', [...podman, 'tag', id, 'localhost/busybox:latest'])
    const pbuild = (...args: string[]) => timed('podman', [...podman, 'build', '-q', ...args, '-f', join(dir, 'Dockerfile.podman'), dir])
    pbuild()
    const pcold = Array.from({ length: RUNS }, () => pbuild('--no-cache'))
    const pcached = Array.from({ length: RUNS }, () => pbuild())
    spawnSync('podman', [...podman, 'system', 'reset', '-f'])
    return [
      compare('build cold (native RUN)', 'ms', cold, 'podman --runtime runc build --no-cache', pcold, 'goal ≤ 1.0×'),
      compare('build cached', 'ms', cached, 'podman --runtime runc build', pcached, 'goal ≤ 0.5×'),
      compare('build cold (v86 RUN)', 'ms', v86, 'boxplay build, native RUN', cold, 'goal ≤ 5×'),
    ]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
