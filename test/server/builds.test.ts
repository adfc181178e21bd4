// `POST /api/builds` against a real server: the real store, the native runtime for RUN steps,
// a context sent as a tar, the log followed on the run attach socket. A real build lands in
// the store and runs; a bad Dockerfile is refused with its line; the body cap, the token and
// the concurrent-run cap hold as for runs.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contextToTar } from '../../web/build/context-tar.js'
import type { ContextEntry } from '../../web/build/context.js'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import { NativeRuntime } from '../../server/native/index.js'
import { Store } from '../../server/store/store.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { attach, requester } from './client.js'

let home: string
let server: RunningServer
let api: ReturnType<typeof requester>
let store: Store
let native: NativeRuntime
const encoder = new TextEncoder()

function file(path: string, text: string, mode = 0o644): ContextEntry {
  return { path, kind: 'file', mode, data: encoder.encode(text) }
}

async function tarOf(entries: ContextEntry[]): Promise<Buffer> {
  return Buffer.from(await contextToTar({ entries }))
}

/** A one-file ustar entry with any name (the project's writer would normalise a hostile one). */
function rawTarFile(name: string, text: string): Buffer {
  const header = Buffer.alloc(512)
  header.write(name, 0)
  header.write('0000644\0', 100)
  header.write('0000000\0', 108)
  header.write('0000000\0', 116)
  header.write(text.length.toString(8).padStart(11, '0') + '\0', 124)
  header.write('00000000000\0', 136)
  header.write('        ', 148)
  header.write('0', 156)
  header.write('ustar\u000000', 257)
  let sum = 0
  for (const b of header) sum += b
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
  const body = Buffer.alloc(512)
  body.write(text)
  return Buffer.concat([header, body])
}

function postBuild(query: string, body: Buffer, headers: Record<string, string> = {}, token?: string | false) {
  return api(`/api/builds${query}`, { method: 'POST', body, headers: { 'content-type': 'application/x-tar', ...headers }, ...(token !== undefined ? { token } : {}) })
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'boxplay-serve-builds-'))
  store = await Store.open({ home })
  native = new NativeRuntime({ layerDirs: (image) => store.layerDirs(image) })
  const ok = await native.available()
  if (!ok.ok) throw new Error(`the native runtime must be available for these tests: ${ok.reason}`)
  server = await startServer({ port: 0, images: storeImages(store), runtimes: [native], maxRuns: 4, maxContextBytes: 64 * 1024 })
  api = requester(server.port, server.token)
})
afterAll(async () => {
  await server?.close()
  await rm(home, { recursive: true, force: true })
})

const DOCKERFILE = ['FROM busybox', 'COPY greeting.txt /srv/greeting.txt', 'RUN echo built-on-the-server >> /srv/greeting.txt && rm /etc/group', 'CMD ["cat", "/srv/greeting.txt"]', ''].join('\n')

