// The HTTP layer of `boxplay serve`: who may talk to it (token, Host, Origin), what it
// refuses (sizes, bad input, too many runs), the blob and manifest endpoints, and the
// attach protocol's framing. The runtime is a host-process fixture (fixtures.ts).

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { attach, requester } from './client.js'
import { HostProcessRuntime, fixtureImages } from './fixtures.js'

let server: RunningServer
let api: ReturnType<typeof requester>
let images: Awaited<ReturnType<typeof fixtureImages>>
const ALLOWED = 'https://lessons.example'

beforeAll(async () => {
  images = await fixtureImages()
  server = await startServer({ port: 0, images, runtimes: [new HostProcessRuntime()], maxRuns: 3, allowOrigin: ALLOWED, version: '9.9.9', maxBodyBytes: 4096, maxUploadBytes: 1000 })
  api = requester(server.port, server.token)
})
afterAll(async () => {
  await server?.close()
})

describe('the access token', () => {
  it('is printed in the URL and required by the API', async () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[0-9a-f]{48}$`))
    const none = await api('/api/session', { token: false })
    expect(none.status).toBe(401)
    expect(none.json().error).toMatch(/access token/)
    expect((await api('/api/session', { token: 'x'.repeat(48) })).status).toBe(401)
    const ok = await api('/api/session')
    expect(ok.status).toBe(200)
    expect(ok.json()).toMatchObject({ ok: true, version: '9.9.9', allowOrigin: ALLOWED })
  })

  it('in the query of a page is exchanged for an HttpOnly SameSite=Strict cookie and stripped by a redirect', async () => {
    const res = await api(`/?image=busybox&token=${server.token}&cmd=uname`, { token: false })
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe('/?image=busybox&cmd=uname')
    const cookie = res.headers['set-cookie']?.[0] ?? ''
    expect(cookie).toMatch(new RegExp(`^boxplay-token-${server.port}=${server.token};`))
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const withCookie = await api('/api/session', { token: false, headers: { cookie: cookie.split(';')[0]! } })
    expect(withCookie.status).toBe(200)
  })

  it('never redirects to another site while stripping the token', async () => {
    for (const path of [`//evil.example/?token=${server.token}`, `/\\evil.example/?token=${server.token}`, `/x//evil.example?token=${server.token}`]) {
      const res = await api(path, { token: false })
      expect(res.status, path).toBe(302)
      expect(res.headers.location, path).toMatch(/^\/(?!\/)/)
    }
  })

  it('gives no cookie for a wrong query token', async () => {
    const res = await api('/?token=nope', { token: false })
    expect(res.status).toBe(302)
    expect(res.headers['set-cookie']).toBeUndefined()
    expect((await api('/api/runs?token=nope', { token: false })).status).toBe(401)
  })

  it('is accepted in the query of an API request', async () => {
    const res = await api(`/api/session?token=${server.token}`, { token: false })
    expect(res.status).toBe(200)
  })

  it('is required for a WebSocket attach', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sleep', '5'] } })
    expect(created.status).toBe(201)
    const id = created.json().id as string
    await expect(attach(server.port, `/api/runs/${id}/attach`)).rejects.toMatchObject({ status: 401 })
    const ok = await attach(server.port, `/api/runs/${id}/attach?token=${server.token}`)
    ok.control({ type: 'kill' })
    const exit = await ok.done
    expect(exit.status.reason).toBe('killed')
  })
})

