// `boxplay serve` sees and controls the containers the CLI made: GET /api/containers, stop,
// kill and remove, behind the token.

import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requester } from '../server/client.js'
import { Sandbox } from './helpers.js'

const box = new Sandbox()
const cli = join(import.meta.dirname, '..', '..', 'dist', 'server', 'cli', 'main.js')
let server: ChildProcess
let api: ReturnType<typeof requester>

beforeAll(async () => {
  server = spawn(process.execPath, [cli, 'serve', '--no-open', '--port', '0'], { env: box.env, stdio: ['ignore', 'pipe', 'pipe'] })
  const url = await new Promise<URL>((resolve, reject) => {
    let out = ''
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /http:\/\/\S+/.exec(out)
      if (m) resolve(new URL(m[0]))
    })
    server.once('exit', (code) => reject(new Error(`boxplay serve exited with ${code}`)))
  })
  api = requester(Number(url.port), url.searchParams.get('token')!)
})
afterAll(async () => {
  const exited = new Promise((r) => server.once('exit', r))
  server.kill('SIGTERM')
  await exited
  box.cleanup()
})

describe('the containers API', () => {
  it('lists, stops, kills and removes the CLI\'s containers', async () => {
    const id = box.run(['run', '-d', '--name', 'api1', 'busybox', 'sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done']).stdout.trim()
    box.run(['run', '-d', '--name', 'api2', 'busybox', 'sleep', '1000'])
    expect((await api('/api/containers', { token: false })).status).toBe(401)
    const list = (await api('/api/containers')).json() as Array<{ id: string; name: string; state: string; status: string }>
    expect(list.map((c) => c.name)).toEqual(['api2', 'api1'])
    expect(list[1]).toMatchObject({ id, state: 'running', image: 'busybox', runtime: 'native' })
    expect(list[1]!.status).toMatch(/^Up /)
    const inspected = (await api('/api/containers/api1')).json() as { Id: string; State: { Running: boolean } }
    expect(inspected).toMatchObject({ Id: id, State: { Running: true } })

    const stopped = await api('/api/containers/api1/stop', { method: 'POST', body: { timeout: 5 } })
    expect(stopped.status).toBe(200)
    expect(stopped.json()).toMatchObject({ state: 'exited', exitCode: 7 })
    expect(box.run(['ps', '-a']).stdout).toMatch(/Exited \(7\) .* api1\n/)

    expect((await api('/api/containers/api2', { method: 'DELETE' })).status).toBe(409)
    expect((await api('/api/containers/api2/kill', { method: 'POST', body: { signal: 'nope!' } })).status).toBe(400)
    const killed = await api('/api/containers/api2/kill', { method: 'POST', body: { signal: 'SIGKILL' } })
    expect(killed.status).toBe(200)
    expect(box.run(['wait', 'api2']).stdout).toBe('137\n')
    expect((await api('/api/containers/api2', { method: 'DELETE' })).json()).toMatchObject({ removed: expect.any(String) })
    expect((await api('/api/containers/api1?force=1', { method: 'DELETE' })).status).toBe(200)
    expect(box.run(['ps', '-a', '-q']).stdout).toBe('')
    const missing = await api('/api/containers/api1')
    expect(missing.status).toBe(404)
    expect(missing.json()).toEqual({ error: 'No such container: api1' })
  })
})
