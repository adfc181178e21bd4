// Layer indexes and file contents over `boxplay serve`, from the real on-disk store seeded
// with the bundled images: a client builds a lazy RootFs equal to the eager one and fetches
// only what it reads.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import { Store } from '../../server/store/store.js'
import { buildRootFs, resolveImage } from '../../web/oci/image.js'
import { buildLazyRootFs } from '../../web/oci/layer-index.js'
import { readFile, type RootFs } from '../../web/oci/rootfs.js'
import { HttpLayerIndexSource } from '../../web/runtimes/remote/layer-index-source.js'
import { ServerSource } from '../../web/runtimes/remote/sources.js'
import { requester } from './client.js'
import { HostProcessRuntime } from './fixtures.js'

let home: string
let server: RunningServer
let api: ReturnType<typeof requester>

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'boxplay-serve-lazy-'))
  const store = await Store.open({ home })
  server = await startServer({ port: 0, images: storeImages(store), runtimes: [new HostProcessRuntime()] })
  api = requester(server.port, server.token)
})
afterAll(async () => {
  await server?.close()
  await rm(home, { recursive: true, force: true })
})

function listing(fs: RootFs): string[] {
  return [...fs.walk()].map(([p, n]) => `${p} ${n.kind} ${n.mode.toString(8)} ${n.kind === 'file' ? ('size' in n.data ? n.data.size : n.data.byteLength) : ''}`)
}

describe('layer indexes from the server', () => {
  it('builds busybox lazily: the same tree, contents fetched one by one as read', async () => {
    const auth = { authorization: `Bearer ${server.token}` }
    const urls: string[] = []
    const counting: typeof fetch = (input, init) => {
      urls.push(String(input))
      return fetch(input, init)
    }
    const image = await resolveImage(new ServerSource(server.origin, { headers: auth }), 'busybox:latest')
    const lazy = await buildLazyRootFs(image, new HttpLayerIndexSource(server.origin, 'server', { headers: auth, fetch: counting }))
    expect(urls.every((u) => u.includes('/api/layers/'))).toBe(true)
    expect(urls).toHaveLength(image.layers.length)
    const eager = await buildRootFs(image)
    expect(listing(lazy)).toEqual(listing(eager))

    const sh = lazy.get('/bin/sh')
    const shEager = eager.get('/bin/sh')
    if (sh.kind !== 'file' || shEager.kind !== 'file') throw new Error('/bin/sh is not a file')
    // Compared as buffers: vitest's deep equality on 2 MB of bytes takes seconds.
    expect(Buffer.compare(await readFile(sh), await readFile(shEager))).toBe(0)
    expect(urls.filter((u) => u.includes('/api/content/'))).toHaveLength(1)
  })

  it('serves indexes and contents immutable, with token auth and clear 4xx', async () => {
    const image = await resolveImage(new ServerSource(server.origin, { headers: { authorization: `Bearer ${server.token}` } }), 'busybox:latest')
    const layer = image.layers[0]!
    const res = await api(`/api/layers/${layer.digest}/index`)
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toMatch(/immutable/)
    const index = res.json() as { digest: string; entries: { path: string; sha256?: string }[] }
    expect(index.digest).toBe(layer.digest)
    const withContent = index.entries.find((e) => e.sha256)!
    const content = await api(`/api/content/sha256:${withContent.sha256}`)
    expect(content.status).toBe(200)
    expect(content.headers['cache-control']).toMatch(/immutable/)
    // Sent gzipped, as a resource of its own (no Content-Encoding): the client inflates it.
    expect(content.headers['content-type']).toBe('application/gzip')
    expect(content.headers['content-encoding']).toBeUndefined()
    expect(createHash('sha256').update(gunzipSync(content.body)).digest('hex')).toBe(withContent.sha256)

    expect((await api(`/api/content/sha256:${'0'.repeat(64)}`)).status).toBe(404)
    expect((await api(`/api/layers/sha256:${'0'.repeat(64)}/index`)).status).toBe(404)
    expect((await api('/api/layers/nonsense/index')).status).toBe(400)
    const noToken = await fetch(`${server.origin}/api/layers/${layer.digest}/index`)
    expect(noToken.status).toBe(401)
    // The config blob is in the store but is no layer: refused with words.
    const config = await api(`/api/layers/${image.manifest.config.digest}/index`)
    expect(config.status).toBe(400)
    expect(config.json().error).toMatch(/cannot be indexed as a layer/)
  })
})
