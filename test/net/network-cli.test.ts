// `boxplay network create|ls|inspect|rm` and `boxplay run --network/--network-alias/-p`
// through the compiled CLI, as their own processes, in a state dir and store of their own.

import { spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliBin, cliProcess } from '../store/helpers.js'
import { tempDir } from '../native/fixture.js'
import { getWhenUp } from './helpers.js'

const root = process.getuid?.() === 0
let work: string
let env: NodeJS.ProcessEnv

beforeAll(() => {
  work = tempDir('net-cli')
  env = { BOXPLAY_STATE_DIR: join(work, 'state'), BOXPLAY_HOME: join(work, 'home') }
})
afterAll(async () => {
  for (const n of ['alpha', 'beta']) await cliProcess(['network', 'rm', n], env)
  rmSync(work, { recursive: true, force: true })
})

const boxplay = (...args: string[]) => cliProcess(args, env)

describe.runIf(root)('boxplay network (root)', () => {
  it('creates, lists, inspects and removes networks, with docker-shaped output', async () => {
    const created = await boxplay('network', 'create', 'alpha')
    expect(created).toMatchObject({ code: 0, stderr: '' })
    const id = created.stdout.trim()
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    expect(await boxplay('network', 'create', '--subnet', '10.201.77.0/24', 'beta')).toMatchObject({ code: 0 })

    const ls = await boxplay('network', 'ls')
    expect(ls.code).toBe(0)
    const rows = ls.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/))
    expect(rows[0]).toEqual(['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'CONTAINERS'])
    expect(rows.slice(1).map((r) => r[1])).toEqual(['alpha', 'beta', 'none'])
    expect(rows[2]).toEqual([expect.any(String), 'beta', 'bridge', '10.201.77.0/24', '0'])
    expect((await boxplay('network', 'ls', '-q')).stdout).toBe('alpha\nbeta\n')

    const inspect = await boxplay('network', 'inspect', 'alpha')
    expect(inspect.code).toBe(0)
    const [net] = JSON.parse(inspect.stdout) as [Record<string, unknown> & { IPAM: { Config: { Subnet: string; Gateway: string }[] }; Options: Record<string, string> }]
    expect(net).toMatchObject({ Name: 'alpha', Id: id, Driver: 'bridge', Scope: 'local', Internal: true, Containers: {} })
    const { Subnet, Gateway } = net.IPAM.Config[0]!
    expect(Subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/)
    expect(Gateway).toBe(Subnet.replace(/0\/24$/, '1'))
    const bridge = net.Options['com.docker.network.bridge.name']!
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(true)

    expect(await boxplay('network', 'rm', 'alpha', 'beta')).toEqual({ code: 0, signal: null, stdout: 'alpha\nbeta\n', stderr: '' })
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false)
  })

  it('refuses a name in use, an unknown network, reserved and bad names, an overlapping subnet (exit 1 or 125)', async () => {
    expect(await boxplay('network', 'create', 'alpha')).toMatchObject({ code: 0 })
    expect(await boxplay('network', 'create', 'alpha')).toMatchObject({ code: 1, stderr: 'boxplay: network with name alpha already exists\n' })
    expect(await boxplay('network', 'inspect', 'ghost')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^boxplay: network ghost not found: see boxplay network ls/) })
    expect(await boxplay('network', 'rm', 'ghost')).toMatchObject({ code: 1, stderr: expect.stringMatching(/network ghost not found/) })
    expect(await boxplay('network', 'create', 'none')).toMatchObject({ code: 1, stderr: expect.stringMatching(/none is a built-in network mode/) })
    expect(await boxplay('network', 'create', '-bad/name')).toMatchObject({ code: 125 })
    expect(await boxplay('network', 'create', 'bad/name')).toMatchObject({ code: 1, stderr: expect.stringMatching(/is not a valid network name/) })
    const alpha = JSON.parse((await boxplay('network', 'inspect', 'alpha')).stdout) as [{ IPAM: { Config: { Subnet: string }[] } }]
    expect(await boxplay('network', 'create', '--subnet', alpha[0].IPAM.Config[0]!.Subnet, 'beta')).toMatchObject({ code: 1, stderr: expect.stringMatching(/overlaps .*pick another/) })
    expect(await boxplay('network', 'create', '--subnet', '10.1.2.3/24', 'beta')).toMatchObject({ code: 1, stderr: expect.stringMatching(/bits set beyond \/24 \(did you mean 10\.1\.2\.0\/24\?\)/) })
    expect(await boxplay('network', 'frob')).toMatchObject({ code: 125, stderr: expect.stringMatching(/unknown network verb "frob"/) })
    expect(await boxplay('network', 'rm', 'alpha')).toMatchObject({ code: 0 })
  })

  it('boxplay run -p and --network: a server by name and alias, rm refused while it runs', async () => {
    expect(await boxplay('network', 'create', 'alpha')).toMatchObject({ code: 0 })
    let veth = ''
    const server = spawn(process.execPath, [cliBin(), 'run', '--runtime', 'native', '--network', 'alpha', '--hostname', 'web', '--network-alias', 'www', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', "mkdir /w && echo cli-web > /w/index.html && exec httpd -f -p 80 -h /w"], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    })
    try {
      // The member shows in inspect once the run has joined.
      let members: Record<string, { Name: string; Aliases: string[]; EndpointID: string }> = {}
      for (let i = 0; i < 400 && Object.keys(members).length === 0; i++) {
        members = (JSON.parse((await boxplay('network', 'inspect', 'alpha')).stdout) as [{ Containers: typeof members }])[0].Containers
        if (!Object.keys(members).length) await new Promise((r) => setTimeout(r, 25))
      }
      expect(Object.values(members)).toEqual([expect.objectContaining({ Name: 'web', Aliases: ['www'] })])
      veth = Object.values(members)[0]!.EndpointID
      expect(existsSync(`/sys/class/net/${veth}`)).toBe(true)
      const client = await boxplay('run', '--runtime', 'native', '--network', 'alpha', 'busybox', 'sh', '-c', 'for i in $(seq 100); do wget -qO- http://www/ 2>/dev/null && break; sleep 0.05; done; wget -qO- http://web/')
      expect(client).toMatchObject({ code: 0, stdout: 'cli-web\ncli-web\n' })
      expect(await boxplay('network', 'rm', 'alpha')).toMatchObject({ code: 1, stderr: expect.stringMatching(/network alpha has active endpoints \(web\): stop those containers first/) })
    } finally {
      server.kill('SIGKILL')
      await new Promise((r) => server.once('close', r))
    }
    // The CLI was SIGKILLed: its monitor killed the container, the kernel took the netns and
    // its veth, the proxy died with the monitor, and the lease goes with the next operation.
    for (let i = 0; i < 200 && existsSync(`/sys/class/net/${veth}`); i++) await new Promise((r) => setTimeout(r, 25))
    expect(existsSync(`/sys/class/net/${veth}`)).toBe(false)
    expect(await boxplay('network', 'rm', 'alpha')).toMatchObject({ code: 0 })
  })

  it('boxplay run -p HOST:CONTAINER publishes on 127.0.0.1 without a network; bad -p and non-native runtimes are usage errors', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000)
    const server = spawn(process.execPath, [cliBin(), 'run', '--runtime', 'native', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'mkdir /w && echo lo-web > /w/index.html && exec httpd -f -p 80 -h /w'], { env: { ...process.env, ...env }, stdio: 'ignore' })
    try {
      expect(await getWhenUp(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'lo-web\n' })
    } finally {
      server.kill('SIGKILL')
      await new Promise((r) => server.once('close', r))
    }
    expect(await boxplay('run', '--runtime', 'native', '-p', '80/udp', 'busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringMatching(/udp ports are not supported yet/) })
    expect(await boxplay('run', '--runtime', 'native', '-p', 'x:y', 'busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringMatching(/give \[IP:\]HOST_PORT:CONTAINER_PORT/) })
    expect(await boxplay('run', '--runtime', 'native', '--network', 'ghost', 'busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringMatching(/network ghost not found/) })
    // v86 publishes ports (test/net-v86/cli-publish.test.ts) but joins no named network yet.
    expect(await boxplay('run', '--runtime', 'v86', '--network', 'bridge', 'busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringMatching(/--network and --network-alias are not supported yet by the v86 runtime: use --runtime native/) })
  })
})
