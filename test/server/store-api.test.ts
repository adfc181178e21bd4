// The image endpoints over the real on-disk store (a fresh $BOXPLAY_HOME seeded with the
// bundled images from dist/images): listing, inspecting, manifests and blobs a browser
// runtime resolves an image through, removal.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import { Store } from '../../server/store/store.js'
import { resolveImage, buildRootFs } from '../../web/oci/image.js'
import { ServerSource } from '../../web/runtimes/remote/sources.js'
import { requester } from './client.js'
import { HostProcessRuntime } from './fixtures.js'

let home: string
let server: RunningServer
let api: ReturnType<typeof requester>

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'boxplay-serve-store-'))
  const store = await Store.open({ home })
  server = await startServer({ port: 0, images: storeImages(store), runtimes: [new HostProcessRuntime()] })
  api = requester(server.port, server.token)
})
afterAll(async () => {
  await server?.close()
  await rm(home, { recursive: true, force: true })
})

describe('images from the store', () => {
  it('lists the bundled images with their platforms', async () => {
    const list = (await api('/api/images')).json() as { name: string; platforms: string[] }[]
    const byName = new Map(list.map((i) => [i.name, i.platforms]))
    expect(byName.get('busybox:latest')).toEqual(['linux/386'])
    expect(byName.get('hello:latest')).toEqual(expect.arrayContaining(['linux/386', 'wasi/wasm']))
  })

  it('inspects an image by its short name, and 404s an unknown one with words', async () => {
    const res = await api('/api/images/busybox')
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ name: 'busybox:latest', platforms: ['linux/386'] })
    const missing = await api('/api/images/nothing-here')
    expect(missing.status).toBe(404)
    expect(missing.json().error).toMatch(/no image "nothing-here" in the store/)
  })

  it('lets a client resolve and unpack an image through /api/manifests and /api/blobs', async () => {
    const source = new ServerSource(server.origin, { headers: { authorization: `Bearer ${server.token}` } })
    const image = await resolveImage(source, 'hello:latest', { os: 'wasi', architecture: 'wasm' })
    expect(image.platform).toEqual({ os: 'wasi', architecture: 'wasm' })
    const fs = await buildRootFs(image)
    const entry = image.config.Entrypoint?.[0]
    expect(entry).toBeDefined()
    expect(fs.lookup(entry!)?.kind).toBe('file')
  })

  it('serves a stored blob with a byte range', async () => {
    const manifest = await api('/api/manifests/busybox%3Alatest')
    expect(manifest.status).toBe(200)
    const layer = manifest.json().layers[0] as { digest: string; size: number }
    const part = await api(`/api/blobs/${layer.digest}`, { headers: { range: 'bytes=0-1' } })
    expect(part.status).toBe(206)
    expect([...part.body]).toEqual([0x1f, 0x8b]) // a gzip layer
    expect(part.headers['content-range']).toBe(`bytes 0-1/${layer.size}`)
  })

  it('removes a name', async () => {
    expect((await api('/api/images/lua%3Alatest', { method: 'DELETE' })).status).toBe(200)
    const names = ((await api('/api/images')).json() as { name: string }[]).map((i) => i.name)
    expect(names).not.toContain('lua:latest')
    expect((await api('/api/images/lua%3Alatest', { method: 'DELETE' })).status).toBe(404)
  })

  it('says the server cannot pull when no puller is wired', async () => {
    const res = await api('/api/images/pull', { method: 'POST', body: { ref: '127.0.0.1:1/x:1' } })
    const last = res.text.trim().split('\n').map((l) => JSON.parse(l)).at(-1)
    expect(last).toEqual({ type: 'error', error: 'this server cannot pull images: use `boxplay pull` on its machine' })
  })
})
