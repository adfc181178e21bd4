// prune also frees what the server published for browsers (lazy layer indexes and file
// contents): those of pruned layers go, those of kept images stay and still serve.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
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

it('publishes again a layer stored before contents were gzipped, and prune drops the plain files', async () => {
  const old = mkdtempSync(join(tmpdir(), 'boxplay-lazy-plain-'))
  try {
    const store = await Store.open({ home: old })
    const hello = await store.runImage('hello', { os: 'linux', architecture: '386' })
    const layer = hello.layers[0]!
    const paths = lazyPaths(old)
    await publishLayer(old, layer.digest, store.blobPath(layer.digest))
    // Turn it into what an older boxplay left: content/HEX holding the plain bytes.
    const index = JSON.parse(readFileSync(paths.index(layer.digest), 'utf8')) as LayerIndex
    const hexes = index.entries.filter((e) => e.sha256).map((e) => e.sha256!)
    for (const hex of hexes) {
      writeFileSync(join(old, 'content', hex), gunzipSync(readFileSync(paths.content(hex))))
      rmSync(paths.content(hex))
    }

    await publishLayer(old, layer.digest, store.blobPath(layer.digest))
    for (const hex of hexes) expect(existsSync(paths.content(hex))).toBe(true)
    await store.prune()
    const left = readdirSync(join(old, 'content'))
    expect(left.filter((n) => !n.endsWith('.gz'))).toEqual([])
    expect(left.length).toBe(new Set(hexes).size)
  } finally {
    rmSync(old, { recursive: true, force: true })
  }
})

it("drops the v86 tree cache of pruned layers, keeps kept images' trees, and clears what is not a current cache file", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxplay-prune-trees-'))
  try {
    const store = await Store.open({ home: dir })
    const { TreeCache, TREE_CACHE_FORMAT } = await import('../../server/v86/tree-cache.js')
    const trees = new TreeCache(join(dir, 'cache', 'v86-trees'))
    const busybox = await store.runImage('busybox')
    const hello = await store.runImage('hello', { os: 'linux', architecture: '386' })
    await trees.rootFs(busybox)
    await trees.rootFs(hello)
    const hexOf = (digest: string) => digest.slice('sha256:'.length)
    const treeDir = join(dir, 'cache', 'v86-trees')
    // An index of an older format of a kept layer, and a file that is not the cache's.
    const keptHex = hexOf(hello.layers[0]!.digest)
    writeFileSync(join(treeDir, `${keptHex}.v${TREE_CACHE_FORMAT - 1}.json`), '{}')
    writeFileSync(join(treeDir, 'README'), 'not ours')

    await store.removeNames(['busybox'])
    const result = await store.prune()
    const left = new Set(readdirSync(treeDir))
    for (const layer of busybox.layers) {
      expect(left.has(`${hexOf(layer.digest)}.pack`)).toBe(false)
      expect(left.has(`${hexOf(layer.digest)}.v${TREE_CACHE_FORMAT}.json`)).toBe(false)
    }
    for (const layer of hello.layers) {
      expect(left.has(`${hexOf(layer.digest)}.pack`)).toBe(true)
      expect(left.has(`${hexOf(layer.digest)}.v${TREE_CACHE_FORMAT}.json`)).toBe(true)
    }
    expect(left.has(`${keptHex}.v${TREE_CACHE_FORMAT - 1}.json`)).toBe(false)
    expect(left.has('README')).toBe(false)
    expect(result.bytes).toBeGreaterThan(0)
    // The kept tree still loads from the cache, without a rebuild.
    const again = new TreeCache(treeDir)
    await again.rootFs(hello)
    expect(again.events.every((e) => e.how === 'loaded')).toBe(true)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
