// A deterministic tar WRITER for the bundled images' layers (the reader lives in
// web/oci/tar.ts). Same entries in → same bytes out: entries are sorted by path, every
// entry gets the same mtime and uid/gid 0 with empty user/group names, and nothing from the
// build machine (umask, owner, timestamps) leaks in. Format: ustar, with a pax extended
// header only for a path or link target too long for ustar's 100-byte fields.

import { concatBytes } from '../web/oci/bytes.js'

export type LayerEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; data: Uint8Array }
  | { type: 'symlink'; path: string; target: string }
  /** A hard link to the file at `target` (an absolute image path); it must be a 'file' entry. */
  | { type: 'hardlink'; path: string; target: string }

/** 2025-01-01T00:00:00Z: the mtime of every entry and the `created` of every config. */
export const FIXED_EPOCH_SECONDS = 1735689600
export const FIXED_CREATED = new Date(FIXED_EPOCH_SECONDS * 1000).toISOString()

const BLOCK = 512
const encoder = new TextEncoder()

/** `/usr/bin/x`, `usr/bin/x/` or `./usr//bin/x` → `usr/bin/x`; refuses `..` and empty paths. */
export function normalizeImagePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.')
  if (parts.length === 0) throw new Error(`layer entry path "${path}" names the root; give a path inside the image`)
  if (parts.includes('..')) throw new Error(`layer entry path "${path}" contains "..": image paths must stay inside the image`)
  return parts.join('/')
}

function writeString(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = encoder.encode(text)
  if (bytes.length > length) throw new Error(`tar header field of ${length} bytes cannot hold "${text}"`)
  block.set(bytes, offset)
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  // length-1 octal digits, then NUL: the classic ustar encoding every reader accepts.
  const digits = value.toString(8).padStart(length - 1, '0')
  if (digits.length > length - 1) throw new Error(`tar header value ${value} does not fit in ${length} bytes`)
  writeString(block, offset, length, digits)
}

interface HeaderFields {
  name: string
  mode: number
  size: number
  typeflag: string
  linkname: string
}

function header(f: HeaderFields): Uint8Array {
  const block = new Uint8Array(BLOCK)
  writeString(block, 0, 100, f.name)
  writeOctal(block, 100, 8, f.mode)
  writeOctal(block, 108, 8, 0) // uid
  writeOctal(block, 116, 8, 0) // gid
  writeOctal(block, 124, 12, f.size)
  writeOctal(block, 136, 12, FIXED_EPOCH_SECONDS)
  block.fill(0x20, 148, 156) // checksum is computed with its own field as spaces
  writeString(block, 156, 1, f.typeflag)
  writeString(block, 157, 100, f.linkname)
  writeString(block, 257, 6, 'ustar') // magic "ustar\0"
  writeString(block, 263, 2, '00')
  // uname/gname left empty, devmajor/devminor zero: numeric ids 0 are the owner.
  writeOctal(block, 329, 8, 0)
  writeOctal(block, 337, 8, 0)
  let sum = 0
  for (const b of block) sum += b
  writeString(block, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ')
  return block
}

/** One pax record: "<len> <key>=<value>\n", where <len> counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const bodyLength = encoder.encode(body).length
  let length = bodyLength + 1
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength
  return `${length}${body}`
}

function padding(size: number): Uint8Array {
  const rest = size % BLOCK
  return new Uint8Array(rest === 0 ? 0 : BLOCK - rest)
}

function fitsUstar(text: string): boolean {
  return encoder.encode(text).length <= 100
}

/** Adds entries for missing parent directories (mode 0755), normalizes and sorts by path. */
export function completeEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>()
  for (const entry of entries) {
    const path = normalizeImagePath(entry.path)
    if (byPath.has(path)) throw new Error(`layer has two entries for /${path}; give each path once`)
    byPath.set(path, { ...entry, path })
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      const existing = byPath.get(parent)
      if (!existing) byPath.set(parent, { type: 'dir', path: parent, mode: 0o755 })
      else if (existing.type !== 'dir') throw new Error(`layer entry /${path} lies under /${parent}, which is not a directory`)
    }
  }
  // Plain code-unit order, not locale order: the same on every machine.
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** The tar archive of these entries (parents added, sorted), ending with two zero blocks. */
export function writeTar(entries: readonly LayerEntry[]): Uint8Array {
  const sorted = completeEntries(entries)
  const files = new Map(sorted.filter((e) => e.type === 'file').map((e) => [e.path, e]))
  const chunks: Uint8Array[] = []
  for (const entry of sorted) {
    const name = entry.type === 'dir' ? `${entry.path}/` : entry.path
    let linkname = ''
    let typeflag: string
    let mode: number
    let data: Uint8Array | undefined
    switch (entry.type) {
      case 'dir':
        typeflag = '5'
        mode = entry.mode & 0o7777
        break
      case 'file':
        typeflag = '0'
        mode = entry.mode & 0o7777
        data = entry.data
        break
      case 'symlink':
        typeflag = '2'
        mode = 0o777
        linkname = entry.target
        break
      case 'hardlink': {
        const target = normalizeImagePath(entry.target)
        const file = files.get(target)
        if (!file) throw new Error(`hard link /${entry.path} points at /${target}, which is not a regular file in this layer`)
        // A hard link must follow its target in the archive; sorting decides the order, so
        // callers link later names to earlier ones (the writer checks rather than reorders).
        if (!(target < entry.path)) throw new Error(`hard link /${entry.path} sorts before its target /${target}; link to the earlier name instead`)
        typeflag = '1'
        mode = file.mode & 0o7777
        linkname = target
        break
      }
    }
    const records: string[] = []
    if (!fitsUstar(name)) records.push(paxRecord('path', name))
    if (!fitsUstar(linkname)) records.push(paxRecord('linkpath', linkname))
    if (records.length > 0) {
      const pax = encoder.encode(records.join(''))
      // The pax header's own name is a fixed placeholder, so it stays deterministic too.
      chunks.push(header({ name: 'PaxHeader', mode: 0o644, size: pax.length, typeflag: 'x', linkname: '' }), pax, padding(pax.length))
    }
    const size = data?.length ?? 0
    chunks.push(
      header({
        // Readers that skip pax still see a recognisable (truncated) name.
        name: fitsUstar(name) ? name : truncateUtf8(name, 100),
        mode,
        size,
        typeflag,
        linkname: fitsUstar(linkname) ? linkname : truncateUtf8(linkname, 100),
      }),
    )
    if (data) chunks.push(data, padding(size))
  }
  chunks.push(new Uint8Array(BLOCK * 2))
  return concatBytes(chunks)
}

/** The longest prefix of `text` whose UTF-8 form fits in `limit` bytes (for ustar fallbacks). */
function truncateUtf8(text: string, limit: number): string {
  let out = ''
  for (const ch of text) {
    if (encoder.encode(out + ch).length > limit) break
    out += ch
  }
  return out
}
