import { gzipSync } from 'node:zlib'
import { describe, expect, test } from 'vitest'
import { digestOf } from '../../web/oci/digest.js'
import { buildRootFs } from '../../web/oci/image.js'
import { type LayerIndex, type LayerIndexSource, buildLazyRootFs, indexLayer, parseLayerIndex, verifiedContent } from '../../web/oci/layer-index.js'
import { type Node, RootFs, readFile } from '../../web/oci/rootfs.js'
import type { LayerRef, RunImage } from '../../web/runtimes/runtime.js'
import { archive, entry, text } from './tar-build.js'

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
const TAR = 'application/vnd.oci.image.layer.v1.tar'

const lower = archive(
  entry({ name: 'etc/', type: '5', mode: 0o755 }),
  entry({ name: 'etc/passwd', body: text('root:x:0:0:root:/root:/bin/sh\n') }),
  entry({ name: 'etc/motd', body: text('hello\n') }),
  entry({ name: 'bin/', type: '5', mode: 0o755 }),
  entry({ name: 'bin/busybox', mode: 0o755, body: text('#!busybox '.repeat(300)) }),
  entry({ name: 'bin/sh', type: '1', linkname: 'bin/busybox' }),
  entry({ name: 'bin/ls', type: '2', linkname: 'busybox' }),
  entry({ name: 'opt/', type: '5' }),
  entry({ name: 'opt/old', body: text('old\n') }),
  entry({ name: 'empty', body: new Uint8Array(0) }),
)
const upper = archive(
  entry({ name: 'etc/.wh.motd' }),
  entry({ name: 'opt/.wh..wh..opq' }),
  entry({ name: 'opt/new', body: text('new\n') }),
  entry({ name: 'etc/passwd', body: text('root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n') }),
  entry({ name: 'bin/cat', type: '1', linkname: 'bin/busybox' }), // hardlink to a lower layer's file
  entry({ name: 'copy-of-motd', body: text('hello\n') }), // same content as a deleted file
)

async function image(): Promise<{ image: RunImage; blobs: Map<string, Uint8Array> }> {
  const blobs = new Map<string, Uint8Array>()
  const layers: LayerRef[] = []
  for (const [tar, mediaType] of [[gzipSync(lower), GZIP], [upper, TAR]] as const) {
    const bytes = new Uint8Array(tar)
    const digest = await digestOf(bytes)
    blobs.set(digest, bytes)
    layers.push({ digest, diffId: await digestOf(mediaType === GZIP ? lower : upper), mediaType, size: bytes.byteLength })
  }
  const blob = async (d: string): Promise<Uint8Array> => blobs.get(d) ?? Promise.reject(new Error(`no blob ${d}`))
  return { image: { name: 'test', digest: 'sha256:' + '0'.repeat(64), platform: { os: 'linux', architecture: '386' }, config: {}, layers, blob }, blobs }
}

/** A source over indexes and contents held in memory, counting what it is asked for. */
async function memorySource(img: RunImage, blobs: Map<string, Uint8Array>) {
  const contents = new Map<string, Uint8Array>()
  const indexes = new Map<string, string>()
  for (const l of img.layers) {
    const index = await indexLayer(l, blobs.get(l.digest)!, (hex, data) => void contents.set(hex, data.slice()))
    indexes.set(l.digest, JSON.stringify(index)) // through JSON, as a server or a file would carry it
  }
  const fetched: string[] = []
  const source: LayerIndexSource = {
    index: async (l) => (indexes.has(l.digest) ? parseLayerIndex(JSON.parse(indexes.get(l.digest)!), l.digest) : undefined),
    content: (hex, size) => {
      fetched.push(hex)
      return verifiedContent(async () => contents.get(hex) ?? new Uint8Array(0), hex, size)
    },
  }
  return { source, fetched, contents, indexes }
}

async function describeTree(fs: RootFs): Promise<string[]> {
  const ids = new Map<Node, string>()
  const out: string[] = []
  for (const [path, node] of fs.walk()) {
    const shared = ids.get(node)
    if (!shared) ids.set(node, path)
    const head = `${path} ${node.kind} ${node.mode.toString(8)} ${node.uid}:${node.gid} ${node.mtime}`
    if (node.kind === 'file') out.push(`${head} ${shared ? `= ${shared}` : JSON.stringify(new TextDecoder().decode(await readFile(node)))}`)
    else if (node.kind === 'symlink') out.push(`${head} -> ${node.target}`)
    else out.push(head)
  }
  return out
}

