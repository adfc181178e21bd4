// A cooked tty for WASI programs, which have no kernel tty: keystrokes from a terminal are
// echoed and edited here, and only whole lines reach the program's stdin, as a Linux tty
// in canonical mode would do it. Output gets the tty's "\n" → "\r\n" (onlcr).

export interface LineSink {
  /** Bytes to show on the terminal (the echo). */
  echo(bytes: Uint8Array): void
  /** A finished line (with its "\n"), or the partial line at Ctrl-D, for stdin. */
  deliver(bytes: Uint8Array): void
  /** Ctrl-D on an empty line. */
  eof(): void
  /** Ctrl-C. */
  interrupt(): void
}

const encoder = new TextEncoder()
const ERASE = encoder.encode('\b \b')

export class LineDiscipline {
  /** The line being edited, as characters (not bytes), so erase removes whole UTF-8 characters. */
  private line: string[] = []
  private escape: 'none' | 'esc' | 'csi' = 'none'
  private readonly decoder = new TextDecoder()

  constructor(private readonly sink: LineSink) {}

  input(data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? encoder.encode(data) : data
    for (const byte of bytes) this.byte(byte)
  }

  private byte(b: number): void {
    if (this.escape !== 'none') {
      // Cursor keys and other escape sequences: a cooked tty has no use for them.
      if (this.escape === 'esc') this.escape = b === 0x5b || b === 0x4f ? 'csi' : 'none'
      else if (b >= 0x40 && b <= 0x7e) this.escape = 'none'
      return
    }
    switch (b) {
      case 0x1b:
        this.escape = 'esc'
        return
      case 0x0d:
      case 0x0a:
        this.sink.echo(encoder.encode('\r\n'))
        this.sink.deliver(encoder.encode(this.line.join('') + '\n'))
        this.line = []
        return
      case 0x7f:
      case 0x08:
        if (this.line.pop() !== undefined) this.sink.echo(ERASE)
        return
      case 0x15: // Ctrl-U: erase the line
        this.eraseChars(this.line.length)
        return
      case 0x17: {
        // Ctrl-W: erase the word before the cursor, and the blanks after it
        let n = 0
        let i = this.line.length
        while (i > 0 && this.line[i - 1] === ' ') (i--, n++)
        while (i > 0 && this.line[i - 1] !== ' ') (i--, n++)
        this.eraseChars(n)
        return
      }
      case 0x03:
        this.sink.echo(encoder.encode('^C\r\n'))
        this.line = []
        this.sink.interrupt()
        return
      case 0x04:
        if (this.line.length === 0) this.sink.eof()
        else {
          this.sink.deliver(encoder.encode(this.line.join('')))
          this.line = []
        }
        return
    }
    if (b < 0x20) return // other control characters are not part of a line
    // Collect UTF-8 sequences so a character is echoed and erased as one.
    const text = this.decoder.decode(Uint8Array.of(b), { stream: true })
    if (text !== '') {
      for (const ch of text) this.line.push(ch)
      this.sink.echo(encoder.encode(text))
    }
  }

  private eraseChars(n: number): void {
    for (let i = 0; i < n && this.line.pop() !== undefined; i++) this.sink.echo(ERASE)
  }
}

/** A tty's output processing: a lone "\n" becomes "\r\n". */
export function onlcr(bytes: Uint8Array): Uint8Array {
  let count = 0
  for (let i = 0; i < bytes.byteLength; i++) if (bytes[i] === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) count++
  if (count === 0) return bytes
  const out = new Uint8Array(bytes.byteLength + count)
  let j = 0
  for (let i = 0; i < bytes.byteLength; i++) {
    if (bytes[i] === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) out[j++] = 0x0d
    out[j++] = bytes[i]!
  }
  return out
}
