// The shell session's out-of-band signals. The learner's shell prints invisible OSC
// sequences (ESC ] 777 ; bp ; … BEL), which terminals ignore:
//   P      at the end of every prompt: the shell is idle, a command has finished;
//   X;<n>  after a check's command: its exit status.
// This scanner takes them out of the output stream (also when split across chunks) and
// hands back the remaining bytes, each run of them tagged with the markers seen before it.

const PREFIX = [0x1b, 0x5d, ...'777;bp;'.split('').map((c) => c.charCodeAt(0))] // ESC ] 777;bp;
const BEL = 0x07
const MAX_BODY = 32

export type Marker = { kind: 'prompt' } | { kind: 'exit'; code: number }

/** Output and markers in the order they came. */
export type Piece = { bytes: Uint8Array } | { marker: Marker }

export class MarkerScanner {
  private held: number[] = []

  push(chunk: Uint8Array): Piece[] {
    const pieces: Piece[] = []
    let out: number[] = []
    const flushOut = () => {
      if (out.length) pieces.push({ bytes: Uint8Array.from(out) })
      out = []
    }
    for (const byte of chunk) {
      this.held.push(byte)
      const held = this.held
      if (held.length <= PREFIX.length) {
        if (held.every((b, i) => b === PREFIX[i])) continue
        // Not our sequence: release the first byte and re-scan the rest.
        out.push(held.shift()!)
        while (held.length && !held.every((b, i) => b === PREFIX[i])) out.push(held.shift()!)
        continue
      }
      if (byte === BEL) {
        const body = String.fromCharCode(...held.slice(PREFIX.length, -1))
        this.held = []
        const marker = parse(body)
        if (marker) {
          flushOut()
          pieces.push({ marker })
        }
        continue
      }
      if (held.length > PREFIX.length + MAX_BODY) {
        // Too long to be ours: it was someone else's bytes.
        out.push(...held)
        this.held = []
      }
    }
    flushOut()
    return pieces
  }
}

function parse(body: string): Marker | undefined {
  if (body === 'P') return { kind: 'prompt' }
  const m = /^X;(\d{1,3})$/.exec(body)
  return m ? { kind: 'exit', code: Number(m[1]) } : undefined
}

/** PS1 for busybox ash (and bash): the prompt the learner sees, then the invisible idle marker. */
export const MARKED_PS1 = '\\w \\$ \\[\\033]777;bp;P\\007\\]'

/** The line typed into the shell to run a check in a subshell and report its status. */
export function checkLine(command: string): string {
  return `( ${command}\n) </dev/null >/dev/null 2>&1; printf '\\033]777;bp;X;%d\\007' $?`
}
