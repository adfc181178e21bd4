// The layer cache for the native runtime: `layers/<diffid-hex>/` holds one layer unpacked,
// made once per diff-id and shared by every image using it. A layer is unpacked into a temp
// dir and renamed into place only when complete and verified (its diff-id is the sha256 of
// the uncompressed tar, checked while streaming), so a layer dir that exists is whole.
// `layers/<hex>.json` beside it records how it was made (whiteout mode, what was skipped).

import { createHash } from 'node:crypto'
import { closeSync, createReadStream, existsSync, openSync, promises as fsp, readSync } from 'node:fs'
import { join } from 'node:path'
import { type ZlibOptions, createGunzip } from 'node:zlib'
import { decompress } from '../../web/oci/compression.js'
import { layerCompression } from '../../web/oci/media-types.js'
import { readTar } from '../../web/oci/tar.js'
import type { LayerRef } from '../../web/runtimes/runtime.js'
import { digestHex } from './blobs.js'
import { withTempDir } from './temp.js'
import { LayerUnpacker, UnpackError, type UnpackSummary } from './unpack.js'

export const DEFAULT_MAX_LAYER_BYTES = 8 * 1024 ** 3

/** The decompression-bomb cap: `BOXPLAY_MAX_LAYER_BYTES` or 8 GiB of uncompressed tar per layer. */
export function maxLayerBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BOXPLAY_MAX_LAYER_BYTES
  if (raw === undefined || raw === '') return DEFAULT_MAX_LAYER_BYTES
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new Error(`BOXPLAY_MAX_LAYER_BYTES="${raw}" is not a positive whole number of bytes`)
  }
  return n
}

export interface LayerCacheOptions {
  maxBytes?: number
  /** Create char/block devices from layers (root only). Default false. */
  allowDevices?: boolean
  /** How whiteouts are made: see UnpackOptions.whiteouts. */
  whiteouts?: 'auto' | 'xattr'
}

export interface LayerRecord extends UnpackSummary {
  diffId: string
  blob: string
  mediaType: string
  uncompressedBytes: number
  unpackedAt: string
}

/**
 * The uncompressed tar bytes of a stored layer blob, in big chunks. The format comes from the
 * blob's magic bytes when it has one (some tools mislabel layers), else from the media type;
 * gzip goes through node:zlib (native, off the main thread), zstd through web/oci.
 */
export function layerTarStream(blobPath: string, mediaType: string): AsyncIterable<Uint8Array> {
  const head = Buffer.alloc(4)
  const fd = openSync(blobPath, 'r')
  let n: number
  try {
    n = readSync(fd, head, 0, 4, 0)
  } finally {
    closeSync(fd)
  }
  const gzip = n >= 2 && head[0] === 0x1f && head[1] === 0x8b
  const zstd = n >= 4 && head.readUInt32LE(0) === 0xfd2fb528
  const file = createReadStream(blobPath, { highWaterMark: 1 << 20 })
  if (gzip) {
    // A deep buffer lets zlib (on the threadpool) run ahead of the unpacker.
    const gunzip = createGunzip({ chunkSize: 1 << 18, highWaterMark: 8 << 20 } as ZlibOptions)
    file.on('error', (e) => gunzip.destroy(e))
    return file.pipe(gunzip)
  }
  if (zstd) return decompress('zstd', file)
  if (layerCompression(mediaType) === undefined) {
    file.destroy()
    throw new UnpackError(`unknown layer media type "${mediaType}": boxplay unpacks tar, tar+gzip and tar+zstd layers`)
  }
  return file // a plain tar, whatever the label says (web/oci/compression decides the same way)
}

/** Hashes and counts a tar stream on its way to the tar reader; stops a decompression bomb early. */
async function* measured(source: AsyncIterable<Uint8Array>, maxBytes: number, out: { hash: ReturnType<typeof createHash>; bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    out.bytes += chunk.byteLength
    if (out.bytes > maxBytes) {
      throw new UnpackError(
        `layer expands to more than ${maxBytes} bytes: refusing it as a possible decompression bomb ` +
          `(raise BOXPLAY_MAX_LAYER_BYTES if the image is genuinely that large)`,
      )
    }
    out.hash.update(chunk)
    yield chunk
  }
}

export function layerDir(layersRoot: string, diffId: string): string {
  return join(layersRoot, digestHex(diffId))
}

/**
 * Unpacks the layer (if not already cached) and returns its directory. `tmpRoot` must be on
 * the same filesystem as `layersRoot`.
 */
export async function ensureLayer(
  layersRoot: string,
  tmpRoot: string,
  layer: LayerRef,
  blobPath: string,
  opts: LayerCacheOptions = {},
): Promise<string> {
  const final = layerDir(layersRoot, layer.diffId)
  if (existsSync(final)) return final
  const maxBytes = opts.maxBytes ?? maxLayerBytes()
  const privileged = process.getuid?.() === 0
  return withTempDir(tmpRoot, async (tmp) => {
    const dest = tmp.name('layer')
    await fsp.mkdir(dest, { mode: 0o700 })
    const seen = { hash: createHash('sha256'), bytes: 0 }
    const entries = readTar(measured(layerTarStream(blobPath, layer.mediaType), maxBytes, seen))
    const unpacker = new LayerUnpacker(dest, { privileged, allowDevices: opts.allowDevices ?? false, scratchFile: tmp.name('xattrs'), whiteouts: opts.whiteouts ?? 'auto' })
    let summary: UnpackSummary
    try {
      for await (const entry of entries) await unpacker.add(entry)
      // The tar reader drained the stream to its end, so the hash covers every byte.
      const got = `sha256:${seen.hash.digest('hex')}`
      if (got !== layer.diffId) {
        throw new UnpackError(
          `it uncompresses to ${got}, but the image config says its diff-id is ${layer.diffId}: ` +
            `the image is corrupt or was tampered with; nothing was unpacked`,
        )
      }
      summary = unpacker.finish()
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e)
      throw new UnpackError(`cannot unpack layer ${layer.digest}: ${msg}`)
    }
    const record: LayerRecord = {
      diffId: layer.diffId,
      blob: layer.digest,
      mediaType: layer.mediaType,
      uncompressedBytes: seen.bytes,
      unpackedAt: new Date().toISOString(),
      ...summary,
    }
    const recordTmp = tmp.name('record.json')
    await fsp.writeFile(recordTmp, JSON.stringify(record, null, 2) + '\n')
    try {
      await fsp.rename(dest, final)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      // Another process finished the same layer first: theirs is just as good.
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(final)) return final
      throw e
    }
    await fsp.rename(recordTmp, `${final}.json`).catch(() => undefined)
    return final
  })
}

export async function readLayerRecord(layersRoot: string, diffId: string): Promise<LayerRecord | undefined> {
  try {
    return JSON.parse(await fsp.readFile(`${layerDir(layersRoot, diffId)}.json`, 'utf8')) as LayerRecord
  } catch {
    return undefined
  }
}
