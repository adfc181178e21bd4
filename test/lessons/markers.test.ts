// The shell session's marker scanner (web/ui/lesson/markers.ts) against the byte streams a
// real busybox ash produces, including markers split across chunks at every position, and
// against look-alikes that must pass through as output.

import { describe, expect, test } from 'vitest'
import { MarkerScanner, checkLine, type Piece } from '../../web/ui/lesson/markers.js'

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

/** Output text with markers written as «P» and «X n», chunked as given. */
function scan(chunks: string[]): string {
  const scanner = new MarkerScanner()
  const pieces: Piece[] = chunks.flatMap((c) => scanner.push(enc(c)))
  return pieces.map((p) => ('marker' in p ? (p.marker.kind === 'prompt' ? '«P»' : `«X ${p.marker.code}»`) : dec(p.bytes))).join('')
}

// What ash printed in a pty for a check line and the prompt after it (captured by hand).
const ASH = "( false\r\n> ) </dev/null >/dev/null 2>&1; printf '\\033]777;bp;X;%d\\007' $?\r\n\x1b]777;bp;X;1\x07/ # \x1b]777;bp;P\x07\x1b[6n"

describe('MarkerScanner', () => {
  test('takes the prompt and exit markers out of ash output and keeps the rest, in order', () => {
    expect(scan([ASH])).toBe("( false\r\n> ) </dev/null >/dev/null 2>&1; printf '\\033]777;bp;X;%d\\007' $?\r\n«X 1»/ # «P»\x1b[6n")
  })

  test('finds the same markers whatever the chunk boundaries', () => {
    const whole = scan([ASH])
    for (let cut = 1; cut < ASH.length; cut++) expect(scan([ASH.slice(0, cut), ASH.slice(cut)])).toBe(whole)
    expect(scan([...ASH])).toBe(whole)
  })

  test('passes other escape sequences and OSCs through, and drops unknown bodies of its own namespace', () => {
    const other = '\x1b]0;title\x07\x1b[1;32mgreen\x1b[0m\x1b]777;bp;Q\x07\x1b]777;bp;X;abc\x07'
    expect(scan([other])).toBe('\x1b]0;title\x07\x1b[1;32mgreen\x1b[0m')
  })

  test('gives up on an over-long body and releases it as output', () => {
    const long = `\x1b]777;bp;${'y'.repeat(100)}`
    expect(scan([long, 'tail'])).toBe(`${long}tail`)
  })
})

describe('checkLine', () => {
  test('runs the command in a subshell with its output discarded, then prints the exit marker', () => {
    expect(checkLine('test -d /tmp')).toBe("( test -d /tmp\n) </dev/null >/dev/null 2>&1; printf '\\033]777;bp;X;%d\\007' $?")
  })
})
