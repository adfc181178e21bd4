// The v86 tree cache (server/v86/tree-cache.ts): a layer is indexed once per blob digest and
// reused whatever else changes; a damaged cache file or pack is noticed and rebuilt, and a
// guest never sees wrong bytes. The last test boots the real guest on a cached tree.

import { mkdtempSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { digestOf } from '../../web/oci/digest.js'
import { readFile as readNode } from '../../web/oci/rootfs.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { LayerRef, RunImage } from '../../web/runtimes/runtime.js'
import { V86Runtime } from '../../web/runtimes/v86/runtime.js'
import { TREE_CACHE_FORMAT, TreeCache } from '../../server/v86/tree-cache.js'
import { gzipLayer } from '../../images/oci-writer.js'
import { type LayerEntry, writeTar } from '../../images/tar-writer.js'
import { assets, bundled } from './helpers.js'

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

interface Layer {
  ref: LayerRef
  blob: Uint8Array
}

async function layer(entries: LayerEntry[]): Promise<Layer> {
  const tar = writeTar(entries)
  const blob = gzipLayer(tar)
  return { ref: { digest: await digestOf(blob), diffId: await digestOf(tar), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: blob.length }, blob }
}

/** An image in memory: its blobs are counted, so a test can see whether a layer was read. */
function image(name: string, layers: Layer[], env: string[] = []): RunImage & { blobReads: string[] } {
  const blobReads: string[] = []
  return {
    name,
    digest: `sha256:${name.length.toString(16).padStart(64, '0')}`,
    platform: { os: 'linux', architecture: '386' },
    config: { Env: env, Cmd: ['sh'] },
    layers: layers.map((l) => l.ref),
    blobReads,
    async blob(digest) {
      blobReads.push(digest)
      const found = layers.find((l) => l.ref.digest === digest)
      if (!found) throw new Error(`no blob ${digest}`)
      return found.blob
    },
  }
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'boxplay-tree-cache-'))
const text = async (fs: Awaited<ReturnType<TreeCache['rootFs']>>, path: string) => {
  const node = fs.get(path)
  if (node.kind !== 'file') throw new Error(`${path} is a ${node.kind}`)
  return dec(await readNode(node))
}

