// Layer decompression for browsers and Node alike, via the web's DecompressionStream.
// The format is taken from the content's magic bytes when it has one (as containerd does:
// some tools label plain tars as gzip and vice versa) and otherwise from the media type.
// A size cap stops decompression bombs before they fill memory or disk. zstd uses the
// platform's DecompressionStream when it has one, else fzstd (pure JS, ~140 MB/s here).

import { type LayerCompression, layerCompression } from './media-types.js'
import { concatBytes } from './bytes.js'

export class CompressionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CompressionError'
  }
}

export interface DecompressOptions {
  /** Refuse output larger than this many bytes (a decompression bomb or a wrong layer). */
  maxBytes?: number
}

function sniff(first: Uint8Array): LayerCompression | undefined {
  if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) return 'gzip'
  if (first.length >= 4 && first[0] === 0x28 && first[1] === 0xb5 && first[2] === 0x2f && first[3] === 0xfd) return 'zstd'
  return undefined
}

/** True when the bytes start like a tar header (the ustar magic at offset 257). */
function looksLikeTar(first: Uint8Array): boolean {
  return first.length >= 262 && first[257] === 0x75 && first[258] === 0x73 && first[259] === 0x74 && first[260] === 0x61 && first[261] === 0x72
}

/** The real format: magic bytes first; a "compressed" layer that is a plain tar is read as one. */
function detect(format: LayerCompression, first: Uint8Array): LayerCompression {
  const magic = sniff(first)
  if (magic !== undefined) return magic
  if (format === 'none' || looksLikeTar(first)) return 'none'
  throw new CompressionError(`layer is labelled ${format} but does not start like ${format} data (nor a tar): it is corrupt`)
}

function declared(mediaType: string): LayerCompression {
  const c = layerCompression(mediaType)
  if (c !== undefined) return c
  // Also accept the bare format names, for callers that already know.
  if (mediaType === 'gzip' || mediaType === 'zstd' || mediaType === 'none') return mediaType
  throw new CompressionError(
    `unknown layer media type "${mediaType}": boxplay reads OCI and Docker tar layers (plain, gzip, zstd). ` +
      `Is this an artifact rather than a container image?`,
  )
}

function supportsZstdStream(): boolean {
  try {
    new DecompressionStream('zstd' as CompressionFormat)
    return true
  } catch {
    return false
  }
}

/** Re-yields `first` and then the rest of the iterator, without copying anything. */
async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first
  for (;;) {
    const next = await rest.next()
    if (next.done) return
    yield next.value
  }
}

/** zstd through fzstd: it decodes synchronously in push(), handing out fresh arrays. */
async function* zstdThroughFzstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // Loaded on first use: most layers are gzip, and importing fzstd costs every start ~5 ms.
  const { Decompress: ZstdDecompress } = await import('fzstd')
  let out: Uint8Array[] = []
  const decoder = new ZstdDecompress((data) => {
    out.push(data)
  })
  const push = (chunk: Uint8Array, final: boolean): Uint8Array[] => {
    try {
      decoder.push(chunk, final)
    } catch (e) {
      throw new CompressionError(`zstd layer is corrupt or truncated: ${(e as Error).message}`)
    }
    const ready = out
    out = []
    return ready
  }
  for await (const chunk of source) yield* push(chunk, false)
  yield* push(new Uint8Array(0), true)
}

function capped(source: AsyncIterable<Uint8Array>, maxBytes: number | undefined): AsyncIterable<Uint8Array> {
  if (maxBytes === undefined) return source
  return (async function* () {
    let total = 0
    for await (const chunk of source) {
      total += chunk.byteLength
      if (total > maxBytes) {
        throw new CompressionError(`layer decompresses to more than ${maxBytes} bytes: refusing it (a decompression bomb, or raise the limit)`)
      }
      yield chunk
    }
  })()
}

async function* throughStream(format: CompressionFormat, source: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  const input = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await source.next()
        if (next.done) controller.close()
        else controller.enqueue(next.value)
      } catch (e) {
        controller.error(e)
      }
    },
    async cancel() {
      await source.return?.()
    },
  })
  const output = input.pipeThrough(new DecompressionStream(format) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>)
  const reader = output.getReader()
  let done = false
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>
      try {
        next = await reader.read()
      } catch (e) {
        throw new CompressionError(`${format} layer is corrupt or truncated: ${(e as Error).message}`)
      }
      if (next.done) {
        done = true
        return
      }
      yield next.value
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {})
    reader.releaseLock()
  }
}

/** Decompresses a layer as it streams in; plain tars pass through untouched. */
export function decompress(mediaType: string, data: AsyncIterable<Uint8Array>, opts: DecompressOptions = {}): AsyncIterable<Uint8Array> {
  const format = declared(mediaType)
  const body = (async function* () {
    const it = data[Symbol.asyncIterator]()
    let first: Uint8Array | undefined
    for (;;) {
      const next = await it.next()
      if (next.done) return // an empty blob decompresses to nothing
      if (next.value.byteLength > 0) {
        first = next.value
        break
      }
    }
    const actual = detect(format, first)
    const all = prepend(first, it)
    if (actual === 'none') yield* all
    else if (actual === 'gzip') yield* throughStream('gzip', all)
    else if (supportsZstdStream()) yield* throughStream('zstd' as CompressionFormat, all)
    else yield* zstdThroughFzstd(all)
  })()
  return capped(body, opts.maxBytes)
}


/** Decompresses a whole layer held in memory. Plain tars come back as the same array (no copy). */
export async function decompressBytes(mediaType: string, bytes: Uint8Array, opts: DecompressOptions = {}): Promise<Uint8Array> {
  if (bytes.byteLength === 0 || detect(declared(mediaType), bytes.subarray(0, 512)) === 'none') {
    if (opts.maxBytes !== undefined && bytes.byteLength > opts.maxBytes) {
      throw new CompressionError(`layer is larger than ${opts.maxBytes} bytes: refusing it (raise the limit)`)
    }
    return bytes
  }
  // Feed in slices so the stream machinery never holds two full copies in flight.
  async function* slices(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.byteLength; i += 1 << 20) yield bytes.subarray(i, i + (1 << 20))
  }
  // A gzip member ends with its uncompressed size (mod 4 GiB). When plausible, decompress
  // straight into one array of that size: half the peak memory of collect-then-concat.
  const hint = gzipSizeHint(bytes, opts.maxBytes)
  let out = hint === undefined ? undefined : new Uint8Array(hint)
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of decompress(mediaType, slices(), opts)) {
    if (out !== undefined && total + chunk.byteLength <= out.byteLength) out.set(chunk, total)
    else {
      if (out !== undefined) {
        // The hint was wrong (several gzip members?): keep what we have and collect the rest.
        chunks.push(out.subarray(0, total))
        out = undefined
      }
      chunks.push(chunk)
    }
    total += chunk.byteLength
  }
  if (out !== undefined) return total === out.byteLength ? out : out.subarray(0, total)
  return concatBytes(chunks, total)
}

const MAX_TRUSTED_HINT = 2 ** 31

function gzipSizeHint(bytes: Uint8Array, maxBytes: number | undefined): number | undefined {
  if (bytes.byteLength < 18 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return undefined
  const n = bytes.byteLength
  const size = (bytes[n - 4]! | (bytes[n - 3]! << 8) | (bytes[n - 2]! << 16) | (bytes[n - 1]! << 24)) >>> 0
  if (size === 0 || size > MAX_TRUSTED_HINT || (maxBytes !== undefined && size > maxBytes)) return undefined
  return size
}
