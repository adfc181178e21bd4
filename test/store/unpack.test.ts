// The layer cache's unpacker against real and hostile tar layers: what lands on disk
// (modes, owners, mtimes, links, whiteouts, xattrs) and that nothing is ever written
// outside the layer's own directory.

import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ensureLayer, readLayerRecord } from '../../server/store/layer-cache.js'
import { tempDir } from '../helpers/registry.js'
import { type CraftedEntry, craftTar } from './helpers.js'

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
const TAR = 'application/vnd.oci.image.layer.v1.tar'

let root: string
let outside: string

beforeEach(async () => {
  root = await tempDir('boxplay-unpack-')
  outside = join(root, 'outside')
  mkdirSync(join(root, 'layers'))
  mkdirSync(join(root, 'tmp'))
  mkdirSync(outside)
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

function digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

async function unpack(tar: Uint8Array, opts: { gzip?: boolean; diffId?: string; maxBytes?: number; allowDevices?: boolean } = {}): Promise<string> {
  const blob = opts.gzip === false ? tar : gzipSync(tar)
  const blobPath = join(root, `blob-${Math.random().toString(16).slice(2)}`)
  writeFileSync(blobPath, blob)
  return ensureLayer(
    join(root, 'layers'),
    join(root, 'tmp'),
    { digest: digest(blob), diffId: opts.diffId ?? digest(tar), mediaType: opts.gzip === false ? TAR : GZIP, size: blob.byteLength },
    blobPath,
    { ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}), ...(opts.allowDevices ? { allowDevices: true } : {}) },
  )
}

/** Nothing outside the layer dir was touched, and no temp was left behind. */
function expectContained(): void {
  expect(readdirSync(outside)).toEqual([])
  expect(readdirSync(join(root, 'tmp'))).toEqual([])
}

