// Batched file contents over `boxplay serve` (GET /api/contents, web/oci/content-batch.ts):
// the right bytes in the order asked, each member checked against its hash by the client,
// bad requests refused with words, the caps enforced; and the browser-side source sends
// contents asked for together as one request, a lone read by its own URL.

import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import type { ImageService } from '../../server/http/image-service.js'
import { Store } from '../../server/store/store.js'
import { MAX_BATCH_BYTES, MAX_BATCH_CONTENTS, splitBatch } from '../../web/oci/content-batch.js'
import { DigestError } from '../../web/oci/digest.js'
import { resolveImage } from '../../web/oci/image.js'
import { HttpLayerIndexSource } from '../../web/runtimes/remote/layer-index-source.js'
import { ServerSource } from '../../web/runtimes/remote/sources.js'
import { requester } from './client.js'
import { HostProcessRuntime } from './fixtures.js'

let home: string
let server: RunningServer
let api: ReturnType<typeof requester>
let images: ImageService
/** Contents of busybox's layer: sha256 and size, the larger ones first. */
let contents: { sha256: string; size: number }[]

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'boxplay-serve-batch-'))
  const store = await Store.open({ home })
  images = storeImages(store)
  server = await startServer({ port: 0, images, runtimes: [new HostProcessRuntime()] })
  api = requester(server.port, server.token)
  const image = await resolveImage(new ServerSource(server.origin, { headers: { authorization: `Bearer ${server.token}` } }), 'busybox:latest')
  const index = (await api(`/api/layers/${image.layers[0]!.digest}/index`)).json() as { entries: { sha256?: string; size?: number }[] }
  const seen = new Set<string>()
  contents = index.entries
    .filter((e): e is { sha256: string; size: number } => e.sha256 !== undefined && e.size !== undefined && !seen.has(e.sha256) && seen.add(e.sha256) !== undefined)
    .sort((a, b) => b.size - a.size)
})
afterAll(async () => {
  await server?.close()
  await rm(home, { recursive: true, force: true })
})

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

describe('GET /api/contents', () => {
  it('sends the contents asked for, framed in the order asked, immutable', async () => {
    expect(contents.length).toBeGreaterThanOrEqual(3)
    const asked = [contents[2]!, contents[0]!, contents[1]!]
    const res = await api(`/api/contents?sha256=${asked.map((c) => c.sha256).join(',')}`)
    expect(res.status, res.text).toBe(200)
    expect(res.headers['cache-control']).toMatch(/immutable/)
    expect(res.headers.etag).toBeTruthy()
    const members = splitBatch(new Uint8Array(res.body), asked.length)
    members.forEach((m, i) => {
      const bytes = gunzipSync(m)
      expect(bytes.byteLength).toBe(asked[i]!.size)
      expect(sha(bytes)).toBe(asked[i]!.sha256)
    })
    // A cache revalidating the same URL gets a 304.
    const again = await api(`/api/contents?sha256=${asked.map((c) => c.sha256).join(',')}`, { headers: { 'if-none-match': String(res.headers.etag) } })
    expect(again.status).toBe(304)
  })

  it('refuses bad requests with words: no list, bad hashes, repeats, too many, unknown, wrong method, no token', async () => {
    const one = contents[0]!.sha256
    const expect400 = async (query: string, words: RegExp) => {
      const res = await api(`/api/contents${query}`)
      expect(res.status, query).toBe(400)
      expect(res.json().error).toMatch(words)
    }
    await expect400('', /name the contents/)
    await expect400('?sha256=', /name the contents/)
    await expect400(`?sha256=${one},nothex`, /not a content hash/)
    await expect400(`?sha256=${one.toUpperCase()}`, /not a content hash/)
    await expect400(`?sha256=${one},${one}`, /each content once/)
    const many = Array.from({ length: MAX_BATCH_CONTENTS + 1 }, (_, i) => sha(new Uint8Array([i])))
    await expect400(`?sha256=${many.join(',')}`, /at most 64/)
    const unknown = await api(`/api/contents?sha256=${one},${'0'.repeat(64)}`)
    expect(unknown.status).toBe(404)
    expect(unknown.json().error).toContain(`sha256:${'0'.repeat(64)}`)
    expect((await api(`/api/contents?sha256=${one}`, { method: 'POST' })).status).toBe(405)
    expect((await api(`/api/contents?sha256=${one}`, { token: false })).status).toBe(401)
  })

  it('refuses a batch over its byte cap before reading anything', async () => {
    // A publisher that claims huge files: the cap is checked on sizes, so nothing is read.
    const huge: ImageService = Object.assign(Object.create(images) as ImageService, {
      content: async () => ({ path: '/nonexistent', size: Math.ceil(MAX_BATCH_BYTES / 2) }),
    })
    const big = await startServer({ port: 0, images: huge, runtimes: [new HostProcessRuntime()] })
    try {
      const res = await requester(big.port, big.token)(`/api/contents?sha256=${contents[0]!.sha256},${contents[1]!.sha256}`)
      expect(res.status).toBe(413)
      expect(res.json().error).toMatch(/cap: ask for fewer/)
    } finally {
      await big.close()
    }
  })
})

