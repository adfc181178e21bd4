// What the page (or the Node main thread) and a wasi worker say to each other. Control
// calls go through comlink; output streams over a MessagePort of its own, because the
// worker's event loop is blocked while the program runs and only posts can get out.

import type { DirNode } from '../../oci/rootfs.js'
import type { DeltaNode } from './fs-view.js'
import type { SocketMessage } from './socket-channel.js'

export interface Preopen {
  /** Key of a tree the worker already holds (see WorkerApi.loadFs). */
  fsKey: string
  /** Where the guest sees it, e.g. "/" or "/data". */
  guestPath: string
  /**
   * Given no fd: the tree of a bare module run (which holds just the module), since such a
   * run sees only the directories mapped with --dir, as under wasmtime.
   */
  hidden?: boolean
  /** Paths stay below each fd, as wasmtime confines them (host directories: see DirFd.confined). */
  confined?: boolean
}

export interface RunRequest {
  module: WebAssembly.Module
  args: string[]
  env: string[]
  preopens: Preopen[]
  /** The stdin ring buffer; absent means stdin is at EOF from the start. */
  stdin?: SharedArrayBuffer
  /** Where a stop is asked (stop-signal.ts); absent where SharedArrayBuffer is unavailable. */
  stop?: SharedArrayBuffer
  tty: boolean
  /** Created in the root view when the image lacks it, as Docker creates a missing WORKDIR. */
  workingDir?: string
  /**
   * Preopened listening sockets (wasmtime's --tcplisten): `listeners` fds after the
   * preopened directories, fed through the frame ring (socket-channel.ts).
   */
  sockets?: { ring: SharedArrayBuffer; listeners: number }
  /** The cap in pages the module was rewritten to, for telling a memory failure apart. */
  memoryCapPages?: number
}

export type RunOutcome =
  | { kind: 'exit'; code: number }
  | { kind: 'trap'; message: string }
  | { kind: 'error'; message: string }
  /** Ended at a WASI call because the main thread asked it to stop (kill, Ctrl-C, timeout). */
  | { kind: 'stopped'; signal: number }

export interface RunResult {
  outcome: RunOutcome
  /** Pages of linear memory at the end. */
  memoryPages: number
  /** What the run changed, one delta per preopen (same order). */
  changes: DeltaNode[]
  instantiateMs: number
  runMs: number
}

/** Messages on the run's output port, worker → main; `end` is the last one of a run. */
export type OutputMessage = { type: 'out'; fd: 1 | 2; data: Uint8Array } | { type: 'stdin-space' } | { type: 'end' } | SocketMessage

/** Posted once by a worker when it listens for calls. */
export const READY_MESSAGE = 'boxplay-wasi-worker-ready'

export interface WorkerApi {
  loadFs(key: string, root: DirNode): void
  dropFs(key: string): void
  run(request: RunRequest, output: MessagePort): RunResult
  ping(): number
}
