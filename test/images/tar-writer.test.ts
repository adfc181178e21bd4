import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, describe, expect, test } from 'vitest'
import { canonicalJson, gzipLayer } from '../../images/oci-writer.js'
import { FIXED_EPOCH_SECONDS, type LayerEntry, writeTar } from '../../images/tar-writer.js'
import { readTarSync } from '../../web/oci/tar.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const longDir = `${'deep/'.repeat(25)}end` // 128 characters: too long for ustar's name field
const entries: LayerEntry[] = [
  { type: 'file', path: '/usr/bin/tool', mode: 0o755, data: text('#!/bin/sh\necho tool\n') },
  { type: 'symlink', path: 'bin/tool', target: '/usr/bin/tool' },
  { type: 'hardlink', path: 'usr/bin/tool2', target: '/usr/bin/tool' },
  { type: 'dir', path: 'tmp', mode: 0o1777 },
  { type: 'file', path: `${longDir}/file.txt`, mode: 0o644, data: text('long name\n') },
  { type: 'symlink', path: 'far', target: `/${longDir}/file.txt` },
  { type: 'file', path: 'empty', mode: 0o600, data: new Uint8Array(0) },
]

const tmp = mkdtempSync(join(tmpdir(), 'boxplay-tar-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('the deterministic tar writer', () => {
  test('writes every entry so the project tar reader reads it back exactly, parents first', () => {
    const got = [...readTarSync(writeTar(entries))]
    const byPath = new Map(got.map((e) => [e.path, e]))
    expect(got.map((e) => e.path)).toEqual([...got.map((e) => e.path)].sort())
    expect(byPath.get('usr/')?.type).toBe('dir') // parent made for /usr/bin/tool
    expect(byPath.get('usr/bin/')?.mode).toBe(0o755)
    expect(byPath.get('tmp/')?.mode).toBe(0o1777)
    const tool = byPath.get('usr/bin/tool')!
    expect(tool.mode).toBe(0o755)
    expect(new TextDecoder().decode(tool.data)).toBe('#!/bin/sh\necho tool\n')
    expect(byPath.get('bin/tool')).toMatchObject({ type: 'symlink', linkname: '/usr/bin/tool' })
    expect(byPath.get('usr/bin/tool2')).toMatchObject({ type: 'hardlink', linkname: 'usr/bin/tool' })
    expect(new TextDecoder().decode(byPath.get(`${longDir}/file.txt`)!.data)).toBe('long name\n')
    expect(byPath.get('far')?.linkname).toBe(`/${longDir}/file.txt`)
    expect(byPath.get('empty')).toMatchObject({ type: 'file', mode: 0o600, size: 0 })
    for (const e of got) expect([e.uid, e.gid, e.mtime, e.uname, e.gname]).toEqual([0, 0, FIXED_EPOCH_SECONDS, '', ''])
  })

  test('GNU tar lists the same archive without complaint (pax long names included)', () => {
    const file = join(tmp, 'layer.tar')
    writeFileSync(file, writeTar(entries))
    const res = spawnSync('tar', ['-tvf', file], { encoding: 'utf8' })
    expect(res.stderr).toBe('')
    expect(res.status).toBe(0)
    expect(res.stdout).toContain(`${longDir}/file.txt`)
    expect(res.stdout).toContain('bin/tool -> /usr/bin/tool')
    expect(res.stdout).toContain('usr/bin/tool2 link to usr/bin/tool')
    expect(res.stdout).toMatch(/^drwxrwxrwt 0\/0 .* tmp\/$/m)
  })

  test('gives the same bytes whatever order entries come in', () => {
    const a = writeTar(entries)
    const b = writeTar([...entries].reverse())
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true)
  })

  test('gzips without a timestamp, deterministically', () => {
    const tar = writeTar(entries)
    const one = gzipLayer(tar)
    const two = gzipLayer(tar)
    expect(Buffer.from(one).equals(Buffer.from(two))).toBe(true)
    expect([...one.subarray(4, 8)]).toEqual([0, 0, 0, 0]) // gzip MTIME field
    expect(one[3]! & 0x08).toBe(0) // no FNAME
    expect(Buffer.from(gunzipSync(one)).equals(Buffer.from(tar))).toBe(true)
  })

  test('refuses what would make a broken or escaping layer', () => {
    expect(() => writeTar([{ type: 'file', path: '../etc/passwd', mode: 0o644, data: text('x') }])).toThrow(/"\.\."/)
    expect(() => writeTar([{ type: 'hardlink', path: 'a', target: '/missing' }])).toThrow(/not a regular file/)
    expect(() =>
      writeTar([
        { type: 'dir', path: 'x', mode: 0o755 },
        { type: 'file', path: '/x/', mode: 0o644, data: text('') },
      ]),
    ).toThrow(/two entries/)
    expect(() =>
      writeTar([
        { type: 'file', path: 'f', mode: 0o644, data: text('') },
        { type: 'file', path: 'f/g', mode: 0o644, data: text('') },
      ]),
    ).toThrow(/not a directory/)
  })

  test('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}')
  })
})
