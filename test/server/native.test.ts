// `boxplay serve` with the real parts: the on-disk store and the native runtime (namespaces,
// cgroups, overlayfs through the Rust core), driven over the API and the attach socket the
// way the browser's remote runtime drives them.

import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { release, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import { NativeRuntime } from '../../server/native/index.js'
import { defaultStateRoot } from '../../server/native/paths.js'
import { buildRootFs } from '../../web/oci/image.js'
import { readFile } from '../../web/oci/rootfs.js'
import type { RunChanges } from '../../web/runtimes/remote/changes.js'
import { diffTrees } from '../../web/ui/file-diff.js'
import { Store } from '../../server/store/store.js'
import { RemoteRuntime, type WebSocketConstructor } from '../../web/runtimes/remote/index.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { attach, requester } from './client.js'

let home: string
let server: RunningServer
let api: ReturnType<typeof requester>
let store: Store

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'boxplay-serve-native-'))
  store = await Store.open({ home })
  const native = new NativeRuntime({ layerDirs: (image) => store.layerDirs(image) })
  const ok = await native.available()
  if (!ok.ok) throw new Error(`the native runtime must be available for these tests: ${ok.reason}`)
  server = await startServer({ port: 0, images: storeImages(store), runtimes: [native], maxRuns: 24 })
  api = requester(server.port, server.token)
})
afterAll(async () => {
  await server?.close()
  await rm(home, { recursive: true, force: true })
})

async function runToEnd(body: object) {
  const created = await api('/api/runs', { method: 'POST', body })
  expect(created.status, created.text).toBe(201)
  const a = await attach(server.port, `/api/runs/${created.json().id}/attach`, { token: server.token })
  const exit = await a.done
  return { a, exit, id: created.json().id as string }
}

