// The copy-on-write view under each run, without a worker: the image tree never changes,
// hardlinks stay one file, and the delta rebuilds exactly the run's tree.

import { describe, expect, it } from 'vitest'
import { RootFs, type DirNode, type FileNode } from '../../web/oci/rootfs.js'
import { applyDelta, FsView } from '../../web/runtimes/wasi/fs-view.js'
import { conformanceTree } from './conformance-tree.js'

const text = (n: FileNode | undefined) => new TextDecoder().decode(n?.data as Uint8Array)

function snapshot(fs: RootFs): string {
  return [...fs.walk()].map(([p, n]) => `${p}:${n.kind}:${n.kind === 'file' ? text(n) : n.kind === 'symlink' ? n.target : ''}`).join('\n')
}

function rebuilt(base: RootFs, view: FsView): RootFs {
  return new RootFs(applyDelta(base.root, view.delta(), (p) => base.lookup(p, false)) as DirNode)
}

describe('FsView', () => {
  it('writes, renames and deletes in the view leave the image tree as it was', () => {
    const base = conformanceTree()
    const before = snapshot(base)
    const view = new FsView(base.root)
    const etc = view.resolve(view.base, [], ['etc'], true)
    if (typeof etc === 'number' || etc.node.kind !== 'dir') throw new Error('no /etc')
    const hard1 = view.child(etc.node, 'hard1') as FileNode
    view.write(hard1, 0, new TextEncoder().encode('HARD'))
    const fixed = view.unlink(etc.node, 'fixed')!
    view.link(etc.node, 'moved', fixed)
    view.link(view.root, 'new.txt', view.write(view.newFile(), 0, new TextEncoder().encode('new')))
    expect(snapshot(base)).toBe(before)

    const after = rebuilt(base, view)
    expect(text(after.lookup('/etc/hard1') as FileNode)).toBe('HARD\n')
    // the other name of the hardlink sees the write too, and they are still one node
    expect(after.lookup('/etc/hard2')).toBe(after.lookup('/etc/hard1'))
    expect(after.lookup('/etc/fixed')).toBeUndefined()
    expect(text(after.lookup('/etc/moved') as FileNode)).toBe('fixed\n')
    expect(after.lookup('/etc/moved')).toBe(base.lookup('/etc/fixed')) // unchanged bytes are shared, not copied
    expect(text(after.lookup('/new.txt') as FileNode)).toBe('new')
    expect(after.lookup('/lib', false)?.kind).toBe('symlink')
  })

  it('an unchanged view exports nothing but a reference to the image', () => {
    const base = conformanceTree()
    const view = new FsView(base.root)
    expect(view.delta()).toEqual({ kind: 'same', path: '/' })
  })

  it('two views of one image do not see each other', () => {
    const base = conformanceTree()
    const a = new FsView(base.root)
    const b = new FsView(base.root)
    a.link(a.root, 'only-in-a', a.newFile())
    expect(a.child(a.root, 'only-in-a')).toBeDefined()
    expect(b.child(b.root, 'only-in-a')).toBeUndefined()
  })

  it('link counts follow link and unlink, inode numbers survive copy-on-write', () => {
    const base = conformanceTree()
    const view = new FsView(base.root)
    const etc = base.root.entries.get('etc') as DirNode
    const hard = etc.entries.get('hard1') as FileNode
    const ino = view.stat(hard).ino
    expect(view.stat(hard).nlink).toBe(2n)
    view.unlink(etc, 'hard2')
    expect(view.stat(hard).nlink).toBe(1n)
    view.write(hard, 0, new Uint8Array([1]))
    expect(view.stat(hard).ino).toBe(ino)
    expect(view.stat(view.root).nlink).toBe(4n) // ".", "..", /etc and /tmp
  })
})
