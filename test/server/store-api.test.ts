// The image endpoints over the real on-disk store (a fresh $BOXPLAY_HOME seeded with the
// bundled images from dist/images): listing, inspecting, manifests and blobs a browser
// runtime resolves an image through, removal.

import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import { bundledImagesDir } from '../../server/store/paths.js'
import { Store } from '../../server/store/store.js'
import { startRegistry } from '../helpers/registry.js'
import { resolveImage, buildRootFs } from '../../web/oci/image.js'
import { pullImage } from '../../web/runtimes/remote/pull.js'
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
    const brief = (await api('/api/images?brief')).json() as { name: string }[]
    expect(brief.map((i) => i.name)).toEqual([...byName.keys()].sort())
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

  it('pulls from a registry with NDJSON progress, and the image is then listed and inspectable', async () => {
    const registry = await startRegistry()
    try {
      const push = spawnSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${bundledImagesDir()}:busybox:latest`, `docker://${registry.host}/served/bb:1`], { encoding: 'utf8' })
      expect(push.status, push.stderr).toBe(0)
      const res = await api('/api/images/pull', { method: 'POST', body: { ref: `${registry.host}/served/bb:1` } })
      expect(res.status).toBe(200)
      const events = res.text.trim().split('\n').map((l) => JSON.parse(l))
      expect(events.at(-1)).toEqual({ type: 'done', image: `${registry.host}/served/bb:1` })
      expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(0)
      const names = ((await api('/api/images')).json() as { name: string }[]).map((i) => i.name)
      expect(names).toContain(`${registry.host}/served/bb:1`)
      // the client the playground uses: progress events, then the stored name or the error
      const seen: string[] = []
      const again = await pullImage(`${registry.host}/served/bb:1`, { baseUrl: server.origin, token: server.token, onProgress: (e) => seen.push(e.message) })
      expect(again).toBe(`${registry.host}/served/bb:1`)
      await expect(pullImage(`${registry.host}/served/nothing:1`, { baseUrl: server.origin, token: server.token })).rejects.toThrow(/pulling .*nothing:1 failed: .*nothing/)
    } finally {
      await registry.stop()
    }
  })

  it('loads an uploaded docker-save tarball into the store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boxplay-serve-load-'))
    try {
      const archive = join(dir, 'saved.tar')
      const save = spawnSync('skopeo', ['copy', `oci:${bundledImagesDir()}:busybox:latest`, `docker-archive:${archive}:uploaded/bb:2`], { encoding: 'utf8' })
      expect(save.status, save.stderr).toBe(0)
      const res = await api('/api/images/load', { method: 'POST', body: await readFile(archive), headers: { 'content-type': 'application/x-tar' } })
      expect(res.status, res.text).toBe(200)
      expect(res.json().images).toEqual(['uploaded/bb:2'])
      expect((await api('/api/images/uploaded%2Fbb%3A2')).json()).toMatchObject({ platforms: ['linux/386'] })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
