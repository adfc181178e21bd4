// The v86 guest on a network, for real: the kernel's virtio-net driver, boxplay-init bringing
// up eth0 with the address the LAN gave, names from the hosts file, a published port into a
// busybox httpd, and two guests on one LAN talking by name. Nothing leaves the machine: the
// LAN is a switch in this process, the published port listens on 127.0.0.1.

import { request } from 'node:http'
import { describe, expect, test } from 'vitest'
import { Lan } from '../../web/net/lan.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { OutputChunk } from '../../web/runtimes/runtime.js'
import { publishPorts } from '../../server/v86/publish.js'
import { bundled, run, runtime } from './helpers.js'

const text = (b: Uint8Array) => new TextDecoder().decode(b)

function waitForOutput(r: { onOutput(l: (c: OutputChunk) => void): () => void }, needle: string): Promise<string> {
  return new Promise((resolve) => {
    let seen = ''
    r.onOutput((c) => {
      seen += text(c.data)
      if (seen.includes(needle)) resolve(seen)
    })
  })
}

function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A busybox httpd serving `body` as /index.html; prints READY once it listens. */
const httpd = (body: string) => [
  'sh',
  '-c',
  `mkdir -p /www && printf '%s' "${body}" > /www/index.html && httpd -p 80 -h /www && echo READY && sleep 600`,
]

describe('v86 networking (Node)', () => {
  test('without a network the guest has only lo, and it is up', async () => {
    const r = await run({ cmd: ['sh', '-c', 'ls /sys/class/net; ip -o addr show lo'] })
    expect(r.status.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe('lo')
    expect(r.stdout).toContain('127.0.0.1/8')
  })

  test('on a LAN, eth0 has the address, MAC and route the LAN gave, and the hosts file names the members', async () => {
    const lan = new Lan({ name: 'test' })
    const image = await bundled('busybox')
    const r = await runtime.start(
      { image, cmd: ['sh', '-c', 'cat /sys/class/net/eth0/address; ip -o -4 addr show eth0; ip route; hostname; cat /etc/hosts; ping -c 1 -W 5 host.boxplay.internal >/dev/null && echo pong'] },
      { lan, name: 'alpha', aliases: ['a'] },
    )
    lan.host() // the gateway answers ping
    const out = await collectOutput(r)
    expect(out.stderr).toBe('')
    expect(out.status.code).toBe(0)
    expect(r.facts.ip).toBe('10.86.0.2')
    expect(out.stdout).toContain(`${r.facts.mac}\n`)
    expect(out.stdout).toMatch(/inet 10\.86\.0\.2\/24/)
    expect(out.stdout).toContain('default via 10.86.0.1 dev eth0')
    expect(out.stdout).toContain('alpha\n')
    expect(out.stdout).toContain('10.86.0.2\talpha a')
    expect(out.stdout).toContain('pong')
    // The address is free again once the run is over.
    expect(lan.members()).toEqual([])
    lan.host().close()
  })

  test('a published port reaches busybox httpd in the guest', async () => {
    const lan = new Lan()
    const image = await bundled('busybox')
    const r = await runtime.start({ image, cmd: httpd('hello from v86') }, { lan, name: 'web' })
    const ready = waitForOutput(r, 'READY')
    const pub = await publishPorts(lan, r.link!.member.address, [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }])
    try {
      await ready
      // The run reports what it listens on, read from the guest's /proc/net/tcp.
      expect(await r.listening()).toContainEqual({ address: '0.0.0.0', port: 80, protocol: 'tcp' })
      expect(r.facts.listening).toBe('80/tcp')
      const port = pub.bound[0]!.boundPort
      expect(await get(port)).toEqual({ status: 200, body: 'hello from v86' })
      // Many connections one after another (each a new TCP connection into the guest).
      for (let i = 0; i < 20; i++) expect((await get(port)).body).toBe('hello from v86')
      expect((await get(port, '/missing')).status).toBe(404)
    } finally {
      r.kill('SIGKILL')
      await r.exit
      await pub.close()
      lan.host().close()
    }
  })

  test('a port nothing listens on refuses the connection', async () => {
    const lan = new Lan()
    const image = await bundled('busybox')
    const r = await runtime.start({ image, cmd: ['sh', '-c', 'echo READY; sleep 600'] }, { lan, name: 'idle' })
    try {
      await waitForOutput(r, 'READY')
      const c = lan.host().connect(r.link!.member.address, 8080)
      await expect(c.established).rejects.toThrow(/refused/)
    } finally {
      r.kill('SIGKILL')
      await r.exit
      lan.host().close()
    }
  })

  test('two guests on one LAN: one fetches the other by name', async () => {
    const lan = new Lan()
    const image = await bundled('busybox')
    const web = await runtime.start({ image, cmd: httpd('served by web') }, { lan, name: 'web' })
    try {
      await waitForOutput(web, 'READY')
      const client = await runtime.start({ image, cmd: ['wget', '-qO-', 'http://web/'] }, { lan, name: 'client' })
      const out = await collectOutput(client)
      expect(out.stderr).toBe('')
      expect(out.stdout).toBe('served by web')
      expect(out.status.code).toBe(0)
    } finally {
      web.kill('SIGKILL')
      await web.exit
    }
  })

  test('a guest already running learns the names of guests that join later', async () => {
    const lan = new Lan()
    const image = await bundled('busybox')
    const first = await runtime.start(
      { image, cmd: ['sh', '-c', 'echo READY; while ! grep -q late /etc/hosts; do sleep 0.2; done; grep late /etc/hosts'] },
      { lan, name: 'early' },
    )
    await waitForOutput(first, 'READY')
    const late = await runtime.start({ image, cmd: ['sh', '-c', 'echo READY; sleep 600'] }, { lan, name: 'late' })
    try {
      const out = await collectOutput(first)
      expect(out.stdout).toContain('10.86.0.3\tlate')
      expect(out.status.code).toBe(0)
    } finally {
      late.kill('SIGKILL')
      await late.exit
    }
  })
})
