// Content-addressed blob files: every byte is hashed and counted while it is written, to a
// temp file in the store, and only a blob whose digest and size match is renamed into
// blobs/sha256/. A failed or interrupted write leaves no file under blobs/.

import { createHash } from 'node:crypto'
import { createReadStream, promises as fsp } from 'node:fs'
import { DigestError, parseDigest } from '../../web/oci/digest.js'

export class BlobError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BlobError'
  }
}

/** The hex part of a sha256 digest; anything else is refused with a clear error. */
export function digestHex(digest: string): string {
  try {
    return parseDigest(digest).hex
  } catch (e) {
    if (e instanceof DigestError) throw new BlobError(e.message)
    throw e
  }
}

export interface Expected {
  digest?: string
  size?: number
}

export interface Written {
  digest: string
  size: number
}

const FLUSH_BYTES = 1 << 20

/**
 * Streams `source` into `tmpPath`, hashing as it goes. Chunks are gathered into ~1 MiB
 * writev calls with one write in flight while the next batch arrives. Throws (after removing
 * the temp file) when the size runs past `expected.size` or the digest differs.
 */
export async function writeVerified(
  tmpPath: string,
  source: AsyncIterable<Uint8Array>,
  expected: Expected = {},
  onBytes?: (n: number) => void,
): Promise<Written> {
  const hash = createHash('sha256')
  const fh = await fsp.open(tmpPath, 'wx', 0o644)
  let size = 0
  let batch: Uint8Array[] = []
  let batchBytes = 0
  let inFlight: Promise<unknown> = Promise.resolve()
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return
    const chunks = batch
    batch = []
    batchBytes = 0
    await inFlight
    inFlight = fh.writev(chunks)
  }
  try {
    for await (const chunk of source) {
      if (chunk.byteLength === 0) continue
      size += chunk.byteLength
      if (expected.size !== undefined && size > expected.size) {
        throw new BlobError(`blob ${expected.digest ?? '(no digest given)'} is larger than the ${expected.size} bytes its descriptor says: refusing it`)
      }
      hash.update(chunk)
      batch.push(chunk)
      batchBytes += chunk.byteLength
      onBytes?.(chunk.byteLength)
      if (batchBytes >= FLUSH_BYTES) await flush()
    }
    await flush()
    await inFlight
    await fh.close()
  } catch (e) {
    await inFlight.catch(() => undefined)
    await fh.close().catch(() => undefined)
    await fsp.unlink(tmpPath).catch(() => undefined)
    throw e
  }
  const digest = `sha256:${hash.digest('hex')}`
  const problem =
    expected.size !== undefined && size !== expected.size
      ? `is ${size} bytes where ${expected.size} were expected (truncated download?)`
      : expected.digest !== undefined && digest !== expected.digest
        ? `has digest ${digest} where ${expected.digest} was expected (corrupt or tampered content)`
        : undefined
  if (problem !== undefined) {
    await fsp.unlink(tmpPath).catch(() => undefined)
    throw new BlobError(`blob ${expected.digest ?? digest} ${problem}: nothing was stored`)
  }
  return { digest, size }
}

/** Moves a verified temp file into place. An existing blob wins (same content by definition). */
export async function commitBlob(tmpPath: string, finalPath: string): Promise<void> {
  try {
    await fsp.link(tmpPath, finalPath)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      // Filesystems without hardlinks: rename (atomic, replaces an identical blob).
      await fsp.rename(tmpPath, finalPath)
      return
    }
  }
  await fsp.unlink(tmpPath).catch(() => undefined)
}

/** Reads a whole blob file and checks it against its digest (and size when known). */
export async function readVerified(path: string, digest: string, size?: number): Promise<Uint8Array> {
  const hex = digestHex(digest)
  let bytes: Buffer
  try {
    bytes = await fsp.readFile(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BlobError(`blob ${digest} is not in the store (pull the image again, or with the --platform you need)`)
    }
    throw e
  }
  if (size !== undefined && bytes.byteLength !== size) {
    throw new BlobError(`blob ${digest} in the store is ${bytes.byteLength} bytes, not ${size}: the store is damaged; rmi and pull again`)
  }
  const got = createHash('sha256').update(bytes).digest('hex')
  if (got !== hex) {
    throw new BlobError(`blob ${digest} in the store has digest sha256:${got}: the store is damaged; run prune and pull again`)
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** A blob as a stream of big chunks (for unpacking). Not verified here: the caller hashes. */
export function blobStream(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: 1 << 20 })
}