describe('HttpLayerIndexSource batching', () => {
  const auth = () => ({ authorization: `Bearer ${server.token}` })

  it('sends contents asked for together as one batch, a lone one by its own URL, each verified', async () => {
    const urls: string[] = []
    const counting: typeof fetch = (input, init) => (urls.push(String(input)), fetch(input, init))
    const source = new HttpLayerIndexSource(server.origin, 'server', { headers: auth(), fetch: counting })
    const some = contents.slice(0, 5)
    const got = await Promise.all(some.map((c) => source.content(c.sha256, c.size)))
    got.forEach((b, i) => expect(sha(b)).toBe(some[i]!.sha256))
    expect(urls).toHaveLength(1)
    expect(urls[0]).toContain('/api/contents?sha256=')
    urls.length = 0
    const lone = await source.content(contents[0]!.sha256, contents[0]!.size)
    expect(sha(lone)).toBe(contents[0]!.sha256)
    expect(urls).toHaveLength(1)
    expect(urls[0]).toContain('/api/content/sha256:')
  })

  it('a member that fails its hash fails only its own read', async () => {
    const tamper: typeof fetch = async (input, init) => {
      const res = await fetch(input, init)
      if (!String(input).includes('/api/contents?')) return res
      const body = new Uint8Array(await res.arrayBuffer())
      body[body.byteLength - 10]! ^= 0xff // inside the last member's gzip data
      return new Response(body, { status: 200 })
    }
    const source = new HttpLayerIndexSource(server.origin, 'server', { headers: auth(), fetch: tamper })
    // Sorted by hash on the wire: the last member is the largest hash.
    const some = contents.slice(0, 3)
    const last = [...some].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1))[2]!
    const results = await Promise.allSettled(some.map((c) => source.content(c.sha256, c.size)))
    results.forEach((r, i) => {
      if (some[i] === last) {
        expect(r.status).toBe('rejected')
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DigestError)
      } else {
        expect(r.status).toBe('fulfilled')
      }
    })
  })

  it('falls back to one request per content when the batch is refused (an older server)', async () => {
    const urls: string[] = []
    const old: typeof fetch = async (input, init) => {
      urls.push(String(input))
      if (String(input).includes('/api/contents?')) return new Response('{"error":"not found"}', { status: 404 })
      return fetch(input, init)
    }
    const source = new HttpLayerIndexSource(server.origin, 'server', { headers: auth(), fetch: old })
    const some = contents.slice(0, 3)
    const got = await Promise.all(some.map((c) => source.content(c.sha256, c.size)))
    got.forEach((b, i) => expect(sha(b)).toBe(some[i]!.sha256))
    expect(urls.filter((u) => u.includes('/api/content/'))).toHaveLength(3)
  })
})
