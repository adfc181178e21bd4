// The cooked tty for WASI programs: what reaches stdin and what is echoed, key by key.

import { describe, expect, it } from 'vitest'
import { LineDiscipline, onlcr } from '../../web/runtimes/wasi/line-discipline.js'

function tty() {
  const log = { echo: '', delivered: [] as string[], eof: 0, interrupts: 0 }
  const d = new TextDecoder()
  const ld = new LineDiscipline({
    echo: (b) => (log.echo += d.decode(b)),
    deliver: (b) => log.delivered.push(d.decode(b)),
    eof: () => log.eof++,
    interrupt: () => log.interrupts++,
  })
  return { ld, log }
}

describe('line discipline', () => {
  it('echoes keys and delivers whole lines on Enter (CR or LF)', () => {
    const { ld, log } = tty()
    ld.input('ab')
    expect(log.delivered).toEqual([])
    ld.input('c\r')
    ld.input('d\n')
    expect(log.delivered).toEqual(['abc\n', 'd\n'])
    expect(log.echo).toBe('abc\r\nd\r\n')
  })

  it('backspace erases one character, UTF-8 characters whole', () => {
    const { ld, log } = tty()
    ld.input('né\x7f\x7fo\x08k\r')
    expect(log.delivered).toEqual(['k\n'])
    expect(log.echo).toBe('né\b \b\b \bo\b \bk\r\n')
  })

  it('backspace on an empty line does nothing', () => {
    const { ld, log } = tty()
    ld.input('\x7f\r')
    expect(log.echo).toBe('\r\n')
    expect(log.delivered).toEqual(['\n'])
  })

  it('Ctrl-U erases the line, Ctrl-W the last word', () => {
    const { ld, log } = tty()
    ld.input('one two \x17three\x15four\r')
    expect(log.delivered).toEqual(['four\n'])
  })

  it('Ctrl-D: EOF on an empty line, otherwise delivers the partial line without a newline', () => {
    const { ld, log } = tty()
    ld.input('par\x04')
    expect(log.delivered).toEqual(['par'])
    expect(log.eof).toBe(0)
    ld.input('\x04')
    expect(log.eof).toBe(1)
  })

  it('Ctrl-C interrupts and drops the line; escape sequences (arrow keys) are ignored', () => {
    const { ld, log } = tty()
    ld.input('x\x1b[A\x1b[Dy\x03')
    expect(log.interrupts).toBe(1)
    expect(log.echo).toBe('xy^C\r\n')
    ld.input('z\r')
    expect(log.delivered).toEqual(['z\n'])
  })

  it('onlcr turns lone LF into CRLF and leaves CRLF alone', () => {
    const d = new TextDecoder()
    expect(d.decode(onlcr(new TextEncoder().encode('a\nb\r\nc\n')))).toBe('a\r\nb\r\nc\r\n')
  })
})
