// Native containers on user networks, as root: a busybox httpd answers on a published port,
// a second container fetches it by name and by alias over the network, --network none has
// only lo, and a busy host port or an unknown network fails the run clearly. Every network
// is a bridge this test makes in its own state dir; every request goes to 127.0.0.1 or to
// addresses on that bridge.

import { readFileSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNetwork, removeNetwork } from '../../server/net/networks.js'
import type { NativeRuntime } from '../../server/native/index.js'
import type { RunImage } from '../../web/runtimes/runtime.js'
import { image, tempDir, unpackBusybox } from '../native/fixture.js'
import { getWhenUp, publishedPort, runIn, startHttpd, stop } from './helpers.js'

const root = process.getuid?.() === 0

function childrenOf(parent: number, comm: string): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent && stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === comm) out.push(Number(name))
    } catch {
      // gone while we looked
    }
  }
  return out
}
let work: string
let stateRoot: string
let runtime: NativeRuntime
let img: RunImage

beforeAll(async () => {
  work = tempDir('net-bridge')
  stateRoot = join(work, 'state')
  const made = image([unpackBusybox(work)], { Cmd: ['sh'] })
  img = made.image
  const { NativeRuntime } = await import('../../server/native/index.js')
  runtime = new NativeRuntime({ layerDirs: async () => [join(work, 'busybox')], stateRoot })
  if (root) await createNetwork(stateRoot, 'web-net')
})
afterAll(async () => {
  if (root) await removeNetwork(stateRoot, 'web-net').catch(() => undefined)
  rmSync(work, { recursive: true, force: true })
})

describe.runIf(root)('native containers on a user network (root)', () => {
  it('serves busybox httpd on a published port, and a second container fetches it by name and by alias', async () => {
    const server = await startHttpd(runtime, img, 'hello from web', { name: 'web-net', aliases: ['www', 'site'], ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }] }, 'web')
    try {
      const port = await publishedPort(server)
      expect(String(server.facts.ports)).toBe(`127.0.0.1:${port}->80/tcp`)
      expect(await getWhenUp(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'hello from web\n' })
      const client = await runIn(runtime, img, 'wget -qO- http://web/ && wget -qO- http://www/ && wget -qO- http://site:80/index.html && cat /etc/resolv.conf', { name: 'web-net' })
      expect(client.stderr).toBe('')
      expect(client.status.code).toBe(0)
      expect(client.stdout).toMatch(/^hello from web\nhello from web\nhello from web\n# boxplay: names on this container's network are in \/etc\/hosts/)
    } finally {
      await stop(server)
    }
  })

  it('gives each member eth0 with an address on the subnet and only the subnet route', async () => {
    const out = await runIn(runtime, img, 'ip -o -4 addr show; ip route; cat /etc/hosts', { name: 'web-net' })
    expect(out.status.code).toBe(0)
    const addr = /eth0\s+inet (10\.\d+\.\d+\.\d+)\/24/.exec(out.stdout)
    expect(addr).not.toBeNull()
    expect(out.stdout).toMatch(/^127\.0\.0\.1\/8|lo\s+inet 127\.0\.0\.1\/8/m)
    // No default route: nothing is routed beyond the network.
    expect(out.stdout).not.toMatch(/^default/m)
    expect(out.stdout).toContain(`${addr![1]}\t`)
  })

  it('--network none (and no --network) has only lo, and -p still reaches it', async () => {
    for (const network of [{ name: 'none' }, undefined]) {
      const out = await runIn(runtime, img, 'ls /sys/class/net', network)
      expect(out.stdout).toBe('lo\n')
    }
    const server = await startHttpd(runtime, img, 'lo only', { ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }] })
    try {
      expect((await getWhenUp(`http://127.0.0.1:${await publishedPort(server)}/`)).body).toBe('lo only\n')
      // The proxy (the monitor's child) holds no privilege: nobody, no capabilities, no_new_privs.
      const monitors = childrenOf(process.pid, 'boxplay-init')
      const proxies = monitors.flatMap((m) => childrenOf(m, 'boxplay-init'))
      expect(proxies.length).toBe(1)
      const status = readFileSync(`/proc/${proxies[0]}/status`, 'utf8')
      expect(status).toMatch(/^Uid:\t65534\t65534\t65534\t65534$/m)
      expect(status).toMatch(/^CapEff:\t0000000000000000$/m)
      expect(status).toMatch(/^NoNewPrivs:\t1$/m)
    } finally {
      await stop(server)
    }
  })

  it('fails the run clearly on a busy host port and on an unknown network', async () => {
    const busy: Server = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
    const port = (busy.address() as { port: number }).port
    try {
      const run = await runtime.start({ image: img, cmd: ['true'], network: { ports: [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 80, protocol: 'tcp' }] } })
      const status = await run.exit
      expect(status).toMatchObject({ code: 125, reason: 'error' })
      expect(status.message).toMatch(new RegExp(`publish 127\\.0\\.0\\.1:${port} \\(→ container port 80\\): cannot listen there, pick another host port: Address (already )?in use`))
    } finally {
      busy.close()
    }
    await expect(runtime.start({ image: img, cmd: ['true'], network: { name: 'nope' } })).rejects.toThrow(/network nope not found: see boxplay network ls/)
    await expect(runtime.start({ image: img, cmd: ['true'], network: { aliases: ['x'] } })).rejects.toThrow(/--network-alias needs a network/)
    await expect(runtime.start({ image: img, cmd: ['true'], network: { name: 'host' } })).rejects.toThrow(/--network host is not supported/)
  })
})
