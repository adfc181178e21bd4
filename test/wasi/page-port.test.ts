// The in-page listener (web/runtimes/wasi/page-port.ts) with the runtime API directly, in
// Node (it has the same web streams): a connection made before the run starts waits for it,
// two megabytes go through with backpressure both ways, a page that resets a connection
// leaves the server serving the next one, and a finished run refuses connections.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { PagePort, type PageSocket } from '../../web/runtimes/wasi/page-port.js'
import type { WasiRuntime } from '../../web/runtimes/wasi/runtime.js'
import { makeRuntime, programImage } from './helpers.js'

let runtime: WasiRuntime
beforeAll(() => {
  runtime = makeRuntime()
})
afterAll(() => runtime?.close())

async function readAll(socket: PageSocket): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const c of socket.readable) chunks.push(c)
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

describe('PagePort', () => {
  it('keeps a connection made before the run starts, and echoes 2 MB through it', async () => {
    const port = new PagePort('echo')
    const early = await port.connect()
    const run = await runtime.start({ image: await programImage('echo-server'), cmd: ['1'], listeners: [port] })
    const output = collectOutput(run)
    const big = new Uint8Array(2 * 1024 * 1024).map((_, i) => i % 251)
    const reading = readAll(early)
    const writer = early.writable.getWriter()
    for (let at = 0; at < big.byteLength; at += 64 * 1024) await writer.write(big.subarray(at, at + 64 * 1024))
    await writer.close()
    const back = await reading
    expect(back.byteLength).toBe(big.byteLength)
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true)
    const { stdout, status } = await output
    expect(stdout).toBe(`conn 1: ${big.byteLength} bytes\n`)
    expect(status.code).toBe(0)
    await expect(port.connect()).rejects.toThrow(/connection refused: nothing listens on page:echo/)
  }, 60_000)

  it('a connection the page resets ends with an error for the module; the next one is served', async () => {
    const port = new PagePort('reset')
    const run = await runtime.start({ image: await programImage('echo-server'), cmd: ['2'], listeners: [port] })
    const output = collectOutput(run)
    const first = await port.connect()
    const w = first.writable.getWriter()
    await w.write(new TextEncoder().encode('partial'))
    first.close()
    const second = await port.connect()
    const reading = readAll(second)
    const w2 = second.writable.getWriter()
    await w2.write(new TextEncoder().encode('whole\n'))
    await w2.close()
    expect(new TextDecoder().decode(await reading)).toBe('whole\n')
    const { stdout, stderr, status } = await output
    // Reset while the module read or echoed: either call reports it, as on Linux.
    expect(stderr).toMatch(/(recv|send): Connection reset/)
    expect(stdout).toMatch(/^conn 1: \d+ bytes\nconn 2: 6 bytes\n$/)
    expect(status.code).toBe(0)
  }, 60_000)
})
