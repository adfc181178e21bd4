// The tiny HTTP server (test/wasi/programs/http-server.c) under boxplay's wasi runtime
// (`boxplay run --runtime wasi --tcplisten`, one CLI process) against the same C program
// built natively with gcc -O2, listening itself: requests per second of a 1 KB GET over
// keep-alive connections, and the latency of one such GET, from a small load generator in
// this process (raw sockets, one request in flight per connection); the two servers take turns.
//   node dist/test/bench/main.js wasi-http

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { program, root } from '../wasi/programs.js'
import { compare, type AnyRow } from './framework.js'
import { freePort } from '../helpers/registry.js'

const REQUEST = Buffer.from('GET /bytes/1024 HTTP/1.1\r\nHost: bench\r\n\r\n')
const SAMPLE_MS = 1500

function nativeBuild(): string {
  const src = join(root, 'test/wasi/programs/http-server.c')
  const out = join(root, '.cache/bench/http-server-native')
  mkdirSync(join(root, '.cache/bench'), { recursive: true })
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) execFileSync('gcc', ['-O2', '-o', out, src])
  return out
}

/** Starts a server and resolves once it prints "serving". */
function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('serving\n')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before serving`)))
  })
}

/** `connections` keep-alive clients, each one request at a time, for SAMPLE_MS: requests/s and per-request ms. */
async function load(port: number, connections: number): Promise<{ rps: number; latencies: number[] }> {
  const latencies: number[] = []
  let done = 0
  const until = performance.now() + SAMPLE_MS
  const t0 = performance.now()
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve, reject) => {
          const s = connect(port, '127.0.0.1')
          s.setNoDelay(true)
          let buf: Buffer = Buffer.alloc(0)
          let sentAt = 0
          const send = (): void => {
            sentAt = performance.now()
            s.write(REQUEST)
          }
          s.on('connect', send)
          s.on('error', reject)
          s.on('data', (d: Buffer) => {
            buf = buf.length ? Buffer.concat([buf, d]) : d
            for (;;) {
              const head = buf.indexOf('\r\n\r\n')
              if (head < 0) return
              const length = Number(/Content-Length: (\d+)/.exec(buf.subarray(0, head).toString())?.[1] ?? NaN)
              if (buf.length < head + 4 + length) return
              buf = buf.subarray(head + 4 + length)
              done++
              const now = performance.now()
              latencies.push(now - sentAt)
              if (now >= until) {
                s.end()
                return resolve()
              }
              send()
            }
          })
        }),
    ),
  )
  return { rps: (done / (performance.now() - t0)) * 1000, latencies }
}

interface Figures {
  one: number[]
  eight: number[]
  latency: number[]
}

/** Both servers run at once and take turns, sample by sample, so a shared machine's load swings hit both alike. */
async function measure(servers: { port: number }[], samples: number): Promise<Figures[]> {
  const figures: Figures[] = servers.map(() => ({ one: [], eight: [], latency: [] }))
  for (const s of servers) await load(s.port, 1) // warm up: JIT, connection paths
  for (let i = 0; i < samples; i++) {
    for (const [k, s] of servers.entries()) {
      const a = await load(s.port, 1)
      figures[k]!.one.push(Math.round(a.rps))
      figures[k]!.latency.push(a.latencies.sort((x, y) => x - y)[Math.floor(a.latencies.length / 2)]!)
      figures[k]!.eight.push(Math.round((await load(s.port, 8)).rps))
    }
  }
  return figures
}

export async function benchWasiHttp(samples = 5): Promise<AnyRow[]> {
  const wasm = program('http-server')
  const native = nativeBuild()
  const children: ChildProcess[] = []
  try {
    const wasiPort = await freePort()
    const wasiChild = spawn(process.execPath, [join(root, 'dist/server/cli/main.js'), 'run', '--runtime', 'wasi', '--tcplisten', `127.0.0.1:${wasiPort}`, wasm], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(wasiChild)
    const nativePort = await freePort()
    const nativeChild = spawn(native, [], { env: { PORT: String(nativePort) }, stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(nativeChild)
    await Promise.all([started(wasiChild), started(nativeChild)])
    const [wasi, nat] = (await measure([{ port: wasiPort }, { port: nativePort }], samples)) as [Figures, Figures]
    const anchor = 'the same C server built natively (gcc -O2)'
    return [
      compare('wasi http-server: 1 KB GETs/s, 1 keep-alive connection', 'req/s', wasi.one, anchor, nat.one),
      compare('wasi http-server: 1 KB GETs/s, 8 keep-alive connections', 'req/s', wasi.eight, anchor, nat.eight),
      compare('wasi http-server: latency of one 1 KB GET (median)', 'ms', wasi.latency, anchor, nat.latency),
    ]
  } finally {
    for (const c of children) c.kill('SIGKILL')
  }
}
