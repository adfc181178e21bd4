// A container's kept layer read back as a change set (web/store/layer-changes.ts), in Node:
// the one layer writer's output comes back entry for entry — files with their bytes and
// modes, symlinks, deletions as whiteouts, opaque directories — and applying it to a tree
// gives what applying the change set itself gives. Hardlinks in a layer become copies.

import { describe, expect, test } from 'vitest'
import { applyChangeSet, type ChangeSet } from '../../web/oci/changes.js'
import { writeLayer, writeLayerTar } from '../../web/oci/layer-writer.js'
import { RootFs, readFile } from '../../web/oci/rootfs.js'
import { changesFromLayer, changesFromTar, LayerChangesError } from '../../web/store/layer-changes.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

const changes: ChangeSet = {
  entries: [
    { path: '/etc', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 5 },
    { path: '/etc/motd', kind: 'deleted' },
    { path: '/etc/app.conf', kind: 'file', mode: 0o600, uid: 1000, gid: 1000, mtime: 5, data: enc.encode('key=value\n') },
    { path: '/opt', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 5, opaque: true },
    { path: '/opt/new', kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 5, target: '/etc/app.conf' },
  ],
}

function base(): RootFs {
  const fs = new RootFs()
  applyChangeSet(fs, {
    entries: [
      { path: '/etc', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
      { path: '/etc/motd', kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, data: enc.encode('hi') },
      { path: '/opt', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
      { path: '/opt/old', kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, data: enc.encode('old') },
    ],
  })
  return fs
}

const listing = (fs: RootFs) => [...fs.walk()].map(([p, n]) => `${n.kind} ${p} ${n.mode.toString(8)} ${n.uid}`)

describe('a kept layer read back', () => {
  test('round-trips the writer’s change set, whiteouts and opaque directories included', async () => {
    const layer = await writeLayer(changes, { epoch: 100 })
    const back = await changesFromLayer(layer.mediaType, layer.blob)
    expect(back.entries.map((e) => `${e.kind} ${e.path}${e.kind === 'dir' && e.opaque ? ' opaque' : ''}`)).toEqual([
      'dir /etc',
      'deleted /etc/motd',
      'file /etc/app.conf',
      'dir /opt opaque',
      'symlink /opt/new',
    ])
    const viaLayer = applyChangeSet(base(), back)
    const direct = applyChangeSet(base(), changes)
    expect(listing(viaLayer)).toEqual(listing(direct))
    const conf = viaLayer.get('/etc/app.conf')
    expect(conf.kind === 'file' && dec.decode(await readFile(conf))).toBe('key=value\n')
    expect(viaLayer.lookup('/opt/old')).toBeUndefined()
    // Written again, the read-back set gives the same layer: a resume-and-save keeps the digest.
    expect((await writeLayer(back, { epoch: 100 })).digest).toBe(layer.digest)
  })

  test('hardlinks become copies; a link to nothing before it is refused', async () => {
    const { tar } = await writeLayerTar({ entries: [{ path: '/a', kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, data: enc.encode('x') }] }, { epoch: 10 })
    // A hardlink header appended by hand (typeflag 1) before the end blocks.
    const link = new Uint8Array(512)
    const put = (o: number, t: string) => link.set(enc.encode(t), o)
    put(0, 'b')
    put(100, '0000644\0')
    put(108, '0000000\0')
    put(116, '0000000\0')
    put(124, '00000000000\0')
    put(136, '00000000012\0')
    link.fill(0x20, 148, 156)
    put(156, '1')
    put(157, 'a')
    put(257, 'ustar\0')
    put(263, '00')
    let sum = 0
    for (const b of link) sum += b
    put(148, `${sum.toString(8).padStart(6, '0')}\0 `)
    const body = tar.subarray(0, tar.length - 1024)
    const withLink = new Uint8Array([...body, ...link, ...new Uint8Array(1024)])
    const back = changesFromTar(withLink)
    expect(back.entries.map((e) => `${e.kind} ${e.path}`)).toEqual(['file /a', 'file /b'])
    const dangling = new Uint8Array([...link, ...new Uint8Array(1024)])
    expect(() => changesFromTar(dangling)).toThrow(LayerChangesError)
  })
})
