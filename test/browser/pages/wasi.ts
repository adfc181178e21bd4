// Test page for the wasi runtime in a real browser: the engine in module web workers,
// images from the OCI layout served beside the page (images/), test programs from
// wasi-tests/. The test drives it through window.boxplayWasi and reads the page.

import { resolveImage } from '../../../web/oci/image.js'
import { parsePlatform } from '../../../web/oci/platform.js'
import { collectOutput } from '../../../web/runtimes/run-base.js'
import type { ExitStatus, OutputChunk, Run, RunImage, RunSpec } from '../../../web/runtimes/runtime.js'
import { LayoutSource } from '../../../web/runtimes/remote/sources.js'
import { browserWasiRuntime } from '../../../web/runtimes/wasi/browser.js'
import { wasmFileImage } from '../../../web/runtimes/wasi/wasm-file.js'
import { conformanceTree } from '../../wasi/conformance-tree.js'

export interface RunOptions {
  cmd?: string[]
  env?: string[]
  stdinText?: string
  timeoutMs?: number
  memoryBytes?: number
  /** Run a test program in the conformance programs' tree (test/wasi/conformance-tree.ts). */
  conformanceTree?: boolean
}

export interface RunOutcome {
  stdout: string
  stderr: string
  status: ExitStatus
  timings: { name: string; ms: number }[]
}

const runtime = browserWasiRuntime()
const source = new LayoutSource(new URL('/images', location.href).href)
const out = document.getElementById('out')!
const statusLine = document.getElementById('status')!

function show(title: string, text: string): void {
  out.textContent += `$ ${title}\n${text}`
}

async function image(name: string): Promise<RunImage> {
  return resolveImage(source, name, parsePlatform('wasi/wasm'))
}

async function program(name: string, withTree = false): Promise<RunImage> {
  const response = await fetch(new URL(`/wasi-tests/${name}.wasm`, location.href))
  if (!response.ok) throw new Error(`test program ${name} is not served: ${response.status}`)
  const bytes = new Uint8Array(await response.arrayBuffer())
  return wasmFileImage(bytes, { fileName: `${name}.wasm`, ...(withTree ? { rootfs: conformanceTree() } : {}) })
}

async function runSpec(title: string, spec: RunSpec, opts: RunOptions): Promise<RunOutcome> {
  const run = await runtime.start(spec)
  if (opts.stdinText !== undefined) {
    run.write(opts.stdinText)
    run.closeStdin()
  }
  const { stdout, stderr, status } = await collectOutput(run)
  show(title, stdout + stderr + `[exit ${status.code} ${status.reason}]\n`)
  return { stdout, stderr, status, timings: [...run.timings] }
}

function spec(img: RunImage, opts: RunOptions): RunSpec {
  return {
    image: img,
    ...(opts.cmd ? { cmd: opts.cmd } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.stdinText !== undefined ? { stdin: true } : {}),
    limits: {
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.memoryBytes ? { memoryBytes: opts.memoryBytes } : {}),
    },
  }
}

/** Collects a run's output as text, and lets callers wait for some text to appear in it. */
function transcript(run: Run): { text: string; waitFor(text: string): Promise<void> } {
  const waiters: { text: string; resolve: () => void }[] = []
  const t = {
    text: '',
    waitFor(text: string): Promise<void> {
      if (t.text.includes(text)) return Promise.resolve()
      return new Promise<void>((resolve) => waiters.push({ text, resolve }))
    },
  }
  run.onOutput((c: OutputChunk) => {
    t.text += new TextDecoder().decode(c.data)
    for (const w of waiters.splice(0)) {
      if (t.text.includes(w.text)) w.resolve()
      else waiters.push(w)
    }
  })
  return t
}

const api = {
  crossOriginIsolated: () => globalThis.crossOriginIsolated,
  available: () => runtime.available(),
  runImage: async (name: string, opts: RunOptions = {}) => runSpec(`${name} ${(opts.cmd ?? []).join(' ')}`, spec(await image(name), opts), opts),
  runProgram: async (name: string, opts: RunOptions = {}) => runSpec(`${name}.wasm ${(opts.cmd ?? []).join(' ')}`, spec(await program(name, opts.conformanceTree), opts), opts),
  /** Interactive: waits for the prompt, feeds lines one by one, each only after the previous echo. */
  async interactive(lines: string[]): Promise<{ transcript: string; status: ExitStatus; sawReadyBeforeInput: boolean }> {
    const run = await runtime.start({ image: await program('echo'), stdin: true })
    const seen = transcript(run)
    await seen.waitFor('ready\n')
    const sawReadyBeforeInput = seen.text === 'ready\n'
    for (const line of lines) {
      run.write(`${line}\n`)
      await seen.waitFor(`got: ${line}\n`)
    }
    run.closeStdin()
    const status = await run.exit
    show('echo (interactive)', seen.text + `[exit ${status.code}]\n`)
    return { transcript: seen.text, status, sawReadyBeforeInput }
  },
  /** Python's REPL on a cooked tty: keys typed one at a time, as a terminal sends them. */
  async pythonRepl(keys: string[]): Promise<{ transcript: string; status: ExitStatus }> {
    const run = await runtime.start({ image: await image('python'), tty: { cols: 80, rows: 24 } })
    const seen = transcript(run)
    await seen.waitFor('>>> ')
    for (const key of keys) run.write(key)
    await seen.waitFor('42\r\n>>> ')
    run.write('\x04')
    const status = await run.exit
    show('python (tty)', seen.text + `[exit ${status.code}]\n`)
    return { transcript: seen.text, status }
  },
  async killSpin(afterMs: number): Promise<ExitStatus> {
    const run = await runtime.start({ image: await program('limits'), cmd: ['spin'] })
    setTimeout(() => run.kill(), afterMs)
    return run.exit
  },
}

declare global {
  interface Window {
    boxplayWasi: typeof api
  }
}
window.boxplayWasi = api
const availability = await runtime.available()
statusLine.textContent = availability.ok ? 'ready' : `unavailable: ${availability.reason}`
statusLine.dataset.ready = 'true'