describe('POST /api/builds', () => {
  it('builds a context sent as a tar, streams the CLI\'s log lines over the attach socket, and stores the image', async () => {
    const body = await tarOf([file('Dockerfile', DOCKERFILE), file('greeting.txt', 'hello from the context\n')])
    const res = await postBuild('?t=served-build:1&build-arg=SOURCE_DATE_EPOCH=0', body)
    expect(res.status, res.text).toBe(201)
    const info = res.json()
    expect(info).toMatchObject({ runtime: 'build', image: 'served-build:1', state: 'running' })
    expect(res.headers.location).toBe(`/api/runs/${info.id}`)
    const session = await attach(server.port, `/api/runs/${encodeURIComponent(info.id)}/attach`, { token: server.token })
    const exit = await session.done
    const log = session.stdout()
    expect(exit.status, session.stderr()).toMatchObject({ code: 0, reason: 'exited' })
    expect(log).toMatch(/^#1 \[stage-0 1\/1\] FROM busybox$/m)
    expect(log).toMatch(/^#2 \[stage-0 1\/1\] COPY greeting\.txt \/srv\/greeting\.txt$/m)
    expect(log).toMatch(/^#3 DONE \d+\.\ds$/m)
    expect(log).toMatch(/^#\d writing image sha256:[0-9a-f]{64} done \(0 of \d steps cached, /m)
    expect(log).toMatch(/^#\d naming to served-build:1 done$/m)
    const digest = String(exit.facts.digest)
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(exit.facts.names).toBe('served-build:1')
    // in the store, under its name, and it runs
    const stored = await api('/api/images/served-build:1')
    expect(stored.status, stored.text).toBe(200)
    const image = await store.runImage('served-build:1')
    const run = await native.start({ image })
    const out = await collectOutput(run)
    expect(out.stdout).toBe('hello from the context\nbuilt-on-the-server\n')
  })

  it('takes the same build from its cache the second time, with the same digest', async () => {
    const body = await tarOf([file('Dockerfile', DOCKERFILE), file('greeting.txt', 'hello from the context\n')])
    const first = await postBuild('?t=cached-build&build-arg=SOURCE_DATE_EPOCH=0', body)
    const a = await (await attach(server.port, `/api/runs/${first.json().id}/attach`, { token: server.token })).done
    const second = await postBuild('?t=cached-build&build-arg=SOURCE_DATE_EPOCH=0', body)
    const session = await attach(server.port, `/api/runs/${second.json().id}/attach`, { token: server.token })
    const b = await session.done
    expect(b.facts.digest).toBe(a.facts.digest)
    expect(session.stdout()).toMatch(/^#3 CACHED$/m)
  })

  it('reports a failing RUN step in the log and the exit, and tags nothing', async () => {
    const body = await tarOf([file('Dockerfile', 'FROM busybox\nRUN echo about to fail && exit 3\n')])
    const res = await postBuild('?t=never-tagged', body)
    expect(res.status).toBe(201)
    const session = await attach(server.port, `/api/runs/${res.json().id}/attach`, { token: server.token })
    const exit = await session.done
    expect(exit.status.code).toBe(1)
    expect(session.stdout()).toMatch(/^#2 about to fail$/m)
    expect(session.stderr()).toMatch(/ERROR: .*Dockerfile:2.*3/)
    expect((await api('/api/images/never-tagged')).status).toBe(404)
  })

  it('applies the context\'s .dockerignore, as boxplay build does for a directory', async () => {
    const body = await tarOf([
      file('Dockerfile', 'FROM busybox\nCOPY . /ctx/\nCMD ["ls", "-a", "/ctx"]\n'),
      file('.dockerignore', 'secret.txt\n'),
      file('kept.txt', 'kept\n'),
      file('secret.txt', 'do not ship\n'),
    ])
    const res = await postBuild('?t=ignoring', body)
    expect(res.status, res.text).toBe(201)
    const exit = await (await attach(server.port, `/api/runs/${res.json().id}/attach`, { token: server.token })).done
    expect(exit.status.code).toBe(0)
    const out = await collectOutput(await native.start({ image: await store.runImage('ignoring') }))
    expect(out.stdout.split('\n')).toContain('kept.txt')
    expect(out.stdout).not.toContain('secret.txt')
  })

  it('refuses a bad Dockerfile before anything runs, naming its line', async () => {
    const body = await tarOf([file('Dockerfile', 'FROM busybox\nRUN true\nVOLUME /data\n')])
    const res = await postBuild('', body)
    expect(res.status).toBe(400)
    expect(res.json().error).toMatch(/^Dockerfile:3: VOLUME/)
  })

  it('refuses a context without the Dockerfile, a hostile path, a wrong type and bad options', async () => {
    const none = await postBuild('', await tarOf([file('other.txt', 'x')]))
    expect(none.status).toBe(400)
    expect(none.json().error).toMatch(/no file Dockerfile/)
    const named = await postBuild('?dockerfile=build/app.Dockerfile', await tarOf([file('build/app.Dockerfile', 'FROM busybox\nCMD ["true"]\n')]))
    expect(named.status, named.text).toBe(201)
    await (await attach(server.port, `/api/runs/${named.json().id}/attach`, { token: server.token })).done
    const hostile = await postBuild('', Buffer.concat([(await tarOf([file('Dockerfile', 'FROM busybox\n')])).subarray(0, -1024), rawTarFile('../escape', 'x'), Buffer.alloc(1024)]))
    expect(hostile.status).toBe(400)
    expect(hostile.json().error).toMatch(/outside the context/)
    const json = await api('/api/builds', { method: 'POST', body: { dockerfile: 'FROM busybox' } })
    expect(json.status).toBe(415)
    expect((await postBuild('?dockerfile=../Dockerfile', await tarOf([file('Dockerfile', 'FROM busybox\n')]))).status).toBe(400)
    const unknown = await postBuild('?tag=x', await tarOf([file('Dockerfile', 'FROM busybox\n')]))
    expect(unknown.status).toBe(400)
    expect(unknown.json().error).toMatch(/unknown build option "tag"/)
    expect((await postBuild('?runtime=wasi', await tarOf([file('Dockerfile', 'FROM busybox\n')]))).json().error).toMatch(/cannot run build steps in "wasi"/)
    expect((await api('/api/builds')).status).toBe(405)
  })

  it('refuses a context larger than the cap', async () => {
    const res = await postBuild('', await tarOf([file('Dockerfile', 'FROM busybox\n'), file('big.bin', 'x'.repeat(100 * 1024))]))
    expect(res.status).toBe(413)
    expect(res.json().error).toMatch(/larger than the server's limit/)
  })

  it('wants the token and refuses foreign origins', async () => {
    const body = await tarOf([file('Dockerfile', 'FROM busybox\n')])
    const anonymous = await postBuild('', body, {}, false)
    expect(anonymous.status).toBe(401)
    const foreign = await postBuild('', body, { origin: 'https://evil.example' })
    expect(foreign.status).toBe(403)
    const wrongHost = await postBuild('', body, { host: 'evil.example' })
    expect(wrongHost.status).toBe(421)
  })

  it('counts builds against the concurrent-run cap, and stops a build when it is killed', async () => {
    const slow = await tarOf([file('Dockerfile', 'FROM busybox\nRUN sleep 30\n')])
    const ids: string[] = []
    for (let i = 0; i < 4; i++) {
      const res = await postBuild(`?no-cache=1&build-arg=N=${i}`, slow)
      expect(res.status, `build ${i}: ${res.text}`).toBe(201)
      ids.push(res.json().id)
    }
    const over = await postBuild('?no-cache=1', slow)
    expect(over.status).toBe(429)
    expect(over.json().error).toMatch(/busy/)
    for (const id of ids) {
      const session = await attach(server.port, `/api/runs/${id}/attach`, { token: server.token })
      // the RUN step may not have started yet: kill until the build ends
      const timer = setInterval(() => session.control({ type: 'kill' }), 200)
      const exit = await session.done
      clearInterval(timer)
      expect(exit.status.code).toBe(1)
      expect(exit.status.reason).toBe('killed')
    }
  })
})
