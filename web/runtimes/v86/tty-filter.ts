// busybox ash asks the terminal where its cursor is (ESC [ 6 n) before every prompt. A real
// terminal answers; a captured output would show the query as garbage. Drop it from the
// stream, also when it arrives split across chunks.

const QUERY = [0x1b, 0x5b, 0x36, 0x6e] // ESC [ 6 n

export class TerminalQueryFilter {
  private held: number[] = []

  push(chunk: Uint8Array): Uint8Array {
    const out: number[] = []
    for (const byte of chunk) {
      this.held.push(byte)
      // Keep only a prefix of the query; anything else is released as output.
      while (this.held.length > 0 && !isPrefix(this.held)) out.push(this.held.shift()!)
      if (this.held.length === QUERY.length) this.held = [] // the whole query: dropped
    }
    return Uint8Array.from(out)
  }

  /** Whatever is held back at the end of the stream was not a query after all. */
  flush(): Uint8Array {
    const rest = Uint8Array.from(this.held)
    this.held = []
    return rest
  }
}

function isPrefix(bytes: number[]): boolean {
  return bytes.length <= QUERY.length && bytes.every((b, i) => b === QUERY[i])
}
