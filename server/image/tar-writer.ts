// A small deterministic tar writer for archives boxplay makes of its own files (`save`):
// ustar headers with owner 0:0, mode 0644/0755, mtime 0, no user or group names, so the same
// input always gives the same bytes. Names are short and ASCII here (blobs/sha256/HEX), so
// no pax or GNU long-name records are needed; longer ones are refused rather than mangled.

export interface TarSink {
  write(bytes: Uint8Array): Promise<void>
}

const BLOCK = 512
const MAX_SIZE = 8 ** 11 - 1 // what 11 octal digits hold (8 GiB)

function header(name: string, type: '0' | '5', size: number): Uint8Array {
  const h = new Uint8Array(BLOCK)
  const enc = new TextEncoder()
  const put = (offset: number, length: number, text: string): void => {
    const bytes = enc.encode(text)
    if (bytes.byteLength > length) throw new Error(`tar header field "${text}" does not fit in ${length} bytes`)
    h.set(bytes, offset)
  }
  const octal = (n: number, width: number): string => `${n.toString(8).padStart(width - 1, '0')}\0`
  if (enc.encode(name).byteLength > 100) throw new Error(`archive member name ${name} is longer than 100 bytes`)
  if (size > MAX_SIZE) throw new Error(`archive member ${name} is ${size} bytes, more than a ustar header holds`)
  put(0, 100, name)
  put(100, 8, octal(type === '5' ? 0o755 : 0o644, 8))
  put(108, 8, octal(0, 8))
  put(116, 8, octal(0, 8))
  put(124, 12, octal(size, 12))
  put(136, 12, octal(0, 12))
  h.fill(0x20, 148, 156) // the checksum counts its own field as spaces
  put(156, 1, type)
  put(257, 6, 'ustar\0')
  put(263, 2, '00')
  put(329, 8, octal(0, 8))
  put(337, 8, octal(0, 8))
  let sum = 0
  for (const b of h) sum += b
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `)
  return h
}

export class TarWriter {
  constructor(private readonly sink: TarSink) {}

  async directory(name: string): Promise<void> {
    await this.sink.write(header(name.endsWith('/') ? name : `${name}/`, '5', 0))
  }

  async file(name: string, bytes: Uint8Array): Promise<void> {
    await this.sink.write(header(name, '0', bytes.byteLength))
    await this.sink.write(bytes)
    await this.pad(bytes.byteLength)
  }

  /** A member whose content streams in; it must deliver exactly `size` bytes. */
  async stream(name: string, size: number, content: AsyncIterable<Uint8Array>): Promise<void> {
    await this.sink.write(header(name, '0', size))
    let written = 0
    for await (const chunk of content) {
      written += chunk.byteLength
      if (written > size) throw new Error(`archive member ${name} has more than the ${size} bytes announced`)
      await this.sink.write(chunk)
    }
    if (written !== size) throw new Error(`archive member ${name} has ${written} bytes, not the ${size} announced`)
    await this.pad(size)
  }

  /** The two zero blocks that end an archive. */
  async end(): Promise<void> {
    await this.sink.write(new Uint8Array(2 * BLOCK))
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK
    if (rest > 0) await this.sink.write(new Uint8Array(BLOCK - rest))
  }
}
