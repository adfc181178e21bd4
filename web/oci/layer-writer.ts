// The one OCI layer writer: a change set (changes.ts) → an uncompressed tar (its digest is
// the diff_id) → a gzip blob (its digest is the layer's). Deterministic, so the same
// changes give the same bytes in Node and in a browser, from any runtime:
//   - entries in pre-order, each directory's children sorted by name, with the opaque
//     marker and then the whiteouts first (the OCI spec asks whiteouts to come before
//     their siblings);
//   - uid, gid and mode as built; uname and gname empty; no atime/ctime;
//   - every mtime clamped to `epoch` (SOURCE_DATE_EPOCH);
//   - ustar headers, with a pax header only where ustar cannot hold a value;
//   - gzip from fflate (pinned), level 6, no name, mtime 0: zlib and CompressionStream
//     give other bytes for the same input.
// No DOM and no Node APIs.

import { concatBytes } from './bytes.js'
import type { ChangeSet, Change } from './changes.js'
import { digestOf } from './digest.js'
import { OCI_LAYER_GZIP } from './media-types.js'
import { splitPath, type FileData } from './rootfs.js'
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from './whiteout.js'

export interface LayerWriteOptions {
  /** Seconds since the epoch: no entry's mtime is later than this. */
  epoch: number
}

export interface WrittenLayer {
  mediaType: typeof OCI_LAYER_GZIP
  /** The gzip blob. */
  blob: Uint8Array
  /** sha256 of the blob. */
  digest: string
  /** sha256 of the uncompressed tar (config rootfs.diff_ids). */
  diffId: string
  size: number
  /** Entries written, whiteouts included. */
  entries: number
}

const BLOCK = 512
const encoder = new TextEncoder()
/** Largest value a 7-digit octal ustar field holds (uid, gid). */
const MAX_OCTAL_7 = 0o7777777
/** Largest value an 11-digit octal field holds (size, mtime). */
const MAX_OCTAL_11 = 0o77777777777

export class LayerWriteError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LayerWriteError'
  }
}

interface TarEntry {
  /** Path without a leading slash; directories end in `/`. */
  name: string
  typeflag: '0' | '2' | '5'
  mode: number
  uid: number
  gid: number
  mtime: number
  linkname: string
  data?: FileData
}

/** The change set as tar entries in the writer's order. */
function orderedEntries(changes: ChangeSet, epoch: number): TarEntry[] {
  // A tree of the change set's paths, so each directory's children can be ordered.
  interface Slot {
    change?: Change
    opaque: boolean
    deleted: Set<string>
    children: Map<string, Slot>
  }
  const root: Slot = { opaque: false, deleted: new Set(), children: new Map() }
  const slotAt = (parts: readonly string[]): Slot => {
    let slot = root
    for (const part of parts) {
      let next = slot.children.get(part)
      if (!next) {
        next = { opaque: false, deleted: new Set(), children: new Map() }
        slot.children.set(part, next)
      }
      slot = next
    }
    return slot
  }
  for (const change of changes.entries) {
    const parts = splitPath(change.path)
    const name = parts.pop()
    if (name === undefined) continue // the root's own metadata is not in a layer
    if (parts.includes('..') || name.startsWith(WHITEOUT_PREFIX)) {
      throw new LayerWriteError(`change ${change.path}: a name starting with ${WHITEOUT_PREFIX} cannot be stored in an OCI layer`)
    }
    const parent = slotAt(parts)
    if (change.kind === 'deleted') {
      parent.deleted.add(name)
      parent.children.delete(name)
      continue
    }
    parent.deleted.delete(name)
    const slot = slotAt([...parts, name])
    slot.change = change
    if (change.kind === 'dir') slot.opaque = change.opaque === true
    else slot.children.clear()
  }
  const clamp = (t: number) => Math.max(0, Math.min(Math.floor(t), epoch))
  const out: TarEntry[] = []
  const emit = (slot: Slot, prefix: string): void => {
    if (slot.opaque) out.push({ name: `${prefix}${OPAQUE_WHITEOUT}`, typeflag: '0', mode: 0, uid: 0, gid: 0, mtime: 0, linkname: '' })
    for (const name of [...slot.deleted].sort()) {
      out.push({ name: `${prefix}${WHITEOUT_PREFIX}${name}`, typeflag: '0', mode: 0, uid: 0, gid: 0, mtime: 0, linkname: '' })
    }
    for (const name of [...slot.children.keys()].sort()) {
      const child = slot.children.get(name)!
      const path = `${prefix}${name}`
      const c = child.change
      if (c === undefined || c.kind === 'deleted') {
        // A path below a directory the change set does not describe: as overlayfs and
        // Docker do, the directory appears with default metadata.
        out.push({ name: `${path}/`, typeflag: '5', mode: 0o755, uid: 0, gid: 0, mtime: clamp(0), linkname: '' })
      } else if (c.kind === 'dir') {
        out.push({ name: `${path}/`, typeflag: '5', mode: c.mode & 0o7777, uid: c.uid, gid: c.gid, mtime: clamp(c.mtime), linkname: '' })
      } else if (c.kind === 'symlink') {
        out.push({ name: path, typeflag: '2', mode: 0o777, uid: c.uid, gid: c.gid, mtime: clamp(c.mtime), linkname: c.target })
        continue
      } else {
        out.push({ name: path, typeflag: '0', mode: c.mode & 0o7777, uid: c.uid, gid: c.gid, mtime: clamp(c.mtime), linkname: '', data: c.data })
        continue
      }
      emit(child, `${path}/`)
    }
  }
  emit(root, '')
  return out
}

