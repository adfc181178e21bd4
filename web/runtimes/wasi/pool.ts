// Warm wasi workers, reused across runs: a new worker costs tens of milliseconds, a warm
// one a message round trip. Each worker remembers which image trees it holds, so a tree
// crosses to a worker once. A killed run's worker is terminated and never reused.

import * as Comlink from 'comlink'
import type { DirNode } from '../../oci/rootfs.js'
import { READY_MESSAGE, type WorkerApi } from './protocol.js'

export interface WorkerHandle {
  endpoint: Comlink.Endpoint
  terminate(): void
  /** Node: keep the process alive while a run is under way, and not while idle. */
  ref?(): void
  unref?(): void
  /** Calls `listener` if the worker dies on its own (crash, out of memory), not when terminated. */
  onFailure?(listener: (message: string) => void): void
}

/** How many image trees a worker keeps; the least recently sent is dropped beyond that. */
const TREES_PER_WORKER = 4

/** Starts a worker running worker.ts (a browser Worker or a Node worker_thread). */
export type SpawnWorker = () => WorkerHandle


export class PooledWorker {
  readonly api: Comlink.Remote<WorkerApi>
  readonly trees = new Set<string>()
  readonly ready: Promise<void>
  dead = false
  private failureListeners = new Set<(message: string) => void>()

  constructor(readonly handle: WorkerHandle) {
    handle.onFailure?.((message) => {
      if (this.dead) return
      this.dead = true
      for (const l of this.failureListeners) l(message)
    })
    this.ready = new Promise((resolve) => {
      const onMessage = (e: Event): void => {
        if ((e as MessageEvent).data === READY_MESSAGE) {
          handle.endpoint.removeEventListener('message', onMessage)
          resolve()
        }
      }
      handle.endpoint.addEventListener('message', onMessage)
    })
    this.api = Comlink.wrap<WorkerApi>(handle.endpoint)
  }

  /** Sends the tree unless this worker has it already. */
  async ensureTree(key: string, root: () => DirNode): Promise<void> {
    if (this.trees.has(key)) {
      this.trees.delete(key) // keep the set in least-recently-used order
      this.trees.add(key)
      return
    }
    for (const old of [...this.trees].slice(0, Math.max(0, this.trees.size - TREES_PER_WORKER + 1))) {
      this.trees.delete(old)
      await this.api.dropFs(old)
    }
    await this.api.loadFs(key, root())
    this.trees.add(key)
  }

  /** Listens for the worker dying by itself; returns the unsubscribe. */
  onFailure(listener: (message: string) => void): () => void {
    this.failureListeners.add(listener)
    return () => this.failureListeners.delete(listener)
  }

  terminate(): void {
    this.dead = true
    this.handle.terminate()
  }
}

export class WorkerPool {
  private idle: PooledWorker[] = []
  private closed = false

  constructor(
    private readonly spawn: SpawnWorker,
    private readonly maxIdle = 2,
  ) {}

  /** A ready worker, preferring one that already holds `treeKey`. */
  async acquire(treeKey?: string): Promise<PooledWorker> {
    if (this.closed) throw new Error('the wasi worker pool was closed')
    let i = treeKey === undefined ? -1 : this.idle.findIndex((w) => w.trees.has(treeKey))
    if (i < 0 && this.idle.length > 0) i = this.idle.length - 1
    const worker = i >= 0 ? this.idle.splice(i, 1)[0]! : this.create()
    worker.handle.ref?.()
    await worker.ready
    return worker
  }

  release(worker: PooledWorker): void {
    if (worker.dead) return
    if (this.closed || this.idle.length >= this.maxIdle) {
      worker.terminate()
      return
    }
    worker.handle.unref?.()
    this.idle.push(worker)
  }

  /** Starts workers ahead of need, so the next runs skip the start-up cost. */
  async prewarm(count = 1): Promise<void> {
    const fresh: PooledWorker[] = []
    while (this.idle.length + fresh.length < Math.min(count, this.maxIdle)) fresh.push(this.create())
    await Promise.all(fresh.map((w) => w.ready))
    for (const w of fresh) {
      w.handle.unref?.()
      this.idle.push(w)
    }
  }

  get idleCount(): number {
    return this.idle.length
  }

  close(): void {
    this.closed = true
    for (const w of this.idle.splice(0)) w.terminate()
  }

  private create(): PooledWorker {
    return new PooledWorker(this.spawn())
  }
}
