import { describe, expect, test } from 'vitest'
import { TerminalQueryFilter } from '../../web/runtimes/v86/tty-filter.js'
import { FrameReader, decodeWaitStatus, encodeSpec, fields, signalNumber } from '../../web/runtimes/v86/protocol.js'

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

describe('TerminalQueryFilter', () => {
  test('drops ESC[6n, also split across chunks, and keeps other escapes', () => {
    const f = new TerminalQueryFilter()
    const out = [f.push(enc('a\x1b[')), f.push(enc('6nb\x1b[0m\x1b')), f.push(enc('[6')), f.push(enc('x')), f.flush()]
    expect(out.map(dec).join('')).toBe('ab\x1b[0m\x1b[6x')
  })
})

describe('control protocol', () => {
  test('frames reassemble byte by byte; specs and wait statuses decode', () => {
    const got: string[] = []
    const reader = new FrameReader((f) => got.push(`${f.type}:${fields(f.payload).join('|')}`))
    const frame = new Uint8Array([0x52, 6, 0, 0, 0, ...enc('6.1\x0012\x00').subarray(0, 6)])
    for (const b of frame) reader.push(b)
    expect(got).toEqual(['R:6.1|12'])
    const spec = encodeSpec({ argv: ['a', 'b c'], env: ['K=V'], cwd: '/', user: '', hostname: 'h', stdinOpen: false, clockMs: 5, seedHex: '00' })
    expect(dec(spec.subarray(5))).toBe('aa\0ab c\0eK=V\0c/\0u\0hh\0i0\0T5\0r00\0')
    expect(() => encodeSpec({ argv: ['a\0b'], env: [], cwd: '/', user: '', hostname: 'h', stdinOpen: false, clockMs: 0, seedHex: '' })).toThrow(/NUL/)
    expect(decodeWaitStatus(7 << 8)).toEqual({ code: 7 })
    expect(decodeWaitStatus(9)).toEqual({ code: 137, signal: 'SIGKILL' })
    expect(signalNumber('TERM')).toBe(15)
    expect(() => signalNumber('SIGNOPE')).toThrow(/unknown signal/)
  })
})
