// Shared by the network tests: a busybox httpd container, waiting for a published port, and
// plain HTTP GETs to 127.0.0.1 (nothing in these tests leaves the machine).

import { request } from 'node:http'
import type { NativeRuntime } from '../../server/native/index.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { NetworkSpec, Run, RunImage } from '../../web/runtimes/runtime.js'

/** httpd serving `body` as /index.html on port 80, in the foreground (PID 1's child). */
export function httpdCommand(body: string): string[] {
  return ['sh', '-c', `mkdir -p /www && echo '${body}' > /www/index.html && exec httpd -f -p 80 -h /www`]
}

export async function startHttpd(runtime: NativeRuntime, image: RunImage, body: string, network: NetworkSpec, hostname?: string): Promise<Run> {
  const run = await runtime.start({ image, cmd: httpdCommand(body), network, ...(hostname ? { hostname } : {}) })
  return run
}

/** Runs a command to completion in a container on `network`; its output and status. */
export async function runIn(runtime: NativeRuntime, image: RunImage, cmd: string, network?: NetworkSpec): Promise<Awaited<ReturnType<typeof collectOutput>>> {
  const run = await runtime.start({ image, cmd: ['sh', '-c', cmd], ...(network ? { network } : {}) })
  run.closeStdin()
  return collectOutput(run)
}

export function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** GETs until the server answers (the container's httpd starts after the run does). */
export async function getWhenUp(url: string, tries = 200): Promise<{ status: number; body: string }> {
  let last: unknown
  for (let i = 0; i < tries; i++) {
    try {
      return await get(url)
    } catch (err) {
      last = err
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  throw new Error(`${url} never answered: ${String(last)}`)
}

/** The host port a run got for its (first) published port, from its facts. */
export async function publishedPort(run: Run): Promise<number> {
  for (let i = 0; i < 400 && run.facts.ports === undefined; i++) await new Promise((r) => setTimeout(r, 10))
  const m = /:(\d+)->/.exec(String(run.facts.ports ?? ''))
  if (!m) throw new Error(`the run reports no published port (facts: ${JSON.stringify(run.facts)})`)
  return Number(m[1])
}

export async function stop(run: Run): Promise<void> {
  run.kill('SIGKILL')
  await run.exit
}
