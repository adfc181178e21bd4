// The wasi worker: one script for browser web workers and Node worker_threads. It keeps the
// image trees it was sent (by key), and runs one program at a time on a fresh
// copy-on-write view of them. The program runs synchronously and blocks this thread;
// output leaves through postMessage, which works while blocked.

import * as Comlink from 'comlink'
import type { Fd } from '@bjorn3/browser_wasi_shim'
import { WASIProcExit } from '@bjorn3/browser_wasi_shim'
import type { DirNode } from '../../oci/rootfs.js'
import { DirFd, OutputFd, StdinFd } from './fds.js'
import { FsView } from './fs-view.js'
import { PAGE_BYTES } from './memory-cap.js'
import { SocketChannel } from './socket-fds.js'
import { READY_MESSAGE, type OutputMessage, type RunRequest, type RunResult, type WorkerApi } from './protocol.js'
import { StdinReader } from './stdin-channel.js'
import { RunStopped, StopWatcher } from './stop-signal.js'
import { WasiHost } from './wasi-host.js'

const trees = new Map<string, DirNode>()

function run(request: RunRequest, port: MessagePort): RunResult {
  const post = (m: OutputMessage, transfer: Transferable[] = []): void => port.postMessage(m, transfer)
  const views = request.preopens.map((p) => {
    const tree = trees.get(p.fsKey)
    if (tree === undefined) throw new Error(`the worker was not sent the tree ${p.fsKey}`)
    return { preopen: p, view: new FsView(tree) }
  })
  const root = views.find(({ preopen }) => preopen.guestPath === '/')?.view
  if (root && request.workingDir) makeWorkingDir(root, request.workingDir)
  const stop = new StopWatcher(request.stop)
  const reader = request.stdin ? new StdinReader(request.stdin) : undefined
  if (reader) {
    reader.onSpace = () => post({ type: 'stdin-space' })
    reader.onWake = () => stop.check()
  }
  const out = (fd: 1 | 2) => (data: Uint8Array) => {
    // The shim hands us a fresh copy of each write, so its buffer can be transferred.
    post({ type: 'out', fd, data }, [data.buffer as ArrayBuffer])
  }
  const sockets = request.sockets ? new SocketChannel(request.sockets.ring, request.sockets.listeners, post, () => stop.check()) : undefined
  const fds: Fd[] = [
    new StdinFd(reader, request.tty),
    new OutputFd(out(1), request.tty),
    new OutputFd(out(2), request.tty),
    ...views.filter(({ preopen }) => !preopen.hidden).map(({ view, preopen }) => new DirFd(view, view.base, [], view.root, preopen.guestPath, undefined, preopen.confined === true)),
    // After the directories, as wasmtime places --tcplisten sockets: libc's preopen scan stops at them.
    ...(sockets?.listeners ?? []),
  ]
  const host = new WasiHost(request.args, request.env, fds, stop, sockets)
  const t0 = performance.now()
  let instance: WebAssembly.Instance | undefined
  let outcome: RunResult['outcome']
  let instantiateMs = 0
  try {
    instance = new WebAssembly.Instance(request.module, { wasi_snapshot_preview1: host.wasiImport as WebAssembly.ModuleImports })
    instantiateMs = performance.now() - t0
    const exports = instance.exports as { memory?: WebAssembly.Memory; _start?: () => void }
    if (!(exports.memory instanceof WebAssembly.Memory) || typeof exports._start !== 'function') {
      throw new Error('the module is not a WASI command: it must export "memory" and "_start"')
    }
    outcome = { kind: 'exit', code: host.start({ exports: exports as { memory: WebAssembly.Memory; _start: () => unknown } }) }
  } catch (e) {
    if (e instanceof WASIProcExit) outcome = { kind: 'exit', code: e.code }
    else if (e instanceof RunStopped) outcome = { kind: 'stopped', signal: e.signal }
    else if (e instanceof WebAssembly.RuntimeError) outcome = { kind: 'trap', message: e.message }
    else if (e instanceof RangeError && /memory|allocation/i.test(e.message)) outcome = { kind: 'trap', message: e.message }
    else outcome = { kind: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }
  }
  const runMs = performance.now() - t0 - instantiateMs
  const memory = instance?.exports.memory
  return {
    outcome,
    memoryPages: memory instanceof WebAssembly.Memory ? memory.buffer.byteLength / PAGE_BYTES : 0,
    changes: views.map(({ view }) => view.delta()),
    instantiateMs,
    runMs,
  }
}

/** Creates the missing directories of `path` in the run's view (the image is untouched). */
function makeWorkingDir(view: FsView, path: string): void {
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  for (let i = 1; i <= parts.length; i++) {
    const found = view.resolve(view.base, [], parts.slice(0, i), true)
    if (typeof found !== 'number') {
      if (found.node.kind !== 'dir') return // a file in the way: the program starts in "/"
      continue
    }
    const at = view.parent(view.base, [], parts.slice(0, i).join('/'))
    if (typeof at === 'number') return
    view.link(at.dir, at.name, view.newDir())
  }
}

const api: WorkerApi = {
  loadFs(key, root) {
    trees.set(key, root)
  },
  dropFs(key) {
    trees.delete(key)
  },
  run(request, port) {
    try {
      return run(request, port)
    } finally {
      // Output and the result travel on different channels: `end` tells the main thread
      // it has seen every byte of output before it reports the exit.
      port.postMessage({ type: 'end' } satisfies OutputMessage)
      port.close()
    }
  },
  ping() {
    return performance.now()
  },
}

async function parentEndpoint(): Promise<Comlink.Endpoint> {
  if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
    return globalThis as unknown as Comlink.Endpoint
  }
  // Node: a variable specifier keeps browser bundlers from trying to resolve it.
  const specifier = 'node:worker_threads'
  const { parentPort } = (await import(/* @vite-ignore */ specifier)) as typeof import('node:worker_threads')
  if (parentPort === null) throw new Error('the wasi worker script must run in a worker thread')
  const { nodeEndpoint } = await import('./node-endpoint.js')
  return nodeEndpoint(parentPort)
}

const endpoint = await parentEndpoint()
Comlink.expose(api, endpoint)
endpoint.postMessage(READY_MESSAGE)
