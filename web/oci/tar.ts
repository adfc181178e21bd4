// A tar reader for image layers: ustar (with the prefix field), pax extended and global
// headers, GNU long names/links and base-256 numbers. Two drivers share one header parser:
// readTarSync walks an archive already in memory and hands out bodies as zero-copy views
// (what RootFs building wants); readTar walks a stream of chunks (what unpacking to disk
// wants) without buffering bodies. Paths are reported exactly as archived: deciding what is
// safe to write is the consumer's job. No Node APIs: this runs in browsers too.

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo'

export interface TarHeader {
  path: string
  type: TarEntryType
  /** Permission bits plus setuid/setgid/sticky (07777). */
  mode: number
  uid: number
  gid: number
  /** Seconds since the epoch; pax headers may make it fractional. */
  mtime: number
  /** Bytes of body that follow (0 for every type but 'file'). */
  size: number
  /** Target of a symlink or hardlink, '' otherwise. */
  linkname: string
  uname: string
  gname: string
  devmajor: number
  devminor: number
  /** From pax `SCHILY.xattr.NAME` (and libarchive's `LIBARCHIVE.xattr.NAME`) records. */
  xattrs: Record<string, Uint8Array>
}

export interface TarLimits {
  /** Largest pax or GNU long-name/long-link record accepted, in bytes (default 1 MiB). */
  maxHeaderBytes?: number
}

export class TarError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TarError'
  }
}

export interface TarStreamEntry extends TarHeader {
  /** The body as it arrives, without copies. Read it before asking for the next entry. */
  chunks(): AsyncIterable<Uint8Array>
  /** The whole body in one array (a copy only when it spans several source chunks). */
  bytes(): Promise<Uint8Array>
}

const BLOCK = 512
const DEFAULT_MAX_HEADER_BYTES = 1 << 20

// ---------------------------------------------------------------------------------------
// One 512-byte header block, decoded.

interface RawHeader {
  name: string
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  typeflag: string
  linkname: string
  uname: string
  gname: string
  devmajor: number
  devminor: number
}

const utf8 = new TextDecoder('utf-8')

/** Bytes up to the first NUL as a string; ASCII takes a fast path (no TextDecoder call). */
function cString(bytes: Uint8Array, start: number, end: number): string {
  let stop = start
  let ascii = true
  while (stop < end && bytes[stop] !== 0) {
    if (bytes[stop]! >= 0x80) ascii = false
    stop++
  }
  if (stop === start) return ''
  if (!ascii) return utf8.decode(bytes.subarray(start, stop))
  return String.fromCharCode.apply(null, bytes.subarray(start, stop) as unknown as number[])
}

/** An octal field (NUL/space padded) or a GNU base-256 one (high bit of the first byte set). */
function numberField(bytes: Uint8Array, start: number, end: number, field: string, at: number): number {
  const first = bytes[start]!
  if (first & 0x80) {
    // Base-256, two's complement over the whole field: 0x80 leads a positive number, 0xff
    // a negative one. Bit 6 of the first byte is the sign bit.
    let value = (first & 0x7f) - (first & 0x40 ? 128 : 0)
    for (let i = start + 1; i < end; i++) value = value * 256 + bytes[i]!
    if (!Number.isSafeInteger(value)) throw new TarError(`tar header at byte ${at}: ${field} field is too large`)
    return value
  }
  let value = 0
  let i = start
  while (i < end && (bytes[i] === 0x20 || bytes[i] === 0)) i++
  for (; i < end; i++) {
    const c = bytes[i]!
    if (c === 0 || c === 0x20) break
    if (c < 0x30 || c > 0x37) {
      throw new TarError(`tar header at byte ${at}: ${field} field is not an octal number (corrupt archive?)`)
    }
    value = value * 8 + (c - 0x30)
  }
  return value
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false
  return true
}

function verifyChecksum(block: Uint8Array, at: number): void {
  const stored = numberField(block, 148, 156, 'checksum', at)
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!
    unsigned += b
    signed += b >= 0x80 ? b - 256 : b
  }
  // Some old tars summed signed bytes; accept either, as GNU tar does.
  if (stored !== unsigned && stored !== signed) {
    throw new TarError(
      `tar header at byte ${at} has a bad checksum (stored ${stored}, computed ${unsigned}): ` +
        `the archive is corrupt or not a tar file`,
    )
  }
}

