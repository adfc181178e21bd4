// The wasi runtime as the CLI and the Node tests use it: workers are worker_threads, and
// host directories can be mapped in (--dir).

import { WasiRuntime, type WasiRuntimeOptions } from '../../web/runtimes/wasi/runtime.js'
import { loadHostDir } from './host-dir.js'
import { spawnNodeWorker } from './node-worker.js'

export function nodeWasiRuntime(opts: Partial<WasiRuntimeOptions> = {}): WasiRuntime {
  return new WasiRuntime({ spawnWorker: spawnNodeWorker, loadMount: loadHostDir, ...opts })
}