describe('unpacking a layer', () => {
  it('reproduces what GNU tar extracts: modes, mtimes, owners, symlinks, hardlinks', async () => {
    const src = join(root, 'src')
    mkdirSync(join(src, 'bin'), { recursive: true })
    mkdirSync(join(src, 'ro'), { recursive: true })
    writeFileSync(join(src, 'bin', 'tool'), '#!/bin/sh\necho hi\n', { mode: 0o4755 })
    writeFileSync(join(src, 'ro', 'file'), 'data')
    execFileSync('chmod', ['0555', join(src, 'ro')])
    execFileSync('ln', ['-s', '../bin/tool', join(src, 'ro-link')])
    execFileSync('ln', [join(src, 'bin', 'tool'), join(src, 'bin', 'tool2')])
    execFileSync('chown', ['1234:4321', join(src, 'bin', 'tool2')])
    execFileSync('chmod', ['4755', join(src, 'bin', 'tool')]) // chown cleared setuid on the shared inode
    execFileSync('touch', ['-h', '-d', '@1600000000', join(src, 'ro-link')])
    const tar = new Uint8Array(execFileSync('tar', ['-C', src, '--format=pax', '--mtime=@1650000000', '-cf', '-', '.'], { maxBuffer: 1 << 26 }))
    const dir = await unpack(tar)
    const ref = join(root, 'ref')
    mkdirSync(ref)
    execFileSync('tar', ['-C', ref, '--same-owner', '-xpf', '-'], { input: tar })
    const list = (d: string) =>
      execFileSync('find', ['.', '-printf', '%p %y %m %U:%G %s %T@ %l %n\n'], { cwd: d, encoding: 'utf8' }).split('\n').sort().join('\n')
    expect(list(dir)).toEqual(list(ref))
    expect(statSync(join(dir, 'bin', 'tool')).ino).toBe(statSync(join(dir, 'bin', 'tool2')).ino)
    expect(readlinkSync(join(dir, 'ro-link'))).toBe('../bin/tool')
    const record = await readLayerRecord(join(root, 'layers'), digest(tar))
    expect(record?.chown).toBe(true)
    expect(record?.hardlinks).toBe(1)
    expectContained()
  })

  it('turns whiteouts into overlayfs whiteouts (char 0/0) and opaque markers into xattrs', async () => {
    const tar = craftTar([
      { name: 'etc/', type: 'dir' },
      { name: 'etc/.wh.passwd' },
      { name: 'var/', type: 'dir' },
      { name: 'var/cache/', type: 'dir' },
      { name: 'var/cache/.wh..wh..opq' },
      { name: 'var/cache/kept', data: 'new' },
    ])
    const dir = await unpack(tar)
    const wh = lstatSync(join(dir, 'etc', 'passwd'))
    expect(wh.isCharacterDevice()).toBe(true)
    expect(wh.rdev).toBe(0)
    expect(existsSync(join(dir, 'etc', '.wh.passwd'))).toBe(false)
    expect(existsSync(join(dir, 'var', 'cache', '.wh..wh..opq'))).toBe(false)
    expect(readFileSync(join(dir, 'var', 'cache', 'kept'), 'utf8')).toBe('new')
    const attrs = execFileSync('getfattr', ['-d', '-m', '-', join(dir, 'var', 'cache')], { encoding: 'utf8' })
    expect(attrs).toContain('trusted.overlay.opaque="y"')
    expect(attrs).toContain('user.overlay.opaque="y"')
    const record = await readLayerRecord(join(root, 'layers'), digest(tar))
    expect(record).toMatchObject({ whiteoutMode: 'chardev', whiteouts: 1, opaqueDirs: 1 })
  })

  it('falls back to xattr whiteouts (overlayfs xwhiteouts) where mknod is not allowed', async () => {
    const tar = craftTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/.wh.passwd' }, { name: '.wh.top' }])
    const blobPath = join(root, 'blob')
    writeFileSync(blobPath, tar)
    const dir = await ensureLayer(join(root, 'layers'), join(root, 'tmp'), { digest: digest(tar), diffId: digest(tar), mediaType: TAR, size: tar.byteLength }, blobPath, { whiteouts: 'xattr' })
    expect(lstatSync(join(dir, 'etc', 'passwd')).isFile()).toBe(true)
    expect(lstatSync(join(dir, 'etc', 'passwd')).size).toBe(0)
    const attrs = execFileSync('getfattr', ['-d', '-m', '-', join(dir, 'etc', 'passwd'), join(dir, 'etc'), dir, join(dir, 'top')], { encoding: 'utf8' })
    expect(attrs).toMatch(/etc\/passwd\ntrusted\.overlay\.whiteout=/)
    expect(attrs).toMatch(/etc\ntrusted\.overlay\.opaque="x"/)
    expect(attrs).toMatch(/top\ntrusted\.overlay\.whiteout=/)
    expect((await readLayerRecord(join(root, 'layers'), digest(tar)))?.whiteoutMode).toBe('xattr')
  })

  it('sets xattrs from pax records but refuses overlay.* ones a layer could forge', async () => {
    const tar = craftTar([
      { name: 'f', data: 'x', pax: { 'SCHILY.xattr.user.note': 'hello', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
    ])
    const dir = await unpack(tar)
    const attrs = execFileSync('getfattr', ['-d', '-m', '-', join(dir, 'f')], { encoding: 'utf8' })
    expect(attrs).toContain('user.note="hello"')
    expect(attrs).not.toContain('overlay')
    const record = await readLayerRecord(join(root, 'layers'), digest(tar))
    expect(record).toMatchObject({ xattrsSet: 1, xattrsRefused: 1 })
  })

  it('refuses an entry with ".." and leaves nothing behind', async () => {
    const tar = craftTar([{ name: 'ok' }, { name: 'a/../../outside/evil', data: 'pwned' }])
    await expect(unpack(tar)).rejects.toThrow(/contains "\.\."/)
    expect(readdirSync(join(root, 'layers'))).toEqual([])
    expectContained()
  })

  it('strips a leading / from absolute entry paths (lands inside the layer)', async () => {
    const tar = craftTar([{ name: `${outside}/abs`, data: 'in' }])
    const dir = await unpack(tar)
    expect(readFileSync(join(dir, outside, 'abs'), 'utf8')).toBe('in')
    expect((await readLayerRecord(join(root, 'layers'), digest(tar)))?.absolutePathsStripped).toBe(1)
    expectContained()
  })

  it('resolves an absolute symlink in a parent path inside the layer, never on the host', async () => {
    const tar = craftTar([
      { name: 'esc', type: 'symlink', linkname: outside },
      { name: 'esc/pwned', data: 'x' },
    ])
    const dir = await unpack(tar)
    expect(readFileSync(join(dir, outside, 'pwned'), 'utf8')).toBe('x')
    expect(readlinkSync(join(dir, 'esc'))).toBe(outside)
    expectContained()
  })

  it('resolves a relative symlink climbing with .. inside the layer', async () => {
    const depth = outside.split('/').length + 3
    const tar = craftTar([
      { name: 'sub/', type: 'dir' },
      { name: 'sub/up', type: 'symlink', linkname: '../'.repeat(depth) + outside.slice(1) },
      { name: 'sub/up/pwned2', data: 'x' },
      { name: 'dot', type: 'symlink', linkname: '.' },
      { name: 'dot/dot/viaDot', data: 'y' },
    ])
    const dir = await unpack(tar)
    expect(readFileSync(join(dir, outside, 'pwned2'), 'utf8')).toBe('x')
    expect(readFileSync(join(dir, 'viaDot'), 'utf8')).toBe('y')
    expectContained()
  })

  it('replaces a symlink at the final component instead of writing through it', async () => {
    writeFileSync(join(outside, 'target'), 'original')
    const tar = craftTar([
      { name: 'f', type: 'symlink', linkname: join(outside, 'target') },
      { name: 'f', data: 'replaced' },
    ])
    const dir = await unpack(tar)
    expect(lstatSync(join(dir, 'f')).isFile()).toBe(true)
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('replaced')
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('original')
  })

  it('refuses hardlinks to anything the layer does not hold', async () => {
    for (const linkname of ['../../etc/passwd', '/etc/passwd', 'missing']) {
      const tar = craftTar([{ name: 'h', type: 'hardlink', linkname }])
      await expect(unpack(tar)).rejects.toThrow(/hardlink|\.\./)
    }
    // and through a symlink to the outside: resolved in the layer, where there is nothing
    const tar = craftTar([
      { name: 'esc', type: 'symlink', linkname: outside },
      { name: 'h', type: 'hardlink', linkname: 'esc/target' },
    ])
    writeFileSync(join(outside, 'target'), 'secret')
    await expect(unpack(tar)).rejects.toThrow(/does not contain/)
    expect(readdirSync(outside)).toEqual(['target'])
    expect(readdirSync(join(root, 'tmp'))).toEqual([])
  })

  it('skips device nodes unless asked (and root), makes fifos', async () => {
    const entries: CraftedEntry[] = [
      { name: 'dev/', type: 'dir' },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
    ]
    const tar = craftTar(entries)
    const dir = await unpack(tar)
    expect(existsSync(join(dir, 'dev', 'null'))).toBe(false)
    expect(existsSync(join(dir, 'dev', 'sda'))).toBe(false)
    expect(lstatSync(join(dir, 'run', 'fifo')).isFIFO()).toBe(true)
    expect((await readLayerRecord(join(root, 'layers'), digest(tar)))?.devicesSkipped).toBe(2)

    const withDevs = craftTar([...entries, { name: 'marker' }])
    const dir2 = await unpack(withDevs, { allowDevices: true })
    const st = lstatSync(join(dir2, 'dev', 'null'))
    expect(st.isCharacterDevice()).toBe(true)
    expect(st.rdev).toBe((1 << 8) | 3)
  })

  it('refuses an oversized pax header', async () => {
    const tar = craftTar([{ name: 'f', data: 'x', pax: { comment: 'A'.repeat(2 << 20) } }])
    await expect(unpack(tar)).rejects.toThrow(/over the .*limit/)
    expectContained()
  })

  it('stops a decompression bomb at the size cap', async () => {
    const tar = craftTar([{ name: 'zeros', data: '\0'.repeat(4 << 20) }])
    const err = await unpack(tar, { maxBytes: 1 << 20 }).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(/decompression bomb.*BOXPLAY_MAX_LAYER_BYTES/)
    expect(readdirSync(join(root, 'layers'))).toEqual([])
    expectContained()
  })

  it('honours BOXPLAY_MAX_LAYER_BYTES', async () => {
    const tar = craftTar([{ name: 'zeros', data: '\0'.repeat(2 << 20) }])
    process.env.BOXPLAY_MAX_LAYER_BYTES = String(1 << 20)
    try {
      await expect(unpack(tar)).rejects.toThrow(/decompression bomb/)
    } finally {
      delete process.env.BOXPLAY_MAX_LAYER_BYTES
    }
  })

  it('refuses a layer whose content does not match its diff-id', async () => {
    const tar = craftTar([{ name: 'f', data: 'x' }])
    await expect(unpack(tar, { diffId: `sha256:${'1'.repeat(64)}` })).rejects.toThrow(/diff-id/)
    expect(readdirSync(join(root, 'layers'))).toEqual([])
    expectContained()
  })

  it('refuses creating below a regular file', async () => {
    const tar = craftTar([{ name: 'file', data: 'x' }, { name: 'file/child', data: 'y' }])
    await expect(unpack(tar)).rejects.toThrow(/not a directory/)
  })

  it('reads plain (uncompressed) tar layers too, and unpacks each diff-id once', async () => {
    const tar = craftTar([{ name: 'a', data: 'plain' }])
    const dir = await unpack(tar, { gzip: false })
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('plain')
    writeFileSync(join(dir, 'a'), 'cached')
    const again = await unpack(tar)
    expect(again).toBe(dir)
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('cached')
  })

  it('unpacks zstd layers (magic bytes win over a wrong label)', async () => {
    const tar = craftTar([{ name: 'z', data: 'zstd content' }])
    const zst = new Uint8Array(execFileSync('zstd', ['-q', '-c'], { input: tar }))
    const blobPath = join(root, 'blob.zst')
    writeFileSync(blobPath, zst)
    for (const mediaType of ['application/vnd.oci.image.layer.v1.tar+zstd', GZIP]) {
      const dir = await ensureLayer(join(root, 'layers'), join(root, 'tmp'), { digest: digest(zst), diffId: digest(tar), mediaType, size: zst.byteLength }, blobPath)
      expect(readFileSync(join(dir, 'z'), 'utf8')).toBe('zstd content')
      await rm(dir, { recursive: true })
    }
  })

  it('unpacks as an unprivileged user: user.* xattrs only, no chown', async () => {
    const tar = craftTar([
      { name: 'd/', type: 'dir', mode: 0o555 },
      { name: 'd/f', data: 'x', uid: 1000, pax: { 'SCHILY.xattr.user.ok': '1', 'SCHILY.xattr.security.capability': 'z' } },
      { name: 'e/', type: 'dir' },
      { name: 'e/.wh..wh..opq' },
      { name: 'e/.wh.gone' },
    ])
    const tarFile = join(root, 'layer.tar')
    writeFileSync(tarFile, tar)
    execFileSync('chown', ['-R', '65534:65534', root])
    // Run the compiled unpacker as nobody (setpriv drops to uid/gid 65534).
    const dist = join(process.cwd(), 'dist', 'server', 'store', 'layer-cache.js')
    const code = `
      const { ensureLayer, readLayerRecord } = await import(${JSON.stringify(dist)});
      const { createHash } = await import('node:crypto'); const { readFileSync } = await import('node:fs');
      const tar = readFileSync(${JSON.stringify(tarFile)});
      const diffId = 'sha256:' + createHash('sha256').update(tar).digest('hex');
      const dir = await ensureLayer(${JSON.stringify(join(root, 'layers'))}, ${JSON.stringify(join(root, 'tmp'))},
        { digest: diffId, diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar', size: tar.length }, ${JSON.stringify(tarFile)});
      console.log(JSON.stringify({ dir, record: await readLayerRecord(${JSON.stringify(join(root, 'layers'))}, diffId) }));
    `
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    const { dir, record } = JSON.parse(r.stdout) as { dir: string; record: Record<string, unknown> }
    expect(record).toMatchObject({ chown: false, opaqueXattrs: ['user.overlay.opaque'], xattrsRefused: 1, whiteouts: 1 })
    expect(statSync(join(dir, 'd', 'f')).uid).toBe(65534)
    expect((statSync(join(dir, 'd')).mode & 0o777).toString(8)).toBe('555')
    const attrs = execFileSync('getfattr', ['-d', '-m', '-', join(dir, 'd', 'f'), join(dir, 'e')], { encoding: 'utf8' })
    expect(attrs).toContain('user.ok="1"')
    expect(attrs).toContain('user.overlay.opaque="y"')
    expect(attrs).not.toContain('security.capability')
    expect(lstatSync(join(dir, 'e', 'gone')).isCharacterDevice() || lstatSync(join(dir, 'e', 'gone')).isFile()).toBe(true)
  })
})