function decodeHeader(block: Uint8Array, at: number): RawHeader {
  verifyChecksum(block, at)
  let name = cString(block, 0, 100)
  // POSIX ustar ("ustar\0"): a prefix field extends the name. GNU's "ustar  " reuses
  // those bytes for atime/ctime, so only the POSIX magic gets a prefix.
  const posixMagic =
    block[257] === 0x75 && block[258] === 0x73 && block[259] === 0x74 && block[260] === 0x61 &&
    block[261] === 0x72 && block[262] === 0
  if (posixMagic) {
    const prefix = cString(block, 345, 500)
    if (prefix !== '') name = `${prefix}/${name}`
  }
  const flagByte = block[156]!
  return {
    name,
    mode: numberField(block, 100, 108, 'mode', at) & 0o7777,
    uid: numberField(block, 108, 116, 'uid', at),
    gid: numberField(block, 116, 124, 'gid', at),
    size: numberField(block, 124, 136, 'size', at),
    mtime: numberField(block, 136, 148, 'mtime', at),
    typeflag: flagByte === 0 ? '0' : String.fromCharCode(flagByte),
    linkname: cString(block, 157, 257),
    uname: cString(block, 265, 297),
    gname: cString(block, 297, 329),
    devmajor: numberField(block, 329, 337, 'devmajor', at),
    devminor: numberField(block, 337, 345, 'devminor', at),
  }
}

// ---------------------------------------------------------------------------------------
// Meta headers (pax 'x'/'g', GNU 'L'/'K') accumulate until a real entry arrives.

type MetaKind = 'pax' | 'paxGlobal' | 'gnuLongName' | 'gnuLongLink'

function metaKind(typeflag: string): MetaKind | undefined {
  switch (typeflag) {
    case 'x':
      return 'pax'
    case 'g':
      return 'paxGlobal'
    case 'L':
      return 'gnuLongName'
    case 'K':
      return 'gnuLongLink'
    default:
      return undefined
  }
}

/** Types whose size field says nothing about a body (Go's archive/tar does the same). */
function entryType(typeflag: string, name: string, at: number): TarEntryType | 'skip' {
  switch (typeflag) {
    case '0':
    case '7': // contiguous file: a regular file everywhere that matters
      return name.endsWith('/') ? 'dir' : 'file' // old v7 tars mark dirs by a trailing slash
    case '1':
      return 'hardlink'
    case '2':
      return 'symlink'
    case '3':
      return 'char'
    case '4':
      return 'block'
    case '5':
    case 'D': // GNU dump dir: a directory with a listing body we don't need
      return 'dir'
    case '6':
      return 'fifo'
    case 'V': // GNU volume label: not a file
      return 'skip'
    case 'S':
      throw new TarError(`tar entry "${name}" at byte ${at} is a GNU sparse file, which is not supported`)
    case 'M':
      throw new TarError(`tar entry "${name}" at byte ${at} continues a multi-volume archive, which is not supported`)
    default:
      // POSIX: unknown types are read as regular files.
      return 'file'
  }
}

type PaxRecords = Map<string, Uint8Array>

function parsePaxRecords(body: Uint8Array, at: number): PaxRecords {
  const records: PaxRecords = new Map()
  let pos = 0
  while (pos < body.length) {
    if (body[pos] === 0) break // some writers pad with NULs
    let lenEnd = pos
    let len = 0
    while (lenEnd < body.length && body[lenEnd]! >= 0x30 && body[lenEnd]! <= 0x39) {
      len = len * 10 + (body[lenEnd]! - 0x30)
      lenEnd++
    }
    if (lenEnd === pos || body[lenEnd] !== 0x20 || len <= lenEnd - pos + 1 || pos + len > body.length) {
      throw new TarError(`pax header at byte ${at} has a malformed record at offset ${pos}: the archive is corrupt`)
    }
    const recordEnd = pos + len
    if (body[recordEnd - 1] !== 0x0a) {
      throw new TarError(`pax header at byte ${at} has a record at offset ${pos} not ending in a newline: corrupt archive`)
    }
    let eq = lenEnd + 1
    while (eq < recordEnd && body[eq] !== 0x3d) eq++
    if (eq >= recordEnd) throw new TarError(`pax header at byte ${at} has a record without "=" at offset ${pos}`)
    const key = utf8.decode(body.subarray(lenEnd + 1, eq))
    records.set(key, body.slice(eq + 1, recordEnd - 1))
    pos = recordEnd
  }
  return records
}

