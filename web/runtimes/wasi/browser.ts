// The wasi runtime in a browser: workers are module web workers built from worker.ts by
// the bundler (vite recognises `new Worker(new URL(...), { type: 'module' })`). The page
// must be cross-origin isolated for SharedArrayBuffer (blocking stdin, sleeping).

import type { SpawnWorker } from './pool.js'
import { WasiRuntime, type WasiRuntimeOptions } from './runtime.js'

export const spawnBrowserWorker: SpawnWorker = () => {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'boxplay-wasi' })
  return {
    endpoint: worker,
    terminate: () => worker.terminate(),
    onFailure: (listener) => worker.addEventListener('error', (e) => listener(`the wasi worker failed: ${e.message || 'unknown error'}`)),
  }
}

export function browserWasiRuntime(opts: Partial<WasiRuntimeOptions> = {}): WasiRuntime {
  return new WasiRuntime({ spawnWorker: spawnBrowserWorker, ...opts })
}
