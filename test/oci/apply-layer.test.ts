import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ApplyLayerError, applyLayer } from '../../web/oci/apply-layer.js'
import { RootFs, type FileNode } from '../../web/oci/rootfs.js'
import { readTarSync } from '../../web/oci/tar.js'
import { tarTree } from '../helpers/registry.js'
import { archive, entry, text } from './tar-build.js'

const work = mkdtempSync(join(tmpdir(), 'boxplay-apply-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const decode = (b: Uint8Array): string => new TextDecoder().decode(b)

function contents(fs: RootFs, path: string): string {
  const node = fs.get(path, false)
  if (node.kind !== 'file') throw new Error(`${path} is a ${node.kind}`)
  return decode(node.data as Uint8Array)
}

function names(fs: RootFs, path: string): string[] {
  const node = fs.get(path)
  if (node.kind !== 'dir') throw new Error(`${path} is not a dir`)
  return [...node.entries.keys()].sort()
}

function apply(fs: RootFs, tar: Uint8Array) {
  return applyLayer(fs, readTarSync(tar))
}

describe('applyLayer with layers made by GNU tar', () => {
  test('whiteouts delete, opaque dirs hide lower contents but keep their own, later layers win', async () => {
    const fs = new RootFs()
    apply(
      fs,
      await tarTree({
        'etc/passwd': 'root:x:0:0\n',
        'etc/motd': 'hello\n',
        'opt/app/old.txt': 'old\n',
        'opt/app/sub/deep.txt': 'deep\n',
        'var/log/keep': 'keep\n',
        'usr/bin/tool': { file: 'v1', mode: 0o755 },
      }),
    )
    expect(names(fs, '/opt/app')).toEqual(['old.txt', 'sub'])

    const summary = apply(
      fs,
      await tarTree({
        'etc/.wh.motd': '',
        'etc/.wh.not-there': '',
        'opt/app/.wh..wh..opq': '',
        'opt/app/new.txt': 'new\n',
        'opt/app/sub/fresh.txt': 'fresh\n',
        'usr/bin/tool': { file: 'v2', mode: 0o700 },
      }),
    )
    expect(summary.whiteouts).toBe(2)
    expect(summary.opaqueDirs).toBe(1)
    expect(fs.lookup('/etc/motd')).toBeUndefined()
    expect(contents(fs, '/etc/passwd')).toBe('root:x:0:0\n')
    // opaque: old.txt and sub/deep.txt came from below and are hidden; this layer's entries stay
    expect(names(fs, '/opt/app')).toEqual(['new.txt', 'sub'])
    expect(names(fs, '/opt/app/sub')).toEqual(['fresh.txt'])
    expect(contents(fs, '/var/log/keep')).toBe('keep\n')
    expect(contents(fs, '/usr/bin/tool')).toBe('v2')
    expect(fs.get('/usr/bin/tool').mode).toBe(0o700)
    // whiteout files themselves never appear in the tree
    for (const [path] of fs.walk()) expect(path).not.toMatch(/\.wh\./)
  })

  test('a whiteout deletes a whole directory, and a later layer can recreate it', async () => {
    const fs = new RootFs()
    apply(fs, await tarTree({ 'srv/data/a': 'a', 'srv/data/b/c': 'c' }))
    apply(fs, await tarTree({ 'srv/.wh.data': '' }))
    expect(fs.lookup('/srv/data')).toBeUndefined()
    apply(fs, await tarTree({ 'srv/data/z': 'z' }))
    expect(names(fs, '/srv/data')).toEqual(['z'])
  })

  test('a directory replaces a file and a file replaces a directory', async () => {
    const fs = new RootFs()
    apply(fs, await tarTree({ 'x/was-file': 'f', 'x/was-dir/inner': 'i' }))
    apply(fs, await tarTree({ 'x/was-file/now-inside': 'n', 'x/was-dir': 'now a file' }))
    expect(fs.get('/x/was-file').kind).toBe('dir')
    expect(contents(fs, '/x/was-file/now-inside')).toBe('n')
    expect(contents(fs, '/x/was-dir')).toBe('now a file')
  })

  test('hardlinks share one FileNode, even across layers; symlinks are kept verbatim', async () => {
    const fs = new RootFs()
    const summary = apply(
      fs,
      await tarTree({ 'bin/busybox': { file: 'BB', mode: 0o755 }, 'bin/sh': { hardlink: 'bin/busybox' }, 'bin/ls': { symlink: 'busybox' }, 'abs': { symlink: '/etc/../../outside' } }),
    )
    expect(summary.hardlinks).toBe(1)
    expect(fs.get('/bin/sh')).toBe(fs.get('/bin/busybox'))
    expect(fs.get('/bin/ls', false)).toMatchObject({ kind: 'symlink', target: 'busybox' })
    expect(fs.get('/abs', false)).toMatchObject({ kind: 'symlink', target: '/etc/../../outside' })
    // a hardlink in a later layer to a file of an earlier one
    apply(fs, archive(entry({ name: 'usr/bin/sh2', type: '1', linkname: 'bin/busybox' })))
    expect(fs.get('/usr/bin/sh2')).toBe(fs.get('/bin/busybox'))
  })

  test('a hardlink to a missing file is a clear error', () => {
    const fs = new RootFs()
    const run = () => apply(fs, archive(entry({ name: 'a', type: '1', linkname: 'nowhere' })))
    expect(run).toThrow(ApplyLayerError)
    expect(run).toThrow(/hardlink to "nowhere", which does not exist/)
  })

  test('file contents are views into the layer, not copies; modes, owners and mtimes are kept', async () => {
    const tar = await tarTree({ 'a/b/file': { file: 'content', mode: 0o640 } })
    const fs = new RootFs()
    apply(fs, tar)
    const node = fs.get('/a/b/file') as FileNode
    expect((node.data as Uint8Array).buffer).toBe(tar.buffer)
    expect(node).toMatchObject({ mode: 0o640, uid: 0, gid: 0, mtime: 1700000000 })
  })

  test('hostile paths stay inside the tree', () => {
    const fs = new RootFs()
    apply(
      fs,
      archive(
        entry({ name: '../../../etc/escaped', body: text('1') }),
        entry({ name: '/abs/path', body: text('2') }),
        entry({ name: 'a/../../b', body: text('3') }),
      ),
    )
    expect(contents(fs, '/etc/escaped')).toBe('1')
    expect(contents(fs, '/abs/path')).toBe('2')
    expect(contents(fs, '/b')).toBe('3')
    expect(names(fs, '/')).toEqual(['abs', 'b', 'etc'])
  })

  test('a path through a symlink to outside resolves inside the tree', () => {
    const fs = new RootFs()
    apply(fs, archive(entry({ name: 'link', type: '2', linkname: '/' }), entry({ name: 'up', type: '2', linkname: '../../..' })))
    apply(fs, archive(entry({ name: 'link/tmp/x', body: text('via link') }), entry({ name: 'up/y', body: text('via up') })))
    expect(contents(fs, '/tmp/x')).toBe('via link')
    expect(contents(fs, '/y')).toBe('via up')
  })

  test('device nodes and fifos are skipped and counted; parent dirs appear implicitly', () => {
    const src = join(work, 'dev')
    mkdirSync(join(src, 'dev'), { recursive: true })
    spawnSync('mknod', [join(src, 'dev', 'null'), 'c', '1', '3'])
    spawnSync('mkfifo', [join(src, 'dev', 'fifo')])
    const r = spawnSync('tar', ['-C', src, '--format=pax', '-cf', '-', './dev/null', './dev/fifo'])
    const fs = new RootFs()
    const summary = apply(fs, new Uint8Array(r.stdout))
    expect(summary.skippedSpecial).toBe(2)
    expect(fs.get('/dev').kind).toBe('dir')
    expect(names(fs, '/dev')).toEqual([])
  })

  test('an opaque marker listed after its siblings in the same layer keeps them', () => {
    const fs = new RootFs()
    apply(fs, archive(entry({ name: 'd/lower', body: text('l') })))
    apply(fs, archive(entry({ name: 'd/upper', body: text('u') }), entry({ name: 'd/.wh..wh..opq' })))
    expect(names(fs, '/d')).toEqual(['upper'])
  })
})
