// prune also frees what the server published for browsers (lazy layer indexes and file
// contents): those of pruned layers go, those of kept images stay and still serve.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { lazyPaths, publishLayer } from '../../server/image/layer-contents.js'
import { Store } from '../../server/store/store.js'
import type { LayerIndex } from '../../web/oci/layer-index.js'

const home = mkdtempSync(join(tmpdir(), 'boxplay-prune-lazy-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

it('drops the indexes and contents of pruned layers and keeps those of kept images', async () => {
  const store = await Store.open({ home })
  const busybox = await store.runImage('busybox')
  const hello = await store.runImage('hello', { os: 'linux', architecture: '386' })
  const paths = lazyPaths(home)
  for (const image of [busybox, hello]) {
    for (const layer of image.layers) await publishLayer(home, layer.digest, store.blobPath(layer.digest))
  }
  const contentsBefore = readdirSync(join(home, 'content')).length
  await store.removeNames(['busybox'])
  const result = await store.prune()

  for (const layer of busybox.layers) expect(existsSync(paths.index(layer.digest))).toBe(false)
  for (const layer of hello.layers) expect(existsSync(paths.index(layer.digest))).toBe(true)
  const contentsAfter = readdirSync(join(home, 'content')).length
  expect(contentsAfter).toBeGreaterThan(0)
  expect(contentsAfter).toBeLessThan(contentsBefore)
  expect(result.bytes).toBeGreaterThan(0)
  // What is left still serves: every content hello's indexes name is still there.
  for (const layer of hello.layers) {
    const index = JSON.parse(readFileSync(paths.index(layer.digest), 'utf8')) as LayerIndex
    const named = index.entries.filter((e) => e.sha256)
    expect(named.length).toBeGreaterThan(0)
    for (const e of named) expect(existsSync(paths.content(e.sha256!))).toBe(true)
  }
})
