// Published ports under load: a busybox httpd serving a 1 KB file, reached through
//   boxplay run --runtime native -p 127.0.0.1:PORT:80     (the proxy in the container's netns)
//   podman run -d -p 127.0.0.1:PORT:80                     (Debian's podman 4.3: CNI bridge + portmap DNAT)
// with one load generator (Node, a new connection per request: busybox httpd closes each one):
// requests per second with CONCURRENCY clients, and the latency of one GET at a time. Plus what
// joining a network costs a run: `boxplay run busybox true` with --network bridge vs none.
// podman runs in a private mount namespace without /sys/fs/cgroup/unified (crun refuses the
// hybrid layout, see cli-start.ts), and is stopped inside that same namespace, so that it can
// tear its network namespace and DNAT rules down.
//   npm run bench -- net-http

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { packageRoot } from '../../server/native/paths.js'
import { ensurePackages } from '../../server/setup/system-packages.js'
import { compare, formatTable, normalise, type AnyRow } from './framework.js'
import { freePort } from '../helpers/registry.js'

const SECONDS = Number(process.env.BOXPLAY_BENCH_HTTP_SECONDS ?? 2)
const CONCURRENCY = 8
const LATENCY_REQUESTS = 100
const ROUNDS = 5
const PODMAN_IMAGE = 'localhost/boxplay-bench-busybox:latest'
const SERVE = 'mkdir -p /w && head -c 1024 /dev/zero | tr "\\0" x > /w/index.html && exec httpd -f -p 80 -h /w'

function getOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let n = 0
      res.on('data', (d: Buffer) => (n += d.length))
      res.on('end', () => (res.statusCode === 200 && n === 1024 ? resolve(n) : reject(new Error(`GET / gave ${res.statusCode} with ${n} bytes`))))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function waitUp(port: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      await getOnce(port)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  throw new Error(`nothing answered on 127.0.0.1:${port}`)
}

/** Requests per second over SECONDS with CONCURRENCY clients looping. */
async function throughput(port: number): Promise<number> {
  const end = performance.now() + SECONDS * 1000
  let done = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await getOnce(port)
        done++
      }
    }),
  )
  return done / ((performance.now() - start) / 1000)
}

/** Milliseconds per GET, one at a time. */
async function latencies(port: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < LATENCY_REQUESTS; i++) {
    const t = performance.now()
    await getOnce(port)
    out.push(performance.now() - t)
  }
  return out
}

interface Server {
  port: number
  stop(): Promise<void>
}

async function startBoxplay(home: string): Promise<Server> {
  const cli = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
  const port = await freePort()
  const child = spawn(process.execPath, [cli, 'run', '--runtime', 'native', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', SERVE], {
    env: { ...process.env, BOXPLAY_HOME: home },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  return { port, stop: () => stopChild(child) }
}

async function startPodman(home: string, work: string): Promise<Server> {
  ensurePackages(['podman', 'skopeo'], (m) => process.stderr.write(`bench net-http: ${m}\n`))
  const name = `boxplay-bench-http-${process.pid}`
  const port = await freePort()
  const archive = join(work, 'busybox.tar')
  execFileSync('skopeo', ['copy', '-q', `oci:${home}:busybox:latest`, `oci-archive:${archive}:${PODMAN_IMAGE.replace(/^localhost\//, '')}`])
  execFileSync('podman', ['load', '-q', '-i', archive], { stdio: 'ignore' })
  // Start, say "up", wait for a line on stdin, remove: all in one mount namespace.
  const script = [
    'umount /sys/fs/cgroup/unified 2>/dev/null',
    `podman run -d --name ${name} --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -p 127.0.0.1:${port}:80 ${PODMAN_IMAGE} sh -c '${SERVE}' >/dev/null || exit 1`,
    'echo up',
    'read line',
    `podman rm -f -t 0 ${name} >/dev/null`,
  ].join('\n')
  const shell = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: shell.stdout! })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done || first.value !== 'up') throw new Error('podman run -d -p did not start the container')
  return {
    port,
    stop: async () => {
      shell.stdin!.end('\n')
      await new Promise((r) => shell.once('close', r))
      spawnSync('podman', ['rmi', '-f', PODMAN_IMAGE], { stdio: 'ignore' })
    },
  }
}

interface Measured {
  rps: number[]
  ms: number[]
}

/** Both servers up at once, rounds interleaved, so a burst of load elsewhere hits both. */
async function measureBoth(a: Server, b: Server): Promise<[Measured, Measured]> {
  await waitUp(a.port)
  await waitUp(b.port)
  const out: [Measured, Measured] = [{ rps: [], ms: [] }, { rps: [], ms: [] }]
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, s] of [a, b].entries()) {
      out[i]!.rps.push(await throughput(s.port))
      out[i]!.ms.push(...(await latencies(s.port)))
    }
  }
  return out
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('close', () => resolve())
    child.kill('SIGKILL')
  })
}

/** `boxplay run busybox true` as a process, with and without joining the default bridge. */
function networkCost(home: string): { none: number[]; bridge: number[] } {
  const cli = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
  const env = { ...process.env, BOXPLAY_HOME: home }
  const once = (extra: string[]) => {
    const t = performance.now()
    const res = spawnSync(process.execPath, [cli, 'run', '--runtime', 'native', ...extra, 'busybox', 'true'], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    if (res.status !== 0) throw new Error(`boxplay run ${extra.join(' ')} busybox true failed: ${res.stderr}`)
    return performance.now() - t
  }
  once(['--network', 'bridge']) // makes the default bridge: not what is measured
  const none: number[] = []
  const bridge: number[] = []
  for (let i = 0; i < 20; i++) {
    none.push(once([]))
    bridge.push(once(['--network', 'bridge']))
  }
  return { none, bridge }
}

export async function benchNetHttp(): Promise<AnyRow[]> {
  const home = mkdtempSync(join(tmpdir(), 'boxplay-bench-http-'))
  const work = mkdtempSync(join(tmpdir(), 'boxplay-bench-podman-http-'))
  const cli = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
  try {
    // Seeds the store and unpacks busybox before anything is timed.
    execFileSync(process.execPath, [cli, 'run', '--runtime', 'native', 'busybox', 'true'], { env: { ...process.env, BOXPLAY_HOME: home } })
    const servers: Server[] = []
    let boxplay: Measured
    let podman: Measured
    try {
      servers.push(await startBoxplay(home))
      servers.push(await startPodman(home, work))
      ;[boxplay, podman] = await measureBoth(servers[0]!, servers[1]!)
    } finally {
      for (const s of servers) await s.stop()
    }
    const cost = networkCost(home)
    // The default bridge made above is this bench's: removed with its (empty) record.
    spawnSync(process.execPath, [cli, 'network', 'rm', 'bridge'], { stdio: 'ignore' })
    return [
      compare(`HTTP 1 KB GET via a published port, ${CONCURRENCY} clients: boxplay run -p`, 'req/s', boxplay.rps, 'podman run -p', podman.rps, 'goal ≥ 1.0× podman'),
      compare('HTTP 1 KB GET via a published port, one at a time: boxplay run -p', 'ms', boxplay.ms, 'podman run -p', podman.ms),
      compare('boxplay run --runtime native busybox true: --network bridge', 'ms', cost.bridge, 'no --network (lo only)', cost.none, 'what joining a network costs a run'),
    ]
  } finally {
    rmSync(home, { recursive: true, force: true })
    rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await benchNetHttp()
  process.stdout.write(formatTable(rows.map(normalise)))
}
