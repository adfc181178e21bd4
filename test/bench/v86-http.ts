// HTTP into a v86 guest through a published port: busybox httpd serving a 1 KB file in the
// VM, `-p` style forwarding from 127.0.0.1 (server/v86/publish.ts → web/net host stack →
// the guest's virtio-net). Requests per second with 1 and 4 clients, and the median latency
// of one 1 KB GET (each request is a new TCP connection: busybox httpd closes after each).
//   node dist/test/bench/main.js v86-http

import { request } from 'node:http'
import { Lan } from '../../web/net/lan.js'
import { resolveImage } from '../../web/oci/image.js'
import type { OutputChunk } from '../../web/runtimes/runtime.js'
import { V86Runtime } from '../../web/runtimes/v86/runtime.js'
import { nodeV86Assets } from '../../server/v86/node-assets.js'
import { publishPorts } from '../../server/v86/publish.js'
import { bundledImagesDir } from '../../server/store/paths.js'
import { layoutSource } from '../v86/helpers-layout.js'
import type { AnyRow } from './framework.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let n = 0
      res.on('data', (d: Buffer) => (n += d.length))
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`HTTP ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end()
  })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number) => Math.round(x * 10) / 10

export async function benchV86Http(): Promise<AnyRow[]> {
  // JIT off is what `run -p` does (server/v86/publish.ts); on, for comparison.
  return [...(await benchOnce(false)), ...(await benchOnce(true))]
}

async function benchOnce(jit: boolean): Promise<AnyRow[]> {
  const label = jit ? 'JIT on' : 'JIT off, as run -p'
  const cache = mkdtempSync(join(tmpdir(), 'boxplay-bench-v86-http-'))
  const runtime = new V86Runtime({ assets: nodeV86Assets({ cacheDir: cache }) })
  const image = await resolveImage(layoutSource(bundledImagesDir()), 'busybox', { os: 'linux', architecture: '386' })
  const lan = new Lan()
  const run = await runtime.start(
    {
      image,
      options: { jit },
      cmd: ['sh', '-c', 'mkdir -p /www && head -c 1024 /dev/zero | tr "\\0" x > /www/index.html && httpd -p 80 -h /www && echo READY && sleep 3600'],
    },
    { lan, name: 'web' },
  )
  await new Promise<void>((resolve) => {
    let seen = ''
    run.onOutput((c: OutputChunk) => {
      seen += new TextDecoder().decode(c.data)
      if (seen.includes('READY')) resolve()
    })
  })
  const pub = await publishPorts(lan, run.link!.member.address, [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }])
  const port = pub.bound[0]!.boundPort
  try {
    // Warm up: the first requests page httpd in and get the JIT going (it starts after 1 s).
    const warmEnd = performance.now() + 3000
    while (performance.now() < warmEnd) await get(port)
    const latencies: number[] = []
    for (let i = 0; i < 100; i++) {
      const t = performance.now()
      const n = await get(port)
      latencies.push(performance.now() - t)
      if (n !== 1024) throw new Error(`expected 1024 bytes, got ${n}`)
    }
    const rate = async (clients: number, seconds: number) => {
      let done = 0
      const end = performance.now() + seconds * 1000
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (performance.now() < end) {
            await get(port)
            done++
          }
        }),
      )
      return done / ((performance.now() - t0) / 1000)
    }
    const one = await rate(1, 5)
    const four = await rate(4, 5)
    return [
      { name: `v86 http (${label}): 1 KB GET through -p, 1 client`, value: round(one), unit: 'req/s', target: '≥ 200' },
      { name: `v86 http (${label}): 1 KB GET through -p, 4 clients`, value: round(four), unit: 'req/s', target: '≥ 200' },
      { name: `v86 http (${label}): latency of one 1 KB GET (median of 100)`, value: round(median(latencies)), unit: 'ms' },
    ]
  } finally {
    run.kill('SIGKILL')
    await run.exit
    await pub.close()
    lan.host().close()
    rmSync(cache, { recursive: true, force: true })
  }
}