describe('layer indexes', () => {
  test('a lazy RootFs equals buildRootFs: whiteouts, opaque dirs and hardlinks across layers', async () => {
    const { image: img, blobs } = await image()
    const { source } = await memorySource(img, blobs)
    const eager = await describeTree(await buildRootFs(img))
    const lazy = await describeTree(await buildLazyRootFs(img, source))
    expect(lazy).toEqual(eager)
    expect(lazy).toContain('/bin/cat file 755 0:0 1700000000 = /bin/busybox')
    expect(lazy.some((l) => l.startsWith('/etc/motd'))).toBe(false)
    expect(lazy.some((l) => l.startsWith('/opt/old'))).toBe(false)
  })

  test('building fetches no file contents; reading one file fetches only it', async () => {
    const { image: img, blobs } = await image()
    const { source, fetched } = await memorySource(img, blobs)
    const fs = await buildLazyRootFs(img, source)
    expect(fetched).toEqual([])
    const passwd = fs.get('/etc/passwd')
    if (passwd.kind !== 'file') throw new Error('passwd is not a file')
    expect(new TextDecoder().decode(await readFile(passwd))).toContain('user:x:1000')
    expect(fetched).toHaveLength(1)
    const empty = fs.get('/empty')
    if (empty.kind !== 'file') throw new Error('empty is not a file')
    expect((await readFile(empty)).byteLength).toBe(0)
    expect(fetched).toHaveLength(1) // empty files need no fetch
  })

  test('identical contents are published once; the JSON is deterministic', async () => {
    const { image: img, blobs } = await image()
    const a = await memorySource(img, blobs)
    const b = await memorySource(img, blobs)
    expect([...a.indexes.values()]).toEqual([...b.indexes.values()])
    const motd = await digestOf(text('hello\n'))
    expect(a.contents.has(motd.slice(7))).toBe(true)
    const index = JSON.parse(a.indexes.get(img.layers[1]!.digest)!) as LayerIndex
    expect(index.entries.map((e) => e.path)).toEqual(['etc/.wh.motd', 'opt/.wh..wh..opq', 'opt/new', 'etc/passwd', 'bin/cat', 'copy-of-motd'])
  })

  test('a layer without an index falls back to its blob; corrupt content is refused', async () => {
    const { image: img, blobs } = await image()
    const { source, contents } = await memorySource(img, blobs)
    const partial: LayerIndexSource = { index: async (l) => (l === img.layers[0] ? undefined : source.index(l)), content: source.content }
    expect(await describeTree(await buildLazyRootFs(img, partial))).toEqual(await describeTree(await buildRootFs(img)))

    const fs = await buildLazyRootFs(img, source)
    const node = fs.get('/opt/new')
    if (node.kind !== 'file' || node.data instanceof Uint8Array) throw new Error('expected a lazy file')
    const hex = [...contents.keys()].find((h) => new TextDecoder().decode(contents.get(h)!) === 'new\n')!
    contents.set(hex, text('NEW\n'))
    await expect(readFile(node)).rejects.toThrow(/does not match its digest/)
    expect(() => parseLayerIndex({ version: 1, digest: 'sha256:x', entries: [] }, img.layers[0]!.digest)).toThrow(/describes sha256:x/)
  })

  test('contents arrive gzipped (as published) or plain, and either way must match their hash', async () => {
    const body = text('#!/bin/sh\necho hi\n'.repeat(50))
    const hex = (await digestOf(body)).slice(7)
    const from = (bytes: Uint8Array) => verifiedContent(async () => bytes, hex, body.byteLength)
    expect(Buffer.compare(await from(gzipSync(body)), body)).toBe(0)
    expect(Buffer.compare(await from(body), body)).toBe(0)
    // A file that is itself gzip, delivered plain (a host's Content-Encoding undone by fetch).
    const archive = gzipSync(text('inside\n'))
    const archiveHex = (await digestOf(archive)).slice(7)
    expect((await verifiedContent(async () => archive, archiveHex, archive.byteLength)).byteLength).toBe(archive.byteLength)

    await expect(from(gzipSync(text('something else')))).rejects.toThrow(/is 14 bytes but \d+ were expected/)
    await expect(from(gzipSync(text('x'.repeat(body.byteLength))))).rejects.toThrow(/does not match its digest/)
    await expect(from(text('x'.repeat(body.byteLength)))).rejects.toThrow(/does not match its digest/)
    // Inflating past the promised size is refused before it is all in memory.
    await expect(from(gzipSync(new Uint8Array(body.byteLength * 1000)))).rejects.toThrow(/does not inflate to its \d+ bytes/)
    await expect(from(gzipSync(body).subarray(0, 30))).rejects.toThrow(/sha256|inflate/)
  })
})
