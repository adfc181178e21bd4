// `boxplay run --runtime v86 -p 127.0.0.1:HOST:80 busybox httpd -f -p 80` through the compiled
// CLI: the port answers on 127.0.0.1 while the VM runs; bad -p values (parsed by
// server/net/publish.ts, shared with native runs) and what v86 cannot do yet are refused.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/registry.js'
import { cliBin } from '../store/helpers.js'

const home = mkdtempSync(join(tmpdir(), 'boxplay-v86-publish-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function until<T>(what: () => Promise<T>, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    try {
      return await what()
    } catch (err) {
      if (Date.now() > end) throw err
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

function boxplay(args: string[]) {
  const child = spawn(process.execPath, [cliBin(), '--home', home, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, exit, output: () => ({ stdout, stderr }) }
}

describe('boxplay run --runtime v86 -p', () => {
  it('publishes a guest port on 127.0.0.1', async () => {
    const port = await freePort()
    const r = boxplay([
      'run', '--runtime', 'v86', '-p', `${port}:80`, 'busybox', '--',
      'sh', '-c', "mkdir -p /www && echo 'hi from the VM' > /www/index.html && exec httpd -f -p 80 -h /www",
    ])
    try {
      const res = await until(() => get(port), 60_000)
      expect(res).toEqual({ status: 200, body: 'hi from the VM\n' })
    } finally {
      r.child.kill('SIGTERM')
    }
    const code = await r.exit
    // httpd ends on SIGTERM, forwarded into the guest as `docker run` does (the CLI says
    // "the run ended: killed" for any run the host signalled).
    expect(r.output().stderr).not.toMatch(/cannot|error/i)
    expect(code).toBe(143)
  }, 90_000)

  it('refuses bad -p values, and the network options v86 does not have yet', async () => {
    const bad = boxplay(['run', '--runtime', 'v86', '-p', 'x:80', 'busybox', 'true'])
    expect(await bad.exit).toBe(125)
    expect(bad.output().stderr).toContain('give [IP:]HOST_PORT:CONTAINER_PORT')
    const udp = boxplay(['run', '--runtime', 'v86', '-p', '53:53/udp', 'busybox', 'true'])
    expect(await udp.exit).toBe(125)
    expect(udp.output().stderr).toContain('not supported yet (tcp only)')
    const named = boxplay(['run', '--runtime', 'v86', '--network', 'bridge', 'busybox', 'true'])
    expect(await named.exit).toBe(125)
    expect(named.output().stderr).toContain('--network and --network-alias are not supported yet by the v86 runtime')
    const detached = boxplay(['run', '--runtime', 'v86', '-d', '-p', '8080:80', 'busybox', 'true'])
    expect(await detached.exit).toBe(125)
    expect(detached.output().stderr).toContain('does not work with -d or --name yet')
  }, 60_000)
})
