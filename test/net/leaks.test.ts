// 50 start/stop cycles of a networked, port-publishing container (half of them stopped by
// SIGKILL mid-run, half exiting on their own) leave nothing behind: no veth, no network
// namespace held by a process, no firewall rule, no mount, no process, no lease or hosts entry.

import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNetwork, inspectNetwork, removeNetwork } from '../../server/net/networks.js'
import { hostsFile, networksDir, renderHosts } from '../../server/net/records.js'
import type { NativeRuntime } from '../../server/native/index.js'
import type { RunImage } from '../../web/runtimes/runtime.js'
import { image, tempDir, unpackBusybox } from '../native/fixture.js'
import { getWhenUp, httpdCommand, publishedPort } from './helpers.js'

const root = process.getuid?.() === 0
const CYCLES = 50
let work: string
let stateRoot: string
let runtime: NativeRuntime
let img: RunImage

beforeAll(async () => {
  work = tempDir('net-leaks')
  stateRoot = join(work, 'state')
  img = image([unpackBusybox(work)]).image
  const { NativeRuntime } = await import('../../server/native/index.js')
  runtime = new NativeRuntime({ layerDirs: async () => [join(work, 'busybox')], stateRoot })
  if (root) await createNetwork(stateRoot, 'leaky')
})
afterAll(async () => {
  if (root) await removeNetwork(stateRoot, 'leaky').catch(() => undefined)
  rmSync(work, { recursive: true, force: true })
})

/** Processes whose parent is this test (the monitors, their proxies are the monitors' children). */
function children(of: number): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === of) pids.push(Number(name))
    } catch {
      // gone while we looked
    }
  }
  return pids
}

function tool(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return ''
  }
}

async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return check()
}

describe.runIf(root)('network cleanup', () => {
  it(`${CYCLES} start/stop cycles leave no veth, netns, rule, mount, process, lease or hosts entry`, async () => {
    const net = await inspectNetwork(stateRoot, 'leaky')
    // Only rules naming this network count: other tools on the machine (podman) may change theirs.
    const subnetPrefix = net.subnet.replace(/\.0\/24$/, '.')
    const ourRules = () => (tool('iptables-save', []) + tool('nft', ['list', 'ruleset'])).split('\n').filter((l) => l.includes(net.bridge) || l.includes(subnetPrefix))
    const veths: string[] = []
    const pids: number[] = []
    const ports: number[] = []
    for (let i = 0; i < CYCLES; i++) {
      const run = await runtime.start({ image: img, cmd: httpdCommand(`cycle ${i}`), network: { name: 'leaky', aliases: [`alias${i}`], ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }] } })
      const port = await publishedPort(run)
      ports.push(port)
      pids.push(Number(run.facts.pid1))
      const lease = (await inspectNetwork(stateRoot, 'leaky')).leases.find((l) => l.names.includes(`alias${i}`))
      expect(lease).toBeDefined()
      veths.push(lease!.hostIfname)
      expect(existsSync(`/sys/class/net/${lease!.hostIfname}`)).toBe(true)
      if (i % 2 === 0) expect((await getWhenUp(`http://127.0.0.1:${port}/`)).body).toBe(`cycle ${i}\n`)
      // Half are SIGKILLed, half asked to stop with SIGTERM then killed (PID 1 sh ignores TERM).
      run.kill(i % 2 === 0 ? 'SIGKILL' : 'SIGTERM')
      if (i % 2 === 1) setTimeout(() => run.kill('SIGKILL'), 20)
      await run.exit
    }
    // The kernel destroys a netns (and its veth) asynchronously after its last process; the
    // host end goes only with the netns that holds the other end, so no veth means no netns.
    expect(await eventually(() => veths.every((v) => !existsSync(`/sys/class/net/${v}`)))).toBe(true)
    expect(pids.filter((p) => existsSync(`/proc/${p}`))).toEqual([])
    expect(children(process.pid).filter((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'boxplay-init')).toEqual([])
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(work)
    expect(ourRules()).toEqual([])
    const after = await inspectNetwork(stateRoot, 'leaky')
    expect(after.leases).toEqual([])
    expect(readFileSync(hostsFile(networksDir(stateRoot), 'leaky'), 'utf8')).toBe(renderHosts(after))
    expect(readdirSync(stateRoot).filter((f) => f !== 'networks' && !f.startsWith('.'))).toEqual([])
    // No listener is left on any port the runs published.
    const listening = tool('ss', ['-Hltn'])
    for (const p of ports) expect(listening).not.toMatch(new RegExp(`127\\.0\\.0\\.1:${p}\\s`))
  })
})
