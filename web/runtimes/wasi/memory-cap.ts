// The memory cap of a WASI run: the module's own memory gets a declared maximum no higher
// than the cap, by rewriting the limits in its memory section. memory.grow past it then
// fails inside the program (malloc returns NULL), as a cgroup limit would make it fail.

export const PAGE_BYTES = 65536

export interface MemoryInfo {
  /** Pages the memory starts with. */
  initial: number
  /** Declared maximum in pages, if any. */
  maximum?: number
  imported: boolean
}

class Reader {
  constructor(
    readonly b: Uint8Array,
    public at: number,
  ) {}
  byte(): number {
    if (this.at >= this.b.byteLength) throw new Error('truncated WebAssembly module')
    return this.b[this.at++]!
  }
  uleb(): number {
    let result = 0
    let shift = 0
    for (;;) {
      const byte = this.byte()
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
      shift += 7
    }
  }
  name(): void {
    const len = this.uleb()
    this.at += len
  }
  limits(): { flags: number; min: number; max?: number } {
    const flags = this.byte()
    const min = this.uleb()
    return flags & 1 ? { flags, min, max: this.uleb() } : { flags, min }
  }
}

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return out
}

function sections(bytes: Uint8Array): { id: number; start: number; payload: number; end: number }[] {
  if (bytes.byteLength < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a WebAssembly module (no \\0asm header)')
  }
  const out = []
  const r = new Reader(bytes, 8)
  while (r.at < bytes.byteLength) {
    const start = r.at
    const id = r.byte()
    const size = r.uleb()
    out.push({ id, start, payload: r.at, end: r.at + size })
    r.at += size
  }
  return out
}

/** What the module declares about its linear memory (the first one). */
export function memoryInfo(bytes: Uint8Array): MemoryInfo | undefined {
  for (const s of sections(bytes)) {
    if (s.id === 2) {
      const r = new Reader(bytes, s.payload)
      const count = r.uleb()
      for (let i = 0; i < count; i++) {
        r.name()
        r.name()
        const kind = r.byte()
        if (kind === 0) r.uleb()
        else if (kind === 1) {
          r.byte()
          r.limits()
        } else if (kind === 2) {
          const l = r.limits()
          return { initial: l.min, ...(l.max === undefined ? {} : { maximum: l.max }), imported: true }
        } else if (kind === 3) {
          r.byte()
          r.byte()
        } else throw new Error(`unknown import kind ${kind} in WebAssembly module`)
      }
    }
    if (s.id === 5) {
      const r = new Reader(bytes, s.payload)
      if (r.uleb() === 0) return undefined
      const l = r.limits()
      return { initial: l.min, ...(l.max === undefined ? {} : { maximum: l.max }), imported: false }
    }
  }
  return undefined
}

/**
 * Returns the module with its defined memory's maximum lowered to `maxPages` (the module
 * itself when it already declares no more). Throws when the memory starts above the cap, or
 * is imported (then the host would have to provide it; WASI commands define their own).
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  const info = memoryInfo(bytes)
  if (info === undefined) return bytes
  if (info.imported) throw new Error('the module imports its memory; a memory cap needs a module that defines its own')
  if (info.initial > maxPages) {
    throw new MemoryCapError(
      `the module needs ${mib(info.initial * PAGE_BYTES)} of memory to start, more than the cap of ${mib(maxPages * PAGE_BYTES)}`,
    )
  }
  if (info.maximum !== undefined && info.maximum <= maxPages) return bytes
  const s = sections(bytes).find((x) => x.id === 5)!
  const r = new Reader(bytes, s.payload)
  const count = r.uleb()
  const first = r.limits()
  const rest = bytes.subarray(r.at, s.end)
  const payload = [...uleb(count), first.flags | 1, ...uleb(first.min), ...uleb(maxPages)]
  const sectionBody = new Uint8Array(payload.length + rest.byteLength)
  sectionBody.set(payload)
  sectionBody.set(rest, payload.length)
  const header = [5, ...uleb(sectionBody.byteLength)]
  const out = new Uint8Array(s.start + header.length + sectionBody.byteLength + (bytes.byteLength - s.end))
  out.set(bytes.subarray(0, s.start))
  out.set(header, s.start)
  out.set(sectionBody, s.start + header.length)
  out.set(bytes.subarray(s.end), s.start + header.length + sectionBody.byteLength)
  return out
}

export class MemoryCapError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MemoryCapError'
  }
}

export function mib(bytes: number): string {
  return `${Math.round((bytes / 1048576) * 10) / 10} MiB`
}