describe('native runs through the server', () => {
  it('runs busybox on the host kernel, as PID 1, under its own hostname', async () => {
    const { a, exit } = await runToEnd({ image: 'busybox', cmd: ['sh', '-c', 'uname -r; echo pid=$$; hostname'], hostname: 'boxplay-test' })
    expect(exit.status).toMatchObject({ code: 0, reason: 'exited' })
    const [kernel, pid, host] = a.stdout().trim().split('\n')
    expect(kernel).toBe(release()) // a container borrows the host's kernel
    expect(pid).toBe('pid=1')
    expect(host).toBe('boxplay-test')
    expect(exit.timings.map((t) => t.name)).toEqual(expect.arrayContaining(['start']))
  })

  it('gives an interactive run a terminal: stdin, resize and exit over the socket', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'busybox', cmd: ['sh'], tty: { cols: 80, rows: 24 }, stdin: true } })
    expect(created.status, created.text).toBe(201)
    const a = await attach(server.port, `/api/runs/${created.json().id}/attach`, { token: server.token })
    a.control({ type: 'resize', cols: 123, rows: 45 })
    await new Promise((r) => setTimeout(r, 200))
    a.write('stty size; exit 7\n')
    const exit = await a.done
    expect(a.stdout()).toMatch(/45 123/)
    expect(exit.status).toMatchObject({ code: 7 })
  })

  it('reports an unknown command and a bad image platform in words', async () => {
    const { exit } = await runToEnd({ image: 'busybox', cmd: ['/no/such/program'] })
    expect(exit.status.code).toBe(127)
    const wasm = await api('/api/runs', { method: 'POST', body: { image: 'python' } })
    expect(wasm.status).toBe(400)
    expect(wasm.json().error).toMatch(/native runtime cannot run wasi\/wasm images/)
  })

  it('kills a run on request and keeps its stats', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'busybox', cmd: ['sleep', '60'] } })
    const id = created.json().id as string
    const a = await attach(server.port, `/api/runs/${id}/attach`, { token: server.token })
    expect((await api(`/api/runs/${id}/kill`, { method: 'POST', body: {} })).status).toBe(200)
    const exit = await a.done
    expect(exit.status.reason).toBe('killed')
    const info = (await api(`/api/runs/${id}`)).json()
    expect(info.state).toBe('exited')
    expect(typeof info.facts.pid1).toBe('number')
  })

  it('runs 20 at once, each with its own output', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => runToEnd({ image: 'busybox', cmd: ['sh', '-c', `echo run-${i}`] })))
    expect(results.map((r) => r.a.stdout().trim())).toEqual(Array.from({ length: 20 }, (_, i) => `run-${i}`))
    expect(results.every((r) => r.exit.status.code === 0)).toBe(true)
  })

  it('is what the browser\'s remote runtime speaks to', async () => {
    const remote = new RemoteRuntime({ baseUrl: server.origin, token: server.token, WebSocket: WebSocket as unknown as WebSocketConstructor })
    expect(await remote.available()).toEqual({ ok: true })
    const image = await store.runImage('busybox:latest')
    const run = await remote.start({ image, cmd: ['cat', '/etc/passwd'] })
    const { stdout, status } = await collectOutput(run)
    expect(stdout).toMatch(/^root:/)
    expect(status.code).toBe(0)
  })

  /** The run dirs a container id has under the state root (a kept run's changes). */
  const keptDirs = (containerId: string) => readdirSync(defaultStateRoot()).filter((n) => n.includes(containerId))

  it('serves a finished run\'s changes at GET /api/runs/ID/files, behind the token, and removes them from the host once read', async () => {
    const { exit, id } = await runToEnd({ image: 'busybox', cmd: ['sh', '-c', 'echo hi > /new.txt && rm /etc/group && mkdir /made'] })
    expect(exit.status).toMatchObject({ code: 0 })
    const containerId = (await api(`/api/runs/${id}`)).json().facts.containerId as string
    expect(keptDirs(containerId)).toHaveLength(1)
    expect((await api(`/api/runs/${id}/files`, { token: false })).status).toBe(401)
    expect((await api(`/api/runs/${id}/files`, { token: 'wrong' })).status).toBe(401)
    expect((await api(`/api/runs/${id}/files`, { method: 'POST', body: {} })).status).toBe(405)
    const reply = await api(`/api/runs/${id}/files`)
    expect(reply.status, reply.text).toBe(200)
    const { entries } = reply.json() as RunChanges
    expect(entries).toContainEqual(expect.objectContaining({ path: '/new.txt', kind: 'file', size: 3, uid: 0, data: Buffer.from('hi\n').toString('base64') }))
    expect(entries).toContainEqual({ path: '/etc/group', kind: 'deleted' })
    expect(entries).toContainEqual(expect.objectContaining({ path: '/made', kind: 'dir' }))
    expect(keptDirs(containerId)).toHaveLength(0)
    // Read once on the host, answered again from the run's record.
    expect((await api(`/api/runs/${id}/files`)).json()).toEqual({ entries })
  })

  it('refuses the files of a running run and drops unread ones with the run', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'busybox', cmd: ['sh', '-c', 'echo x > /x; sleep 60'] } })
    const id = created.json().id as string
    const busy = await api(`/api/runs/${id}/files`)
    expect(busy.status).toBe(409)
    expect(busy.json().error).toMatch(/still running/)
    expect((await api(`/api/runs/no-such-run/files`)).status).toBe(404)
    const containerId = (await api(`/api/runs/${id}`)).json().facts.containerId as string
    const a = await attach(server.port, `/api/runs/${id}/attach`, { token: server.token })
    await api(`/api/runs/${id}/kill`, { method: 'POST', body: {} })
    await a.done
    expect(keptDirs(containerId)).toHaveLength(1)
    expect((await api(`/api/runs/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(keptDirs(containerId)).toHaveLength(0)
  })

  it('gives the remote runtime\'s run files(): the image with the run\'s changes, as the file panel compares them', async () => {
    const remote = new RemoteRuntime({ baseUrl: server.origin, token: server.token, WebSocket: WebSocket as unknown as WebSocketConstructor })
    const image = await store.runImage('busybox:latest')
    const run = await remote.start({ image, cmd: ['sh', '-c', 'echo changed >> /etc/passwd && rm /etc/group && echo new > /root/new'] })
    expect((await run.exit).code).toBe(0)
    const files = await (run as typeof run & { files(): Promise<Awaited<ReturnType<typeof buildRootFs>>> }).files()
    const changes = diffTrees(await buildRootFs(image), files).map((c) => `${c.change} ${c.path}`).sort()
    expect(changes).toEqual(['added /etc/hostname', 'added /etc/hosts', 'added /etc/resolv.conf', 'added /root/new', 'deleted /etc/group', 'modified /etc/passwd'])
    const passwd = files.lookup('/etc/passwd')
    expect(passwd?.kind).toBe('file')
    if (passwd?.kind === 'file') expect(new TextDecoder().decode(await readFile(passwd))).toMatch(/^root:.*\nchanged\n$/s)
  })
})
