// Spawns the wasi engine's worker as a Node worker_thread. The worker is the compiled
// dist/web/runtimes/wasi/worker.js (worker_threads needs JavaScript): next to this file
// when running compiled, or under <root>/dist when this file runs from source (vitest).

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { SpawnWorker, WorkerHandle } from '../../web/runtimes/wasi/pool.js'
import { nodeEndpoint } from '../../web/runtimes/wasi/node-endpoint.js'

function packageRoot(from: string): string {
  let dir = from
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error(`no package.json above ${from}`)
    dir = up
  }
  return dir
}

export function wasiWorkerScript(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [join(here, '../../web/runtimes/wasi/worker.js'), join(packageRoot(here), 'dist/web/runtimes/wasi/worker.js')]
  const found = candidates.find((c) => existsSync(c))
  if (found === undefined) {
    throw new Error(`the wasi worker script is not built (looked for ${candidates.join(', ')}): run "npx tsc -p ." first`)
  }
  return found
}

export const spawnNodeWorker: SpawnWorker = (): WorkerHandle => {
  const worker = new Worker(wasiWorkerScript())
  let terminating = false
  const failureListeners: ((message: string) => void)[] = []
  const fail = (message: string): void => {
    if (!terminating) for (const l of failureListeners) l(message)
  }
  worker.on('error', (e) => fail(`the wasi worker failed: ${e.message}`))
  worker.on('exit', (code) => fail(`the wasi worker exited unexpectedly (code ${code})`))
  return {
    endpoint: nodeEndpoint(worker),
    terminate: () => {
      terminating = true
      void worker.terminate()
    },
    onFailure: (listener) => failureListeners.push(listener),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
  }
}