/** The NUL-terminated string a GNU 'L'/'K' record carries. */
function gnuLongString(body: Uint8Array): string {
  let end = body.length
  while (end > 0 && body[end - 1] === 0) end--
  return utf8.decode(body.subarray(0, end))
}

function paxNumber(records: PaxRecords, key: string, at: number, fractional = false): number | undefined {
  const raw = records.get(key)
  if (raw === undefined || raw.length === 0) return undefined
  const text = utf8.decode(raw)
  const ok = fractional ? /^-?\d+(\.\d+)?$/.test(text) : /^\d+$/.test(text)
  const value = Number(text)
  if (!ok || !Number.isFinite(value) || (!fractional && !Number.isSafeInteger(value))) {
    throw new TarError(`pax header at byte ${at}: ${key}="${text}" is not a valid number`)
  }
  return value
}

function paxString(records: PaxRecords, key: string): string | undefined {
  const raw = records.get(key)
  return raw === undefined || raw.length === 0 ? undefined : utf8.decode(raw)
}

/** libarchive writes `LIBARCHIVE.xattr.<url-encoded name>=<base64 value>`. */
function decodeBase64(text: string): Uint8Array {
  const bin = atob(text.replace(/=+$/, '').padEnd(Math.ceil(text.replace(/=+$/, '').length / 4) * 4, '='))
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

class HeaderAssembler {
  private readonly maxHeaderBytes: number
  private global: PaxRecords = new Map()
  private local: PaxRecords | undefined
  private longName: string | undefined
  private longLink: string | undefined

  constructor(limits: TarLimits | undefined) {
    this.maxHeaderBytes = limits?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES
  }

  get pending(): boolean {
    return this.local !== undefined || this.longName !== undefined || this.longLink !== undefined
  }

  checkMetaSize(kind: MetaKind, size: number, at: number): void {
    if (size > this.maxHeaderBytes) {
      throw new TarError(
        `tar ${kind === 'pax' || kind === 'paxGlobal' ? 'pax' : 'GNU long-name'} header at byte ${at} is ` +
          `${size} bytes, over the ${this.maxHeaderBytes}-byte limit: refusing it (a hostile or corrupt archive?)`,
      )
    }
  }

  addMeta(kind: MetaKind, body: Uint8Array, at: number): void {
    switch (kind) {
      case 'pax': {
        const records = parsePaxRecords(body, at)
        this.local ??= new Map()
        for (const [k, v] of records) this.local.set(k, v)
        break
      }
      case 'paxGlobal': {
        // Global records apply to every later entry. Only attributes make sense for many
        // entries at once: a global path, linkpath or size would rename or resize every
        // file, so those are ignored (git archive's `comment` is ignored too).
        for (const [k, v] of parsePaxRecords(body, at)) {
          if (k === 'path' || k === 'linkpath' || k === 'size' || k === 'comment') continue
          if (v.length === 0) this.global.delete(k)
          else this.global.set(k, v)
        }
        break
      }
      case 'gnuLongName':
        this.longName = gnuLongString(body)
        break
      case 'gnuLongLink':
        this.longLink = gnuLongString(body)
        break
    }
  }

  /** Combines the raw header with the pending meta headers; returns the body size too. */
  finish(raw: RawHeader, at: number): { header: TarHeader; bodySize: number; trailing: number } | { skip: number } {
    const records: PaxRecords = new Map(this.global)
    if (this.local) for (const [k, v] of this.local) records.set(k, v)
    const longName = this.longName
    const longLink = this.longLink
    this.local = undefined
    this.longName = undefined
    this.longLink = undefined

    for (const key of records.keys()) {
      if (key.startsWith('GNU.sparse.')) {
        throw new TarError(`tar entry "${raw.name}" at byte ${at} is a GNU sparse file (pax), which is not supported`)
      }
    }
    const path = (records.size > 0 ? paxString(records, 'path') : undefined) ?? longName ?? raw.name
    const type = entryType(raw.typeflag, path, at)
    const size = (records.size > 0 ? paxNumber(records, 'size', at) : undefined) ?? raw.size
    if (type === 'skip') return { skip: size }
    const hasBody = type === 'file'
    const xattrs: Record<string, Uint8Array> = {}
    if (records.size > 0) {
      for (const [k, v] of records) {
        if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice('SCHILY.xattr.'.length)] = v
        else if (k.startsWith('LIBARCHIVE.xattr.')) {
          xattrs[decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length))] = decodeBase64(utf8.decode(v))
        }
      }
    }
    const header: TarHeader = {
      path,
      type,
      mode: raw.mode,
      uid: (records.size > 0 ? paxNumber(records, 'uid', at) : undefined) ?? raw.uid,
      gid: (records.size > 0 ? paxNumber(records, 'gid', at) : undefined) ?? raw.gid,
      mtime: (records.size > 0 ? paxNumber(records, 'mtime', at, true) : undefined) ?? raw.mtime,
      size: hasBody ? size : 0,
      linkname:
        type === 'symlink' || type === 'hardlink'
          ? ((records.size > 0 ? paxString(records, 'linkpath') : undefined) ?? longLink ?? raw.linkname)
          : '',
      uname: (records.size > 0 ? paxString(records, 'uname') : undefined) ?? raw.uname,
      gname: (records.size > 0 ? paxString(records, 'gname') : undefined) ?? raw.gname,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      xattrs,
    }
    // A GNU dump dir ('D') carries a listing of names as its body: not file content, skipped.
    const trailing = raw.typeflag === 'D' ? size : 0
    return { header, bodySize: hasBody ? size : 0, trailing }
  }
}

