import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { type TarHeader, TarError, readTar, readTarSync } from '../../web/oci/tar.js'
import { archive, entry, header, paxRecord, text } from './tar-build.js'

const work = mkdtempSync(join(tmpdir(), 'boxplay-tar-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const LONG_DIR = 'd'.repeat(120)
const LONG_FILE = 'f'.repeat(110)
const LONG_TARGET = 't'.repeat(150)

/** A source tree exercising what image layers contain, archived by GNU tar in `format`. */
function gnuTar(format: 'pax' | 'gnu' | 'ustar', extra: string[] = []): Uint8Array {
  const src = join(work, `src-${format}-${extra.length}`)
  rmSync(src, { recursive: true, force: true })
  mkdirSync(join(src, 'etc'), { recursive: true })
  writeFileSync(join(src, 'etc', 'hosts'), '127.0.0.1 localhost\n')
  spawnSync('ln', [join(src, 'etc', 'hosts'), join(src, 'hosts-hardlink')])
  spawnSync('ln', ['-s', 'etc/hosts', join(src, 'hosts-symlink')])
  writeFileSync(join(src, 'big-uid'), 'owned by a big uid\n')
  spawnSync('chown', ['3000000:4000000', join(src, 'big-uid')])
  writeFileSync(join(src, 'exec'), '#!/bin/sh\n')
  spawnSync('chmod', ['4755', join(src, 'exec')])
  if (format !== 'ustar') {
    mkdirSync(join(src, LONG_DIR), { recursive: true })
    writeFileSync(join(src, LONG_DIR, LONG_FILE), 'x'.repeat(1000))
    spawnSync('ln', ['-s', LONG_TARGET, join(src, 'long-symlink')])
    spawnSync('ln', [join(src, LONG_DIR, LONG_FILE), join(src, 'hardlink-to-long')])
  } else {
    // ustar stores names up to 255 bytes by splitting them into prefix + name.
    mkdirSync(join(src, 'p'.repeat(90)), { recursive: true })
    writeFileSync(join(src, 'p'.repeat(90), 'n'.repeat(90)), 'prefixed\n')
  }
  const r = spawnSync('tar', ['-C', src, `--format=${format}`, '--sort=name', '-cf', '-', ...extra, '.'], { maxBuffer: 1 << 26 })
  if (r.status !== 0 && format !== 'ustar') throw new Error(r.stderr.toString())
  return new Uint8Array(r.stdout)
}

function byPath<T extends TarHeader>(entries: Iterable<T>): Map<string, T> {
  return new Map([...entries].map((e) => [e.path, e]))
}

const decode = (b: Uint8Array): string => new TextDecoder().decode(b)

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

describe('readTarSync on archives written by GNU tar', () => {
  for (const format of ['pax', 'gnu'] as const) {
    test(`${format}: long names, long link targets, hardlinks, symlinks, big ids, modes`, () => {
      const tar = gnuTar(format)
      const entries = byPath(readTarSync(tar))
      const hosts = entries.get('./etc/hosts')!
      expect(hosts.type).toBe('file')
      expect(decode(hosts.data)).toBe('127.0.0.1 localhost\n')
      expect(entries.get('./etc/')!.type).toBe('dir')
      // --sort=name: etc/hosts comes first, so hosts-hardlink is archived as a link to it.
      expect(entries.get('./hosts-hardlink')).toMatchObject({ type: 'hardlink', linkname: './etc/hosts', size: 0 })
      expect(entries.get('./hosts-hardlink')!.data.length).toBe(0)
      expect(entries.get('./hosts-symlink')).toMatchObject({ type: 'symlink', linkname: 'etc/hosts' })
      expect(entries.get('./big-uid')).toMatchObject({ uid: 3000000, gid: 4000000 })
      expect(entries.get('./exec')!.mode).toBe(0o4755)
      const long = entries.get(`./${LONG_DIR}/${LONG_FILE}`)!
      expect(long.type).toBe('file')
      expect(long.data.length).toBe(1000)
      expect(entries.get(`./${LONG_DIR}/`)!.type).toBe('dir')
      expect(entries.get('./long-symlink')).toMatchObject({ type: 'symlink', linkname: LONG_TARGET })
      // a hardlink whose target is longer than the 100-byte linkname field
      expect(entries.get('./hardlink-to-long')).toMatchObject({ type: 'hardlink', linkname: `./${LONG_DIR}/${LONG_FILE}` })
    })
  }

  test('ustar: the prefix field extends names past 100 bytes', () => {
    const entries = byPath(readTarSync(gnuTar('ustar')))
    const path = `./${'p'.repeat(90)}/${'n'.repeat(90)}`
    expect(decode(entries.get(path)!.data)).toBe('prefixed\n')
  })

  test('gnu: ids too big for octal are read from base-256 fields', () => {
    const tar = gnuTar('gnu')
    const e = byPath(readTarSync(tar)).get('./big-uid')!
    // 3000000 > 07777777: GNU tar had to write the uid field in base-256 (marker 0x80).
    let headerAt = -1
    for (let at = 0; at < tar.length; at += 512) if (new TextDecoder().decode(tar.subarray(at, at + 9)) === './big-uid') headerAt = at
    expect(tar[headerAt + 108]).toBe(0x80)
    expect(e.uid).toBe(3000000)
  })

  test('pax: fractional mtimes and SCHILY.xattr records', () => {
    const src = join(work, 'xattr')
    mkdirSync(src, { recursive: true })
    writeFileSync(join(src, 'file'), 'with xattr\n')
    const set = spawnSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(join(src, 'file'))}, 'user.boxplay', b'v\\x00\\xff')`])
    expect(set.status).toBe(0)
    const r = spawnSync('tar', ['-C', src, '--format=pax', '--xattrs', "--xattrs-include=*", '-cf', '-', './file'])
    const [e] = [...readTarSync(new Uint8Array(r.stdout))]
    expect(e!.path).toBe('./file')
    expect([...e!.xattrs['user.boxplay']!]).toEqual([0x76, 0x00, 0xff])
    expect(Number.isInteger(e!.mtime)).toBe(false) // GNU pax writes sub-second mtimes
    expect(e!.mtime).toBeGreaterThan(1_600_000_000)
  })

  test('pax global headers apply attributes to every later entry', () => {
    const tar = gnuTar('pax', ['--pax-option=uname=globaluser', '--pax-option=globexthdr.name=%d/GlobalHead'])
    const entries = [...readTarSync(tar)]
    expect(entries.length).toBeGreaterThan(3)
    for (const e of entries) expect(e.uname).toBe('globaluser')
    // the global header is not itself an entry
    expect(entries.some((e) => e.path.includes('GlobalHead'))).toBe(false)
  })

  test('bodies are views into the archive, not copies', () => {
    const tar = gnuTar('pax')
    for (const e of readTarSync(tar)) {
      if (e.type !== 'file') continue
      expect(e.data.buffer).toBe(tar.buffer)
    }
  })

  test('GNU incremental archives: dump-dir entries are directories and their listings are skipped', async () => {
    const src = join(work, 'incremental')
    mkdirSync(join(src, 'd'), { recursive: true })
    writeFileSync(join(src, 'd', 'a'), 'after the listing\n')
    const r = spawnSync('tar', ['--format=gnu', '-g', join(work, 'snar'), '-C', src, '-cf', '-', '.'])
    const entries = byPath(readTarSync(new Uint8Array(r.stdout)))
    expect(entries.get('./d/')!.type).toBe('dir')
    expect(entries.get('./d/')!.size).toBe(0)
    expect(decode(entries.get('./d/a')!.data)).toBe('after the listing\n')
    const streamed: string[] = []
    for await (const e of readTar(chunked(new Uint8Array(r.stdout), 100))) streamed.push(`${e.path}=${decode(await e.bytes())}`)
    expect(streamed).toContain('./d/a=after the listing\n')
  })

  test('GNU sparse files are refused by name', () => {
    const src = join(work, 'sparse')
    mkdirSync(src, { recursive: true })
    spawnSync('truncate', ['-s', '4M', join(src, 'holes')])
    const r = spawnSync('tar', ['-C', src, '--format=pax', '--sparse', '-cf', '-', './holes'])
    expect(() => [...readTarSync(new Uint8Array(r.stdout))]).toThrow(/sparse/)
  })
})

describe('readTarSync on broken and hostile archives', () => {
  test('a corrupt header fails its checksum with a clear error', () => {
    const tar = gnuTar('pax')
    tar[10] ^= 0x55 // inside the first header's name
    const run = () => [...readTarSync(tar)]
    expect(run).toThrow(TarError)
    expect(run).toThrow(/checksum/)
  })

  test('random bytes are not a tar', () => {
    const junk = new Uint8Array(2048).map((_, i) => (i * 7919) % 251)
    expect(() => [...readTarSync(junk)]).toThrow(/checksum|octal/)
  })

  test('an archive cut inside a body is reported as truncated', () => {
    const tar = archive(entry({ name: 'a', body: text('x'.repeat(3000)) }))
    expect(() => [...readTarSync(tar.subarray(0, 512 + 1000))]).toThrow(/truncated/)
  })

  test('an archive cut inside a header is reported as truncated', () => {
    const tar = archive(entry({ name: 'a', body: text('x') }), entry({ name: 'b', body: text('y') }))
    expect(() => [...readTarSync(tar.subarray(0, 1024 + 100))]).toThrow(/truncated/)
  })

  test('a pax header without its entry is truncated', () => {
    const tar = archive(entry({ name: 'PaxHeaders/x', type: 'x', body: text(paxRecord('path', 'long')) }))
    expect(() => [...readTarSync(tar)]).toThrow(/truncated/)
  })

  test('EOF without the two zero blocks is accepted as the end', () => {
    const tar = archive(entry({ name: 'a', body: text('hello') }))
    const entries = [...readTarSync(tar.subarray(0, 1024))]
    expect(entries.map((e) => e.path)).toEqual(['a'])
  })

  test('oversized pax and GNU long-name records are refused before reading them', () => {
    const huge = archive(entry({ name: 'PaxHeaders/x', type: 'x', size: 2 << 20 }))
    expect(() => [...readTarSync(huge)]).toThrow(/over the 1048576-byte limit/)
    const gnu = gnuTar('gnu')
    expect(() => [...readTarSync(gnu, { maxHeaderBytes: 64 })]).toThrow(/GNU long-name header .* over the 64-byte limit/)
  })

  test('malformed pax records are refused', () => {
    const tar = archive(entry({ name: 'PaxHeaders/x', type: 'x', body: text('99 path=x\n') }), entry({ name: 'a' }))
    expect(() => [...readTarSync(tar)]).toThrow(/malformed record/)
  })

  test('pax overrides: path, linkpath, size, uid and hostile paths are exposed verbatim', () => {
    const records = paxRecord('path', '../../etc/passwd') + paxRecord('uid', '123456789') + paxRecord('size', '5')
    const tar = archive(
      entry({ name: 'PaxHeaders/x', type: 'x', body: text(records) }),
      entry({ name: 'short', body: text('owned') }),
      entry({ name: 'PaxHeaders/y', type: 'x', body: text(paxRecord('linkpath', '/abs/target')) }),
      entry({ name: 'l', type: '2', linkname: 'ignored' }),
      entry({ name: 'big', base256Uid: true, uid: 2 ** 40, body: text('b') }),
    )
    const [a, l, big] = [...readTarSync(tar)]
    expect(a).toMatchObject({ path: '../../etc/passwd', uid: 123456789, size: 5 })
    expect(decode(a!.data)).toBe('owned')
    expect(l).toMatchObject({ path: 'l', type: 'symlink', linkname: '/abs/target' })
    expect(big!.uid).toBe(2 ** 40)
  })

  test('device nodes and fifos are reported with their numbers', () => {
    const src = join(work, 'dev')
    mkdirSync(src, { recursive: true })
    spawnSync('mknod', [join(src, 'null'), 'c', '1', '3'])
    spawnSync('mkfifo', [join(src, 'pipe')])
    const r = spawnSync('tar', ['-C', src, '--format=pax', '--sort=name', '-cf', '-', '.'])
    const entries = byPath(readTarSync(new Uint8Array(r.stdout)))
    expect(entries.get('./null')).toMatchObject({ type: 'char', devmajor: 1, devminor: 3, size: 0 })
    expect(entries.get('./pipe')).toMatchObject({ type: 'fifo' })
  })
})

describe('readTar (streaming)', () => {
  test('yields the same entries and bodies as readTarSync, whatever the chunk size', async () => {
    const tar = gnuTar('pax', ['--pax-option=uname=globaluser'])
    const expected = [...readTarSync(tar)].map(({ data, ...h }) => ({ ...h, body: decode(data) }))
    for (const size of [1, 7, 512, 4096, 1 << 20]) {
      const got = []
      for await (const e of readTar(chunked(tar, size))) {
        const { chunks: _c, bytes, ...h } = e
        got.push({ ...h, body: decode(await bytes()) })
      }
      expect(got).toEqual(expected)
    }
  })

  test('unread bodies are skipped, and chunks() hands out views of the source chunks', async () => {
    const tar = archive(entry({ name: 'a', body: text('A'.repeat(5000)) }), entry({ name: 'b', body: text('B'.repeat(700)) }), entry({ name: 'c', body: text('C') }))
    const sourceChunks: Uint8Array[] = []
    async function* src(): AsyncGenerator<Uint8Array> {
      for await (const c of chunked(tar, 1024)) {
        sourceChunks.push(c)
        yield c
      }
    }
    const seen: string[] = []
    for await (const e of readTar(src())) {
      seen.push(e.path)
      if (e.path === 'b') {
        let body = ''
        for await (const piece of e.chunks()) {
          expect(sourceChunks.some((c) => c.buffer === piece.buffer)).toBe(true)
          body += decode(piece)
        }
        expect(body).toBe('B'.repeat(700))
      }
    }
    expect(seen).toEqual(['a', 'b', 'c'])
  })

  test('reading a body after moving on is an error', async () => {
    const tar = archive(entry({ name: 'a', body: text('x') }), entry({ name: 'b', body: text('y') }))
    const entries = []
    for await (const e of readTar(chunked(tar, 512))) entries.push(e)
    await expect(entries[0]!.bytes()).rejects.toThrow(/after moving on/)
  })

  test('truncation and corruption are errors in the stream too', async () => {
    const tar = archive(entry({ name: 'a', body: text('x'.repeat(3000)) }))
    const drain = async (bytes: Uint8Array) => {
      for await (const e of readTar(chunked(bytes, 100))) await e.bytes()
    }
    await expect(drain(tar.subarray(0, 1500))).rejects.toThrow(/truncated/)
    const bad = tar.slice()
    bad[0] ^= 1
    await expect(drain(bad)).rejects.toThrow(/checksum/)
    await expect(drain(archive(entry({ name: 'PaxHeaders/x', type: 'x', size: 5 << 20 })))).rejects.toThrow(/limit/)
  })

  test('the source is drained past the end marker (so a hashing consumer sees every byte)', async () => {
    const tar = gnuTar('pax') // GNU tar pads to a 10 KiB record
    let seen = 0
    async function* src(): AsyncGenerator<Uint8Array> {
      for await (const c of chunked(tar, 512)) {
        seen += c.length
        yield c
      }
    }
    for await (const _ of readTar(src())) {
      // bodies skipped
    }
    expect(seen).toBe(tar.length)
  })
})

test('header() in the test builder writes valid checksums (sanity for the tests above)', () => {
  const [e] = [...readTarSync(archive([header({ name: 'ok' }), new Uint8Array(0)]))]
  expect(e!.path).toBe('ok')
})