describe('where requests come from', () => {
  it('refuses a Host that is not this machine (DNS rebinding)', async () => {
    const res = await api('/api/session', { headers: { host: `evil.example:${server.port}` } })
    expect(res.status).toBe(421)
    expect(res.json().error).toMatch(/evil\.example/)
    expect((await api('/', { headers: { host: 'rebind.attacker.test' } })).status).toBe(421)
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`]) {
      expect((await api('/api/session', { headers: { host } })).status).toBe(200)
    }
  })

  it('refuses API requests from a foreign page origin, allows its own and --allow-origin', async () => {
    const foreign = await api('/api/runs', { method: 'POST', headers: { origin: 'http://127.0.0.1:9' }, body: { image: 'sh:latest' } })
    expect(foreign.status).toBe(403)
    const own = await api('/api/session', { headers: { origin: `http://127.0.0.1:${server.port}` } })
    expect(own.status).toBe(200)
    expect(own.headers['access-control-allow-origin']).toBeUndefined()
    const allowed = await api('/api/session', { headers: { origin: ALLOWED } })
    expect(allowed.status).toBe(200)
    expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED)
  })

  it('answers a CORS preflight from the allowed origin only', async () => {
    const pre = await api('/api/runs', { method: 'OPTIONS', token: false, headers: { origin: ALLOWED, 'access-control-request-method': 'POST' } })
    expect(pre.status).toBe(204)
    expect(pre.headers['access-control-allow-headers']).toMatch(/authorization/)
    const bad = await api('/api/runs', { method: 'OPTIONS', token: false, headers: { origin: 'https://other.example' } })
    expect(bad.status).toBe(403)
  })

  it('refuses WebSocket upgrades from a foreign Origin, even with the token', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sleep', '5'] } })
    const path = `/api/runs/${created.json().id}/attach`
    await expect(attach(server.port, path, { token: server.token, origin: 'http://evil.example' })).rejects.toMatchObject({ status: 403 })
    await expect(attach(server.port, path, { token: server.token, host: 'evil.example' })).rejects.toMatchObject({ status: 421 })
    const fromAllowed = await attach(server.port, path, { token: server.token, origin: ALLOWED })
    fromAllowed.control({ type: 'kill' })
    await fromAllowed.done
  })
})

describe('every response', () => {
  it('is cross-origin isolated (COOP/COEP/CORP), also errors and pages', async () => {
    for (const res of [await api('/api/session'), await api('/api/nothing'), await api('/', { token: false })]) {
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin')
      expect(res.headers['cross-origin-embedder-policy']).toBe('require-corp')
      expect(res.headers['cross-origin-resource-policy']).toBeDefined()
      expect(res.headers['x-content-type-options']).toBe('nosniff')
    }
  })

  it('explains an unbuilt playground instead of a blank page', async () => {
    const res = await api('/', { token: false })
    expect(res.status).toBe(200)
    expect(res.text).toMatch(/not built/)
  })
})