function writeString(block: Uint8Array, offset: number, length: number, text: string): void {
  block.set(encoder.encode(text).subarray(0, length), offset)
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  writeString(block, offset, length, value.toString(8).padStart(length - 1, '0'))
}

/** One pax record: "<len> <key>=<value>\n", where <len> counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const bodyLength = encoder.encode(body).length
  let length = bodyLength + 1
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength
  return `${length}${body}`
}

function header(name: string, typeflag: string, e: Omit<TarEntry, 'name' | 'typeflag' | 'data'>, size: number): Uint8Array {
  const block = new Uint8Array(BLOCK)
  writeString(block, 0, 100, name)
  writeOctal(block, 100, 8, e.mode)
  writeOctal(block, 108, 8, Math.min(e.uid, MAX_OCTAL_7))
  writeOctal(block, 116, 8, Math.min(e.gid, MAX_OCTAL_7))
  writeOctal(block, 124, 12, Math.min(size, MAX_OCTAL_11))
  writeOctal(block, 136, 12, Math.min(e.mtime, MAX_OCTAL_11))
  block.fill(0x20, 148, 156) // the checksum is summed with its own field as spaces
  writeString(block, 156, 1, typeflag)
  writeString(block, 157, 100, e.linkname)
  writeString(block, 257, 6, 'ustar') // "ustar\0"
  writeString(block, 263, 2, '00')
  writeOctal(block, 329, 8, 0)
  writeOctal(block, 337, 8, 0)
  let sum = 0
  for (const b of block) sum += b
  writeString(block, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ')
  return block
}

const padding = (size: number): Uint8Array => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK)

/** The uncompressed tar of a change set. */
export async function writeLayerTar(changes: ChangeSet, opts: LayerWriteOptions): Promise<{ tar: Uint8Array; entries: number }> {
  const entries = orderedEntries(changes, opts.epoch)
  const chunks: Uint8Array[] = []
  for (const e of entries) {
    const data = e.data === undefined ? undefined : e.data instanceof Uint8Array ? e.data : await e.data.load()
    const size = data?.byteLength ?? 0
    const pax: string[] = []
    if (encoder.encode(e.name).length > 100) pax.push(paxRecord('path', e.name))
    if (encoder.encode(e.linkname).length > 100) pax.push(paxRecord('linkpath', e.linkname))
    if (e.uid > MAX_OCTAL_7) pax.push(paxRecord('uid', String(e.uid)))
    if (e.gid > MAX_OCTAL_7) pax.push(paxRecord('gid', String(e.gid)))
    if (size > MAX_OCTAL_11) pax.push(paxRecord('size', String(size)))
    if (pax.length > 0) {
      const body = encoder.encode(pax.join(''))
      // Deterministic name for the pax header itself, as Go's archive/tar writes.
      const paxName = `PaxHeaders.0/${e.name.replace(/\/$/, '').split('/').pop() ?? ''}`
      chunks.push(header(paxName, 'x', { mode: 0o644, uid: 0, gid: 0, mtime: 0, linkname: '' }, body.byteLength), body, padding(body.byteLength))
    }
    chunks.push(header(e.name, e.typeflag, e, size))
    if (data) chunks.push(data, padding(size))
  }
  chunks.push(new Uint8Array(BLOCK * 2))
  return { tar: concatBytes(chunks), entries: entries.length }
}

/**
 * Gzip as every layer is written: fflate, level 6, no file name, mtime 0. Imported when a
 * layer is written, not before: a fully cached build or a CLI command writes none.
 */
export async function gzipLayer(tar: Uint8Array): Promise<Uint8Array> {
  const { gzipSync } = await import('fflate')
  return gzipSync(tar, { level: 6, mtime: 0 })
}

/** A change set as an OCI gzip layer, with its digests. */
export async function writeLayer(changes: ChangeSet, opts: LayerWriteOptions): Promise<WrittenLayer> {
  const { tar, entries } = await writeLayerTar(changes, opts)
  const blob = await gzipLayer(tar)
  const [diffId, digest] = await Promise.all([digestOf(tar), digestOf(blob)])
  return { mediaType: OCI_LAYER_GZIP, blob, digest, diffId, size: blob.byteLength, entries }
}
