// Hand-built tar blocks for the cases real tools refuse to write: corrupt, hostile,
// oversized. Only what the tests need; real archives come from GNU tar.

export interface RawEntry {
  name: string
  type?: string
  size?: number
  mode?: number
  uid?: number
  linkname?: string
  /** Writes uid in GNU base-256 instead of octal. */
  base256Uid?: boolean
  body?: Uint8Array
}

function put(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text)
  block.set(bytes.subarray(0, length), offset)
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0')
}

export function header(e: RawEntry): Uint8Array {
  const block = new Uint8Array(512)
  put(block, 0, 100, e.name)
  put(block, 100, 8, octal(e.mode ?? 0o644, 8))
  if (e.base256Uid) {
    block[108] = 0x80
    let v = e.uid ?? 0
    for (let i = 115; i > 108; i--) {
      block[i] = v % 256
      v = Math.floor(v / 256)
    }
  } else put(block, 108, 8, octal(e.uid ?? 0, 8))
  put(block, 116, 8, octal(0, 8))
  put(block, 124, 12, octal(e.size ?? e.body?.length ?? 0, 12))
  put(block, 136, 12, octal(1700000000, 12))
  put(block, 156, 1, e.type ?? '0')
  put(block, 157, 100, e.linkname ?? '')
  put(block, 257, 6, 'ustar\0')
  put(block, 263, 2, '00')
  block.fill(0x20, 148, 156)
  let sum = 0
  for (const b of block) sum += b
  put(block, 148, 8, `${octal(sum, 7)}\0`)
  return block
}

export function entry(e: RawEntry): Uint8Array[] {
  const body = e.body ?? new Uint8Array(0)
  const padded = new Uint8Array(Math.ceil(body.length / 512) * 512)
  padded.set(body)
  return [header({ ...e, size: e.size ?? body.length }), padded]
}

export function paxRecord(key: string, value: string): string {
  const base = ` ${key}=${value}\n`
  let len = base.length + 1
  while (`${len}${base}`.length !== len) len++
  return `${len}${base}`
}

export function archive(...parts: Uint8Array[][]): Uint8Array {
  const blocks = [...parts.flat(), new Uint8Array(1024)]
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0))
  let at = 0
  for (const b of blocks) {
    out.set(b, at)
    at += b.length
  }
  return out
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