describe('input validation', () => {
  it('answers bad run requests with a 4xx and words', async () => {
    const cases: [object | string, number, RegExp][] = [
      [{}, 400, /"image" is required/],
      [{ image: 'sh:latest', cmd: 'ls' }, 400, /"cmd" must be an array/],
      [{ image: 'sh:latest', bogus: 1 }, 400, /unknown field "bogus"/],
      [{ image: 'sh:latest', tty: { cols: 0, rows: 5 } }, 400, /"tty"/],
      [{ image: 'sh:latest', env: ['NOEQUALS'] }, 400, /NAME=value/],
      [{ image: 'sh:latest', cwd: 'relative' }, 400, /"cwd"/],
      [{ image: 'sh:latest', platform: 'nonsense' }, 400, /invalid platform/],
      [{ image: 'sh:latest', limits: { memoryBytes: -1 } }, 400, /memoryBytes/],
      [{ image: 'sh:latest', runtime: 'v86' }, 400, /no runtime "v86"/],
      [{ image: 'missing:latest' }, 404, /not found/],
      ['{not json', 400, /not valid JSON/],
      [[1, 2], 400, /JSON object/],
    ]
    for (const [body, status, message] of cases) {
      const res = await api('/api/runs', { method: 'POST', body: typeof body === 'string' ? body : body, headers: { 'content-type': 'application/json' } })
      expect(res.status, JSON.stringify(body)).toBe(status)
      expect(res.json().error, JSON.stringify(body)).toMatch(message)
    }
  })

  it('wants JSON bodies as JSON', async () => {
    const res = await api('/api/runs', { method: 'POST', body: 'image=sh', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(res.status).toBe(415)
  })

  it('caps request bodies', async () => {
    const res = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['x'.repeat(5000)] } })
    expect(res.status).toBe(413)
    expect(res.json().error).toMatch(/larger than the server's limit of 4096 bytes/)
    const upload = await api('/api/images/load', { method: 'POST', body: Buffer.alloc(2000), headers: { 'content-type': 'application/x-tar' } })
    expect(upload.status).toBe(413)
  })

  it('names unknown endpoints, methods and runs', async () => {
    expect((await api('/api/nothing')).status).toBe(404)
    const wrong = await api('/api/runtimes', { method: 'DELETE' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.allow).toBe('GET')
    const missing = await api('/api/runs/nope')
    expect(missing.status).toBe(404)
    expect(missing.json().error).toMatch(/no run with id "nope"/)
    await expect(attach(server.port, '/api/runs/nope/attach', { token: server.token })).rejects.toMatchObject({ status: 404 })
  })
})

describe('the API', () => {
  it('lists runtimes with the platforms each takes', async () => {
    const res = await api('/api/runtimes')
    expect(res.json()).toEqual([{ kind: 'native', label: 'Native container', ok: true, platforms: ['linux/amd64'] }])
  })

  it('lists, inspects, pulls (NDJSON progress) and removes images', async () => {
    expect((await api('/api/images')).json()).toEqual([{ name: 'sh:latest' }])
    expect((await api('/api/images/sh%3Alatest')).json()).toMatchObject({ name: 'sh:latest', platforms: ['linux/amd64'] })
    expect((await api('/api/images/none%3Alatest')).status).toBe(404)
    const pull = await api('/api/images/pull', { method: 'POST', body: { ref: '127.0.0.1:5000/x:1' } })
    expect(pull.headers['content-type']).toBe('application/x-ndjson')
    const lines = pull.text.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines).toEqual([
      { type: 'progress', message: 'fetching', current: 1, total: 2 },
      { type: 'progress', message: 'fetching', current: 2, total: 2 },
      { type: 'done', image: '127.0.0.1:5000/x:1' },
    ])
    const failed = await api('/api/images/pull', { method: 'POST', body: { ref: 'nowhere/x' } })
    expect(failed.text.trim().split('\n').map((l) => JSON.parse(l)).at(-1)).toEqual({ type: 'error', error: 'invalid reference nowhere/x' })
    expect((await api('/api/images/pull', { method: 'POST', body: { ref: 5 } })).status).toBe(400)
    expect((await api(`/api/images/${encodeURIComponent('127.0.0.1:5000/x:1')}`, { method: 'DELETE' })).status).toBe(200)
    expect((await api('/api/images')).json()).toEqual([{ name: 'sh:latest' }])
  })

  it('turns a bad upload into a 400 with the loader\'s words', async () => {
    const res = await api('/api/images/load', { method: 'POST', body: Buffer.from('not a tar'), headers: { 'content-type': 'application/x-tar' } })
    expect(res.status).toBe(400)
    expect(res.json().error).toMatch(/could not load the archive: .*manifest\.json/)
  })

  it('serves blobs with immutable caching, ETags and byte ranges', async () => {
    const path = `/api/blobs/${images.blobDigest}`
    const full = await api(path)
    expect(full.status).toBe(200)
    expect(Buffer.compare(full.body, Buffer.from(images.blobBytes))).toBe(0)
    expect(full.headers['cache-control']).toMatch(/immutable/)
    expect(full.headers['accept-ranges']).toBe('bytes')
    expect(full.headers.etag).toBe(`"${images.blobDigest}"`)
    const part = await api(path, { headers: { range: 'bytes=10-19' } })
    expect(part.status).toBe(206)
    expect(part.headers['content-range']).toBe(`bytes 10-19/${images.blobBytes.byteLength}`)
    expect([...part.body]).toEqual([...images.blobBytes.subarray(10, 20)])
    const tail = await api(path, { headers: { range: 'bytes=-5' } })
    expect([...tail.body]).toEqual([...images.blobBytes.subarray(-5)])
    expect((await api(path, { headers: { range: 'bytes=999999-' } })).status).toBe(416)
    expect((await api(path, { headers: { 'if-none-match': `"${images.blobDigest}"` } })).status).toBe(304)
    expect((await api(path, { method: 'HEAD' })).headers['content-length']).toBe(String(images.blobBytes.byteLength))
    expect((await api(`/api/blobs/sha256:${'a'.repeat(64)}`)).status).toBe(404)
    expect((await api('/api/blobs/md5:abc')).status).toBe(400)
  })

  it('serves manifests with their media type and digest', async () => {
    const res = await api('/api/manifests/sh%3Alatest')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/vnd.oci.image.index.v1+json')
    expect(res.headers['docker-content-digest']).toBe(`sha256:${'1'.repeat(64)}`)
    expect(res.json()).toEqual({ schemaVersion: 2, manifests: [] })
  })
})

