// Test page for WASI servers in a browser: the wasi runtime in module web workers, the
// module's listening socket a PagePort (web/runtimes/wasi/page-port.ts), and this page
// script as the client, over the port's readable/writable streams. The test drives it
// through window.boxplayWasiSock.

import { collectOutput } from '../../../web/runtimes/run-base.js'
import type { ExitStatus } from '../../../web/runtimes/runtime.js'
import { browserWasiRuntime } from '../../../web/runtimes/wasi/browser.js'
import { PagePort, type PageSocket } from '../../../web/runtimes/wasi/page-port.js'
import { wasmFileImage } from '../../../web/runtimes/wasi/wasm-file.js'

const runtime = browserWasiRuntime()
const out = document.getElementById('out')!
const statusLine = document.getElementById('status')!

async function program(name: string) {
  const response = await fetch(new URL(`/wasi-tests/${name}.wasm`, location.href))
  if (!response.ok) throw new Error(`test program ${name} is not served: ${response.status}`)
  return wasmFileImage(new Uint8Array(await response.arrayBuffer()), { fileName: `${name}.wasm`, bare: true })
}

/** Sends `text` (then a FIN unless `keepOpen`), and reads until the server's end of stream. */
async function exchange(socket: PageSocket, text: string): Promise<string> {
  const writer = socket.writable.getWriter()
  const reading = readAll(socket)
  await writer.write(new TextEncoder().encode(text))
  await writer.close()
  return reading
}

async function readAll(socket: PageSocket): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  const reader = socket.readable.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    text += decoder.decode(value, { stream: true })
  }
}

interface ServerOutcome {
  replies: string[]
  stdout: string
  stderr: string
  status: ExitStatus
  refusedAfter: boolean
}

const api = {
  crossOriginIsolated: () => globalThis.crossOriginIsolated,
  /** echo-server ARGS on a PagePort; each text is one connection, one after another or all at once. */
  async echo(texts: string[], concurrent: boolean): Promise<ServerOutcome> {
    const port = new PagePort('echo')
    const run = await runtime.start({ image: await program('echo-server'), cmd: concurrent ? ['--poll', String(texts.length)] : [String(texts.length)], listeners: [port] })
    const output = collectOutput(run)
    let replies: string[]
    if (concurrent) {
      const sockets = await Promise.all(texts.map(() => port.connect()))
      replies = await Promise.all(sockets.map((s, i) => exchange(s, texts[i]!)))
    } else {
      replies = []
      for (const t of texts) replies.push(await exchange(await port.connect(), t))
    }
    const { stdout, stderr, status } = await output
    const refusedAfter = await port.connect().then(
      () => false,
      () => true,
    )
    out.textContent += `echo ${concurrent ? '(poll)' : ''}: ${JSON.stringify(replies)}\n${stdout}${stderr}[exit ${status.code}]\n`
    return { replies, stdout, stderr, status, refusedAfter }
  },
  /** http-server on a PagePort: raw HTTP/1.1 requests, the last with Connection: close; then a kill. */
  async http(paths: string[]): Promise<{ response: string; status: ExitStatus }> {
    const port = new PagePort('http')
    const run = await runtime.start({ image: await program('http-server'), listeners: [port] })
    const socket = await port.connect()
    const requests = paths.map((p, i) => `GET ${p} HTTP/1.1\r\nHost: page\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join('')
    const writer = socket.writable.getWriter()
    const reading = readAll(socket)
    await writer.write(new TextEncoder().encode(requests))
    const response = await reading
    run.kill('SIGTERM')
    const status = await run.exit
    out.textContent += `http: ${JSON.stringify(response)}\n[exit ${status.code}]\n`
    return { response, status }
  },
}

declare global {
  interface Window {
    boxplayWasiSock: typeof api
  }
}
window.boxplayWasiSock = api
const availability = await runtime.available()
statusLine.textContent = availability.ok ? 'ready' : `unavailable: ${availability.reason}`
statusLine.dataset.ready = 'true'