function padding(size: number): number {
  const rem = size % BLOCK
  return rem === 0 ? 0 : BLOCK - rem
}

function truncated(what: string, at: number): TarError {
  return new TarError(`tar archive is truncated: ${what} at byte ${at} is cut off (incomplete download or corrupt layer?)`)
}

// ---------------------------------------------------------------------------------------
// In-memory driver.

export function* readTarSync(archive: Uint8Array, limits?: TarLimits): Generator<TarHeader & { data: Uint8Array }> {
  const asm = new HeaderAssembler(limits)
  let pos = 0
  for (;;) {
    if (pos >= archive.length) {
      // EOF where a header would be: accepted as the end, as GNU tar does.
      if (asm.pending) throw truncated('an entry announced by a pax/GNU header', pos)
      return
    }
    if (pos + BLOCK > archive.length) throw truncated('a header block', pos)
    const block = archive.subarray(pos, pos + BLOCK)
    if (isZeroBlock(block)) {
      if (asm.pending) throw truncated('an entry announced by a pax/GNU header', pos)
      return
    }
    const at = pos
    const raw = decodeHeader(block, at)
    pos += BLOCK
    const kind = metaKind(raw.typeflag)
    if (kind !== undefined) {
      asm.checkMetaSize(kind, raw.size, at)
      if (pos + raw.size > archive.length) throw truncated(`the body of a ${kind} header`, at)
      asm.addMeta(kind, archive.subarray(pos, pos + raw.size), at)
      pos += raw.size + padding(raw.size)
      continue
    }
    const done = asm.finish(raw, at)
    if ('skip' in done) {
      pos += done.skip + padding(done.skip)
      continue
    }
    const { header, bodySize, trailing } = done
    if (pos + bodySize + trailing > archive.length) throw truncated(`the body of "${header.path}" (${bodySize + trailing} bytes)`, at)
    const data = archive.subarray(pos, pos + bodySize)
    pos += bodySize + padding(bodySize) + trailing + padding(trailing)
    yield Object.assign(header, { data })
  }
}

// ---------------------------------------------------------------------------------------
// Streaming driver.