describe('runs', () => {
  it('creates a run, replays its output to a late attach, and reports the exit', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] } })
    expect(created.status).toBe(201)
    const info = created.json()
    expect(info).toMatchObject({ runtime: 'native', image: 'sh:latest', platform: 'linux/amd64', argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] })
    expect(created.headers.location).toBe(`/api/runs/${info.id}`)
    // wait for it to end before attaching: nothing may be lost
    for (let i = 0; i < 100 && (await api(`/api/runs/${info.id}`)).json().state === 'running'; i++) await new Promise((r) => setTimeout(r, 50))
    const a = await attach(server.port, `/api/runs/${info.id}/attach`, { token: server.token })
    const exit = await a.done
    expect(a.messages[0]).toMatchObject({ type: 'hello', run: { id: info.id } })
    expect(a.stdout()).toBe('out\n')
    expect(a.stderr()).toBe('err\n')
    expect(exit.status).toEqual({ code: 3, reason: 'exited' })
    const after = (await api(`/api/runs/${info.id}`)).json()
    expect(after).toMatchObject({ state: 'exited', exit: { code: 3 } })
    expect(after.timings.map((p: { name: string }) => p.name)).toEqual(['start', 'run'])
  })

  it('keeps the tail of a long output for a late attach, and says what it no longer has', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sh', '-c', 'head -c 6000000 /dev/zero | tr "\\0" x; echo; echo the-end'] } })
    const id = created.json().id as string
    for (let i = 0; i < 200 && (await api(`/api/runs/${id}`)).json().state === 'running'; i++) await new Promise((r) => setTimeout(r, 50))
    const a = await attach(server.port, `/api/runs/${id}/attach`, { token: server.token })
    await a.done
    expect(a.stderr()).toMatch(/^\[boxplay: the first \d+ bytes of this run's output are no longer kept\]/)
    expect(a.stdout().endsWith('x\nthe-end\n')).toBe(true)
    expect(a.stdout().length).toBeLessThanOrEqual(4 * 1024 * 1024)
  })

  it('streams stdin, resize and close-stdin over the socket', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['cat'], stdin: true } })
    const a = await attach(server.port, `/api/runs/${created.json().id}/attach`, { token: server.token })
    a.write('hello over ws\n')
    a.control({ type: 'resize', cols: 100, rows: 40 })
    a.control({ type: 'close-stdin' })
    const exit = await a.done
    expect(a.stdout()).toBe('hello over ws\n')
    expect(exit.status.code).toBe(0)
    expect(exit.facts.size).toBe('100x40')
  })

  it('answers a bad control message with an error message, not a dropped socket', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['cat'], stdin: true } })
    const a = await attach(server.port, `/api/runs/${created.json().id}/attach`, { token: server.token })
    a.control({ type: 'explode' })
    a.ws.send(new Uint8Array([1, 65]))
    await new Promise((r) => setTimeout(r, 200))
    expect(a.messages.filter((m) => m.type === 'error').map((m) => (m as { error: string }).error)).toEqual([
      'unknown control message type "explode": expected resize, kill or close-stdin',
      'clients may only send stdin frames (tag 0)',
    ])
    a.control({ type: 'close-stdin' })
    expect((await a.done).status.code).toBe(0)
  })

  it('drops output a slow client cannot take, and tells it how much', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sh', '-c', 'head -c 67108864 /dev/zero; echo end >&2'] } })
    const id = created.json().id as string
    const a = await attach(server.port, `/api/runs/${id}/attach`, { token: server.token })
    const socket = (a.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    socket.pause() // a client that stops reading
    for (let i = 0; i < 200 && (await api(`/api/runs/${id}`)).json().state === 'running'; i++) await new Promise((r) => setTimeout(r, 50))
    socket.resume()
    const exit = await a.done
    expect(exit.status.code).toBe(0)
    expect(a.stderr()).toMatch(/\[boxplay: \d+ bytes of output dropped: the connection could not keep up\]/)
    const received = Buffer.byteLength(a.stdout())
    expect(received).toBeGreaterThan(0)
    expect(received).toBeLessThan(64 * 1024 * 1024)
  })

  it('says "busy" with 429 past the concurrent-run limit, and accepts runs again after', async () => {
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const r = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sleep', '30'] } })
      expect(r.status).toBe(201)
      ids.push(r.json().id)
    }
    const busy = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['true'] } })
    expect(busy.status).toBe(429)
    expect(busy.json().error).toMatch(/^busy: 3 runs are already running/)
    expect(busy.headers['retry-after']).toBe('1')
    expect((await api('/api/runs')).json().filter((r: { state: string }) => r.state === 'running')).toHaveLength(3)
    const killed = await api(`/api/runs/${ids[0]}/kill`, { method: 'POST', body: { signal: 'SIGTERM' } })
    expect(killed.status).toBe(200)
    for (const id of ids.slice(1)) expect((await api(`/api/runs/${id}`, { method: 'DELETE' })).status).toBe(200)
    for (let i = 0; i < 100 && (await api('/api/runs')).json().some((r: { state: string }) => r.state === 'running'); i++) await new Promise((r) => setTimeout(r, 50))
    expect((await api(`/api/runs/${ids[0]}`)).json()).toMatchObject({ state: 'exited', exit: { signal: 'SIGTERM' } })
    expect((await api(`/api/runs/${ids[1]}`)).status).toBe(404)
    expect((await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['true'] } })).status).toBe(201)
  })

  it('kills an interactive run whose last client went away (a closed tab), not a detached batch run', async () => {
    const shell = (await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['cat'], stdin: true } })).json().id as string
    const batch = (await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sleep', '30'] } })).json().id as string
    for (const id of [shell, batch]) {
      const a = await attach(server.port, `/api/runs/${id}/attach`, { token: server.token })
      a.ws.close()
    }
    await new Promise((r) => setTimeout(r, 3500))
    expect((await api(`/api/runs/${shell}`)).json()).toMatchObject({ state: 'exited', exit: { reason: 'killed' } })
    expect((await api(`/api/runs/${batch}`)).json().state).toBe('running')
    await api(`/api/runs/${batch}`, { method: 'DELETE' })
  })

  it('tells the attach URL apart from a plain GET', async () => {
    const created = await api('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['true'] } })
    const res = await api(`/api/runs/${created.json().id}/attach`)
    expect(res.status).toBe(426)
  })
})

