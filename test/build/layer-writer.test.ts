// The layer writer: deterministic bytes, whiteouts and opaque markers as OCI says, times
// clamped, and a layer umoci (a real OCI tool) unpacks.

import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, lstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { applyChangeSet, buildChanges, diffTrees, type ChangeSet } from '../../web/oci/changes.js'
import { writeLayer } from '../../web/oci/layer-writer.js'
import { RootFs } from '../../web/oci/rootfs.js'
import { readTarSync } from '../../web/oci/tar.js'

const text = (s: string) => new TextEncoder().encode(s)
const meta = { mode: 0o755, uid: 0, gid: 0, mtime: 2_000_000_000 }
const changes: ChangeSet = {
  entries: [
    { path: '/etc', kind: 'dir', ...meta },
    { path: '/etc/motd', kind: 'file', ...meta, mode: 0o644, uid: 1000, gid: 100, data: text('hi\n') },
    { path: '/etc/old', kind: 'deleted' },
    { path: '/var', kind: 'dir', ...meta, opaque: true },
    { path: '/var/new', kind: 'symlink', ...meta, target: '/etc/motd' },
    { path: `/deep/${'x'.repeat(120)}`, kind: 'file', ...meta, data: text('long') },
  ],
}
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

describe('writeLayer', () => {
  it('gives the same bytes for the same changes, and whiteouts before their siblings', async () => {
    const a = await writeLayer(changes, { epoch: 1_700_000_000 })
    const b = await writeLayer({ entries: [...changes.entries].reverse().reverse() }, { epoch: 1_700_000_000 })
    expect(a.digest).toBe(b.digest)
    const tar = gunzipSync(a.blob)
    const entries = [...readTarSync(new Uint8Array(tar))]
    expect(entries.map((e) => e.path)).toEqual([
      'deep/', `deep/${'x'.repeat(120)}`, 'etc/', 'etc/.wh.old', 'etc/motd', 'var/', 'var/.wh..wh..opq', 'var/new',
    ])
    const motd = entries.find((e) => e.path === 'etc/motd')!
    expect([motd.uid, motd.gid, motd.mode & 0o7777, motd.mtime]).toEqual([1000, 100, 0o644, 1_700_000_000])
    expect(Math.max(...entries.map((e) => e.mtime))).toBe(1_700_000_000)
    // A different epoch is a different layer.
    expect((await writeLayer(changes, { epoch: 1 })).digest).not.toBe(a.digest)
  })

  it('writes a layer umoci unpacks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxplay-lw-'))
    dirs.push(dir)
    const layer = await writeLayer({ entries: changes.entries.filter((e) => e.kind !== 'deleted' && !(e.kind === 'dir' && e.opaque)) }, { epoch: 1_700_000_000 })
    const layout = join(dir, 'layout')
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true })
    const put = (bytes: Uint8Array) => {
      const hex = createHash('sha256').update(bytes).digest('hex') as string
      writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes)
      return { digest: `sha256:${hex}`, size: bytes.byteLength }
    }
    writeFileSync(join(layout, 'blobs', 'sha256', layer.digest.slice(7)), layer.blob)
    const config = put(text(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.diffId] }, config: {} })))
    const manifest = put(text(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    })))
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'x' } }] }))
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:x`, join(dir, 'bundle')], { stdio: 'pipe' })
    const rootfs = join(dir, 'bundle', 'rootfs')
    expect(readFileSync(join(rootfs, 'etc', 'motd'), 'utf8')).toBe('hi\n')
    expect(lstatSync(join(rootfs, 'var', 'new')).isSymbolicLink()).toBe(true)
    expect(existsSync(join(rootfs, 'deep', 'x'.repeat(120)))).toBe(true)
  })
})

describe('change sets', () => {
  it('diffs two trees and applying the diff gives the upper tree back', async () => {
    const lower = new RootFs()
    lower.mkdirp('/etc')
    lower.mkdirp('/tmp')
    lower.root.entries.get('etc')!.kind === 'dir' && (lower.get('/etc') as { entries: Map<string, unknown> }).entries.set('gone', { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, data: text('x') })
    const upper = new RootFs()
    upper.mkdirp('/etc')
    upper.mkdirp('/tmp', { mtime: 99 })
    ;(upper.get('/etc') as { entries: Map<string, unknown> }).entries.set('new', { kind: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 5, data: text('y') })
    const diff = await buildChanges(await diffTrees(lower, upper), lower)
    expect(diff.entries.map((e) => `${e.kind} ${e.path}`)).toEqual(['dir /etc', 'deleted /etc/gone', 'file /etc/new'])
    const again = applyChangeSet(lower, diff)
    expect([...again.walk()].map(([p]) => p)).toEqual(['/etc', '/etc/new', '/tmp'])
  })

  it('drops what the runtime provides and directories that only got a new mtime', async () => {
    const lower = new RootFs()
    lower.mkdirp('/etc')
    const kept = await buildChanges({
      entries: [
        { path: '/dev', kind: 'dir', ...meta },
        { path: '/etc', kind: 'dir', ...meta },
        { path: '/etc/hosts', kind: 'file', ...meta, data: text('127.0.0.1 localhost') },
      ],
    }, lower)
    expect(kept.entries).toEqual([])
  })
})
