import { spawnSync } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import { CompressionError, decompress, decompressBytes } from '../../web/oci/compression.js'
import * as MT from '../../web/oci/media-types.js'
import { readTarSync } from '../../web/oci/tar.js'
import { tarTree } from '../helpers/registry.js'

function tool(cmd: string, args: string[], input: Uint8Array): Uint8Array {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 28 })
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`)
  return new Uint8Array(r.stdout)
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

/** Byte equality without vitest's per-element deep compare (slow on megabytes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return new Uint8Array(Buffer.concat(parts))
}

describe('layer decompression', () => {
  test('gzip from GNU gzip, in memory and streamed in small chunks', async () => {
    const tar = await tarTree({ 'a.txt': 'a'.repeat(100_000), 'b/c': 'c' })
    const gz = tool('gzip', ['-c', '-6'], tar)
    expect(same(await decompressBytes(MT.OCI_LAYER_GZIP, gz), tar)).toBe(true)
    expect(same(await decompressBytes(MT.DOCKER_LAYER_GZIP, gz), tar)).toBe(true)
    expect(same(await collect(decompress(MT.OCI_LAYER_GZIP, chunks(gz, 333))), tar)).toBe(true)
    expect([...readTarSync(await decompressBytes(MT.OCI_LAYER_GZIP, gz))].map((e) => e.path)).toContain('./b/c')
  })

  test('plain tar passes through without a copy', async () => {
    const tar = await tarTree({ x: 'x' })
    expect(await decompressBytes(MT.OCI_LAYER_TAR, tar)).toBe(tar)
    const out: Uint8Array[] = []
    for await (const c of decompress(MT.OCI_LAYER_TAR, chunks(tar, 1024))) out.push(c)
    expect(out[0]!.buffer).toBe(tar.buffer)
  })

  test('content is detected by magic: a gzip labelled plain, a plain tar labelled gzip', async () => {
    const tar = await tarTree({ x: 'x' })
    const gz = tool('gzip', ['-c'], tar)
    expect(same(await decompressBytes(MT.OCI_LAYER_TAR, gz), tar)).toBe(true)
    expect(await decompressBytes(MT.OCI_LAYER_GZIP, tar)).toBe(tar)
  })

  test('zstd layers from the zstd tool: in memory, streamed, multi-frame, truncated', async () => {
    // Several MB of mixed content so the decoder crosses many blocks and its window wraps.
    const big = new Uint8Array(6 << 20)
    let x = 1
    for (let i = 0; i < big.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0
      big[i] = i % 4096 < 2048 ? (x >>> 24) & 0x3f : i & 0xff
    }
    const tar = await tarTree({ z: 'zstd content', big })
    const zst = tool('zstd', ['-c', '-q', '-3'], tar)
    expect(same(await decompressBytes(MT.OCI_LAYER_ZSTD, zst), tar)).toBe(true)
    expect(same(await collect(decompress(MT.OCI_LAYER_ZSTD, chunks(zst, 70_001))), tar)).toBe(true)
    // two frames back to back decode to both payloads, as `zstd -d` does
    const two = new Uint8Array(Buffer.concat([zst, tool('zstd', ['-c', '-q'], new TextEncoder().encode('tail'))]))
    const out = await decompressBytes(MT.OCI_LAYER_ZSTD, two)
    expect(new TextDecoder().decode(out.subarray(tar.length))).toBe('tail')
    await expect(decompressBytes(MT.OCI_LAYER_ZSTD, zst.subarray(0, zst.length >> 1))).rejects.toThrow(/zstd layer is corrupt or truncated/)
    await expect(decompressBytes(MT.OCI_LAYER_ZSTD, zst, { maxBytes: 1 << 20 })).rejects.toThrow(/more than 1048576 bytes/)
  })

  test('a decompression bomb is stopped at the cap', async () => {
    const zeros = new Uint8Array(20 << 20)
    const gz = tool('gzip', ['-c', '-9'], zeros)
    expect(gz.length).toBeLessThan(100_000)
    await expect(decompressBytes(MT.OCI_LAYER_GZIP, gz, { maxBytes: 1 << 20 })).rejects.toThrow(/more than 1048576 bytes/)
    await expect(decompressBytes(MT.OCI_LAYER_TAR, zeros, { maxBytes: 1 << 20 })).rejects.toThrow(CompressionError)
    expect((await decompressBytes(MT.OCI_LAYER_GZIP, gz, { maxBytes: 21 << 20 })).length).toBe(20 << 20)
  })

  test('corrupt and truncated gzip are clear errors', async () => {
    const tar = await tarTree({ a: 'a'.repeat(50_000) })
    const gz = tool('gzip', ['-c'], tar)
    await expect(decompressBytes(MT.OCI_LAYER_GZIP, gz.subarray(0, gz.length / 2))).rejects.toThrow(/gzip layer is corrupt or truncated/)
    const bad = gz.slice()
    for (let i = 20; i < 60; i++) bad[i] ^= 0xff
    await expect(decompressBytes(MT.OCI_LAYER_GZIP, bad)).rejects.toThrow(/gzip layer is corrupt or truncated/)
    await expect(decompressBytes(MT.OCI_LAYER_GZIP, new TextEncoder().encode('not gzip, not tar'))).rejects.toThrow(/labelled gzip but does not start like gzip/)
  })

  test('unknown media types are refused by name', async () => {
    await expect(decompressBytes('application/vnd.cncf.helm.chart.content.v1.tar+gzip', new Uint8Array(10))).rejects.toThrow(/unknown layer media type/)
  })
})

test('several gzip members back to back decode to all of them (the size hint of the last one is not trusted blindly)', async () => {
  const a = new Uint8Array(300_000).fill(0x61)
  const b = new TextEncoder().encode('second member')
  const two = new Uint8Array(Buffer.concat([tool('gzip', ['-c'], a), tool('gzip', ['-c'], b)]))
  const out = await decompressBytes(MT.OCI_LAYER_GZIP, two)
  expect(out.length).toBe(a.length + b.length)
  expect(Buffer.compare(out.subarray(0, a.length), a)).toBe(0)
  expect(new TextDecoder().decode(out.subarray(a.length))).toBe('second member')
  // and the other way round: the last member's size is larger than the whole output so far
  const swapped = new Uint8Array(Buffer.concat([tool('gzip', ['-c'], b), tool('gzip', ['-c'], a)]))
  const out2 = await decompressBytes(MT.OCI_LAYER_GZIP, swapped)
  expect(out2.length).toBe(a.length + b.length)
  expect(new TextDecoder().decode(out2.subarray(0, b.length))).toBe('second member')
})