describe('the playground files', () => {
  it('are served with a content security policy, and nothing outside their directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boxplay-static-'))
    await mkdir(join(dir, 'assets'))
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>')
    await writeFile(join(dir, 'assets', 'app-1234.js'), 'export {}')
    const own = await startServer({ port: 0, images, runtimes: [new HostProcessRuntime()], staticDir: dir })
    try {
      const call = requester(own.port, own.token)
      const page = await call('/', { token: false })
      expect(page.status).toBe(200)
      expect(page.text).toContain('<title>t</title>')
      expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/)
      expect(page.headers['cache-control']).toBe('no-cache')
      const asset = await call('/assets/app-1234.js', { token: false })
      expect(asset.headers['content-type']).toMatch(/^text\/javascript/)
      expect(asset.headers['cache-control']).toMatch(/immutable/)
      for (const path of ['/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/assets/../../etc/hostname']) {
        const res = await call(path, { token: false })
        expect(res.status, path).toBe(404)
      }
    } finally {
      await own.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('shutdown', () => {
  it('kills every run and waits for them before it stops', async () => {
    const own = await startServer({ port: 0, images, runtimes: [new HostProcessRuntime()] })
    const call = requester(own.port, own.token)
    const a = (await call('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sleep', '60'] } })).json()
    const b = (await call('/api/runs', { method: 'POST', body: { image: 'sh:latest', cmd: ['sleep', '60'] } })).json()
    const attached = await attach(own.port, `/api/runs/${a.id}/attach`, { token: own.token })
    const runs = [own.runs.get(a.id), own.runs.get(b.id)]
    await own.close()
    expect(runs.map((r) => r.status?.reason)).toEqual(['killed', 'killed'])
    expect((await attached.done).status.reason).toBe('killed')
    await expect(call('/api/session')).rejects.toThrow(/ECONNREFUSED/)
  })
})