describe('v86 tree cache', () => {
  test('built once per layer digest, reused across images, configs, processes and mtimes', async () => {
    const dir = tempDir()
    const base = await layer([
      { type: 'dir', path: 'etc', mode: 0o755 },
      { type: 'file', path: 'etc/motd', mode: 0o644, data: enc('hello from the base\n') },
      { type: 'file', path: 'etc/copy', mode: 0o600, data: enc('hello from the base\n') },
      { type: 'symlink', path: 'etc/link', target: 'motd' },
    ])
    const top = await layer([{ type: 'file', path: 'etc/motd', mode: 0o644, data: enc('the top layer wins\n') }])

    const first = new TreeCache(dir)
    const a = image('a', [base])
    expect(await text(await first.rootFs(a), '/etc/link')).toBe('hello from the base\n')
    expect(first.events).toEqual([{ digest: base.ref.digest, how: 'built' }])
    expect(a.blobReads).toEqual([base.ref.digest])

    // Another image (other name, config, and a layer on top), in a fresh cache object as a
    // new process would have: the base comes from disk, only the new layer is built.
    const touched = statSync(first.paths(base.ref.digest).json).mtimeMs
    const later = new TreeCache(dir)
    const b = image('another-image', [base, top], ['PATH=/bin', 'X=1'])
    const fsB = await later.rootFs(b)
    expect(await text(fsB, '/etc/motd')).toBe('the top layer wins\n')
    expect(await text(fsB, '/etc/copy')).toBe('hello from the base\n')
    expect(fsB.get('/etc/copy').mode).toBe(0o600)
    expect(later.events).toEqual([
      { digest: base.ref.digest, how: 'loaded' },
      { digest: top.ref.digest, how: 'built' },
    ])
    expect(b.blobReads).toEqual([top.ref.digest])
    expect(statSync(later.paths(base.ref.digest).json).mtimeMs).toBe(touched)

    // The key is the blob digest and the format version: the files say so by name.
    const hex = base.ref.digest.slice('sha256:'.length)
    expect(readdirSync(dir).sort()).toEqual(
      [`${hex}.pack`, `${hex}.v${TREE_CACHE_FORMAT}.json`, `${top.ref.digest.slice(7)}.pack`, `${top.ref.digest.slice(7)}.v${TREE_CACHE_FORMAT}.json`].sort(),
    )
  })

  test('a corrupt index file, a short pack and a changed body are each detected and rebuilt', async () => {
    const dir = tempDir()
    const l = await layer([
      { type: 'file', path: 'one', mode: 0o644, data: enc('first body\n') },
      { type: 'file', path: 'two', mode: 0o644, data: enc('second body\n') },
    ])
    await new TreeCache(dir).rootFs(image('x', [l]))
    const { json, pack } = new TreeCache(dir).paths(l.ref.digest)

    // One byte of the index changed (still JSON): its checksum fails.
    const original = readFileSync(json, 'utf8')
    writeFileSync(json, original.replace('"one"', '"onf"'))
    let cache = new TreeCache(dir)
    let fs = await cache.rootFs(image('x', [l]))
    expect(cache.events[0]).toMatchObject({ how: 'rebuilt', why: expect.stringContaining('checksum') })
    expect(await text(fs, '/one')).toBe('first body\n')

    // Not JSON at all.
    writeFileSync(json, original.slice(0, 40))
    cache = new TreeCache(dir)
    await cache.rootFs(image('x', [l]))
    expect(cache.events[0]).toMatchObject({ how: 'rebuilt', why: expect.stringContaining('not JSON') })

    // The pack cut short.
    truncateSync(pack, 5)
    cache = new TreeCache(dir)
    fs = await cache.rootFs(image('x', [l]))
    expect(cache.events[0]).toMatchObject({ how: 'rebuilt', why: expect.stringContaining('bytes') })
    expect(await text(fs, '/two')).toBe('second body\n')

    // Same size, different bytes: found when read, the layer rebuilt, the right bytes served.
    const bytes = readFileSync(pack)
    bytes[0] = bytes[0]! ^ 0xff
    writeFileSync(pack, bytes)
    cache = new TreeCache(dir)
    fs = await cache.rootFs(image('x', [l]))
    expect(cache.events).toEqual([{ digest: l.ref.digest, how: 'loaded' }])
    expect(await text(fs, '/one')).toBe('first body\n')
    expect(cache.events[1]).toMatchObject({ how: 'rebuilt', why: expect.stringContaining('does not match') })
    expect(readFileSync(pack)[0]).toBe(bytes[0]! ^ 0xff)
  })

  test('a guest boots on a cached tree and reads its files', async () => {
    const dir = tempDir()
    const busybox = await bundled('busybox')
    const extra = await layer([{ type: 'file', path: 'greeting', mode: 0o644, data: enc('read through the tree cache\n') }])
    const img: RunImage = {
      ...busybox,
      layers: [...busybox.layers, extra.ref],
      blob: (digest) => (digest === extra.ref.digest ? Promise.resolve(extra.blob) : busybox.blob(digest)),
    }
    for (const round of ['built', 'loaded']) {
      const trees = new TreeCache(dir)
      const runtime = new V86Runtime({ assets, rootFs: (i) => trees.rootFs(i) })
      const r = await runtime.start({ image: img, cmd: ['sh', '-c', 'cat /greeting; busybox | head -1 | cut -c1-7'] })
      const out = await collectOutput(r)
      expect(out.stdout).toBe('read through the tree cache\nBusyBox\n')
      expect(out.status.code).toBe(0)
      expect(new Set(trees.events.map((e) => e.how))).toEqual(new Set([round]))
    }
  })
})
