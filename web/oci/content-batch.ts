// Several file contents in one HTTP response: the wire format of `GET /api/contents?sha256=…`
// (boxplay serve), written once for the server that frames it and the client that splits it.
//
// A page that runs a command it ran before knows which files the guest will read (recorded
// per image and command, web/runtimes/v86/file-prefetch.ts) and asks for all of them at once,
// instead of one request per file. The URL names the contents by hash, sorted, so the same
// set is the same URL: cacheable forever (immutable), like each single content.
//
// Body: for each requested hash, in the order asked, a 4-byte big-endian length and then the
// content as published (gzipped, as `GET /api/content/sha256:HEX` sends it). The client
// verifies every member against its hash (web/oci/layer-index.ts verifiedContent).
// No DOM and no Node APIs: it runs everywhere.

/** Most contents one batch names: 64 hashes keep the URL near 4 KB, under every server's limit. */
export const MAX_BATCH_CONTENTS = 64
/** Most bytes (as published) the server sends in one batch; the client splits well below it. */
export const MAX_BATCH_BYTES = 32 * 2 ** 20
/** The client's own split: contents it asks for in one batch, by their (inflated) sizes. */
export const BATCH_SPLIT_BYTES = 16 * 2 ** 20

const HEX = /^[0-9a-f]{64}$/

/** The query for `hexes` (sorted and deduplicated, so a set has one URL). */
export function batchQuery(hexes: readonly string[]): string {
  return `sha256=${[...new Set(hexes)].sort().join(',')}`
}

/** The hashes a batch query names, or the reason it is refused (for a 400). */
export function parseBatchQuery(value: string | null): string[] | { error: string } {
  if (!value) return { error: 'name the contents: ?sha256=HEX,HEX,… (64 hex digits each)' }
  const hexes = value.split(',')
  if (hexes.length > MAX_BATCH_CONTENTS) return { error: `a batch names at most ${MAX_BATCH_CONTENTS} contents, not ${hexes.length}: split it` }
  const bad = hexes.find((h) => !HEX.test(h))
  if (bad !== undefined) return { error: `"${bad.slice(0, 80)}" is not a content hash: expected 64 lowercase hex digits` }
  if (new Set(hexes).size !== hexes.length) return { error: 'a batch names each content once' }
  return hexes
}

/** The 4-byte length that precedes each member. */
export function frameHeader(length: number): Uint8Array {
  const head = new Uint8Array(4)
  new DataView(head.buffer).setUint32(0, length)
  return head
}

/** Splits a batch body into its members, one per hash asked for; throws when the framing is off. */
export function splitBatch(body: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const members: Uint8Array[] = []
  let at = 0
  for (let i = 0; i < count; i++) {
    if (at + 4 > body.byteLength) throw new Error(`the content batch ends after ${i} of ${count} members`)
    const length = view.getUint32(at)
    at += 4
    if (at + length > body.byteLength) throw new Error(`the content batch's member ${i + 1} is cut short`)
    members.push(body.subarray(at, at + length))
    at += length
  }
  if (at !== body.byteLength) throw new Error(`the content batch has ${body.byteLength - at} bytes after its ${count} members`)
  return members
}