/** Pulls chunks from an async source and hands out exact byte counts, copying only across chunk edges. */
class ChunkReader {
  private readonly it: AsyncIterator<Uint8Array>
  private buf: Uint8Array = new Uint8Array(0)
  private pos = 0
  private eof = false
  /** Bytes consumed so far: the archive offset, for messages. */
  offset = 0

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]()
  }

  private async fill(): Promise<boolean> {
    while (this.pos >= this.buf.length) {
      if (this.eof) return false
      const next = await this.it.next()
      if (next.done) {
        this.eof = true
        return false
      }
      this.buf = next.value
      this.pos = 0
    }
    return true
  }

  /** Exactly n bytes, or fewer only when the source ended (check the length). */
  async read(n: number): Promise<Uint8Array> {
    if (!(await this.fill())) return this.buf.subarray(0, 0)
    if (this.buf.length - this.pos >= n) {
      const out = this.buf.subarray(this.pos, this.pos + n)
      this.pos += n
      this.offset += n
      return out
    }
    const out = new Uint8Array(n)
    let got = 0
    while (got < n && (await this.fill())) {
      const take = Math.min(n - got, this.buf.length - this.pos)
      out.set(this.buf.subarray(this.pos, this.pos + take), got)
      this.pos += take
      got += take
    }
    this.offset += got
    return got === n ? out : out.subarray(0, got)
  }

  /** Up to n bytes from the current chunk, without copying; empty at EOF. */
  async next(n: number): Promise<Uint8Array> {
    if (!(await this.fill())) return this.buf.subarray(0, 0)
    const take = Math.min(n, this.buf.length - this.pos)
    const out = this.buf.subarray(this.pos, this.pos + take)
    this.pos += take
    this.offset += take
    return out
  }

  /** Skips n bytes; returns how many were actually skipped. */
  async skip(n: number): Promise<number> {
    let left = n
    while (left > 0) {
      const got = await this.next(left)
      if (got.length === 0) break
      left -= got.length
    }
    return n - left
  }

  async close(): Promise<void> {
    await this.it.return?.()
  }
}

export async function* readTar(source: AsyncIterable<Uint8Array>, limits?: TarLimits): AsyncGenerator<TarStreamEntry> {
  const reader = new ChunkReader(source)
  const asm = new HeaderAssembler(limits)
  let finished = false
  try {
    for (;;) {
      const at = reader.offset
      const block = await reader.read(BLOCK)
      if (block.length === 0 || (block.length === BLOCK && isZeroBlock(block))) {
        if (asm.pending) throw truncated('an entry announced by a pax/GNU header', at)
        // Drain what follows the end marker (zero blocks, record padding) so a consumer
        // hashing the source sees every byte.
        while ((await reader.next(1 << 20)).length > 0) {}
        finished = true
        return
      }
      if (block.length < BLOCK) throw truncated('a header block', at)
      const raw = decodeHeader(block, at)
      const kind = metaKind(raw.typeflag)
      if (kind !== undefined) {
        asm.checkMetaSize(kind, raw.size, at)
        const body = await reader.read(raw.size)
        if (body.length < raw.size) throw truncated(`the body of a ${kind} header`, at)
        asm.addMeta(kind, body, at)
        if ((await reader.skip(padding(raw.size))) < padding(raw.size)) throw truncated(`the padding of a ${kind} header`, at)
        continue
      }
      const done = asm.finish(raw, at)
      if ('skip' in done) {
        const n = done.skip + padding(done.skip)
        if ((await reader.skip(n)) < n) throw truncated('a skipped entry', at)
        continue
      }
      const { header, bodySize, trailing } = done
      let remaining = bodySize
      let current = true
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        if (!current) throw new TarError(`the body of "${header.path}" was read after moving on to the next entry`)
        while (remaining > 0) {
          const piece = await reader.next(remaining)
          if (piece.length === 0) throw truncated(`the body of "${header.path}" (${bodySize} bytes)`, at)
          remaining -= piece.length
          yield piece
        }
      }
      const bytes = async (): Promise<Uint8Array> => {
        if (!current) throw new TarError(`the body of "${header.path}" was read after moving on to the next entry`)
        if (remaining !== bodySize) throw new TarError(`the body of "${header.path}" was already partly read`)
        const body = await reader.read(remaining)
        if (body.length < remaining) throw truncated(`the body of "${header.path}" (${bodySize} bytes)`, at)
        remaining = 0
        return body
      }
      yield Object.assign(header, { chunks, bytes })
      current = false
      const n = remaining + padding(bodySize) + trailing + padding(trailing)
      if ((await reader.skip(n)) < n) throw truncated(`the body of "${header.path}" (${bodySize} bytes)`, at)
    }
  } finally {
    // Stopped early (consumer broke out, or an error): release the source.
    if (!finished) await reader.close()
  }
}
