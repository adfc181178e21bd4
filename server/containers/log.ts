// A container's log, Docker's json-file idea: one JSON line a chunk of output, with the
// stream and the time it arrived, appended by the monitor and read by `logs` (also while it
// grows, for `logs -f`). Bytes travel as base64, so output that is not UTF-8 survives.

import { createWriteStream, promises as fsp, type WriteStream } from 'node:fs'

export interface LogChunk {
  /** ISO time, millisecond precision. */
  t: string
  s: 'stdout' | 'stderr'
  d: string
}

export class LogWriter {
  private readonly out: WriteStream

  constructor(path: string) {
    this.out = createWriteStream(path, { flags: 'a', mode: 0o600 })
  }

  write(stream: 'stdout' | 'stderr', data: Uint8Array): void {
    const chunk: LogChunk = { t: new Date().toISOString(), s: stream, d: Buffer.from(data).toString('base64') }
    this.out.write(JSON.stringify(chunk) + '\n')
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve))
  }
}

export interface LogLine {
  time: string
  stream: 'stdout' | 'stderr'
  /** The line's bytes, with its newline when it had one. */
  data: Buffer
}

/** Docker's RFC 3339 with nanoseconds, e.g. 2026-12-03T06:30:00.123000000Z. */
export function nanoTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000000Z')
}

/**
 * Turns chunks into lines, a stream at a time: a line that spans chunks takes the time of
 * its first one, as Docker stamps a line when it starts.
 */
export class LineSplitter {
  private pending = new Map<'stdout' | 'stderr', { time: string; parts: Buffer[] }>()

  push(chunk: LogChunk): LogLine[] {
    const lines: LogLine[] = []
    let data = Buffer.from(chunk.d, 'base64')
    let at: number
    while ((at = data.indexOf(10)) >= 0) {
      const head = data.subarray(0, at + 1)
      const open = this.pending.get(chunk.s)
      this.pending.delete(chunk.s)
      lines.push({ time: open?.time ?? chunk.t, stream: chunk.s, data: Buffer.concat([...(open?.parts ?? []), head]) })
      data = data.subarray(at + 1)
    }
    if (data.length > 0) {
      const open = this.pending.get(chunk.s) ?? { time: chunk.t, parts: [] }
      open.parts.push(data)
      this.pending.set(chunk.s, open)
    }
    return lines
  }

  /** Lines still open when the log ends (output without a final newline). */
  flush(): LogLine[] {
    const lines = [...this.pending].map(([stream, p]) => ({ time: p.time, stream, data: Buffer.concat(p.parts) }))
    this.pending.clear()
    return lines.sort((a, b) => a.time.localeCompare(b.time))
  }
}

/** Reads complete JSON lines from `offset` on; returns them and where the next read starts. */
export async function readChunks(path: string, offset: number): Promise<{ chunks: LogChunk[]; next: number }> {
  let fh: fsp.FileHandle
  try {
    fh = await fsp.open(path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { chunks: [], next: offset }
    throw e
  }
  try {
    const { size } = await fh.stat()
    if (size <= offset) return { chunks: [], next: offset }
    const buf = Buffer.alloc(size - offset)
    await fh.read(buf, 0, buf.length, offset)
    const end = buf.lastIndexOf(10)
    if (end < 0) return { chunks: [], next: offset }
    const chunks: LogChunk[] = []
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (!line) continue
      try {
        chunks.push(JSON.parse(line) as LogChunk)
      } catch {
        // A torn line (a monitor killed mid-write) is skipped, not fatal.
      }
    }
    return { chunks, next: offset + end + 1 }
  } finally {
    await fh.close()
  }
}
