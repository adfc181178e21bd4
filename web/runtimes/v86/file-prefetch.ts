// File contents for v86 runs, kept and fetched ahead.
//
// v86 asks for a base file's bytes when the guest opens it and drops them when the guest
// closes it (filesystem.ts), and a page builds a Debian tree whose contents come one HTTP
// request per file (web/oci/layer-index.ts). Two things make repeated commands cheap:
// - ContentMemo: loaded contents stay in memory across opens and runs (the trees are reused
//   per image, so is their FileData), up to a byte budget, oldest dropped first. A second run
//   of a command in the same page then fetches, gunzips and verifies nothing.
// - Recorded reads: a run notes which of the image's files the guest read; the next run of
//   the same command in the same image (a later page too, if the recorder persists) asks for
//   all of those files at once while the machine restores, instead of one by one as the guest
//   blocks on each: a source that can batch (a boxplay server, web/runtimes/remote/
//   layer-index-source.ts) sends them in one request, others leave the queueing to the browser.

import type { FileData, FileNode, RootFs } from '../../oci/rootfs.js'

type LazyData = Exclude<FileData, Uint8Array>

/** Default budget: python3's start reads ~11 MB; a few such commands fit. */
export const DEFAULT_MEMO_BYTES = 64 * 2 ** 20
/** A record names at most this many files (a build or `find /` reads thousands: not worth keeping). */
export const MAX_RECORDED_FILES = 400

export class ContentMemo {
  private readonly held = new Map<LazyData, { bytes: Promise<Uint8Array>; size: number }>()
  private bytes = 0

  constructor(private readonly budget = DEFAULT_MEMO_BYTES) {}

  /** The contents, loaded once while they stay within the budget; a failed load is forgotten. */
  load(data: LazyData): Promise<Uint8Array> {
    const hit = this.held.get(data)
    if (hit) {
      this.held.delete(data) // to the back of the line
      this.held.set(data, hit)
      return hit.bytes
    }
    const bytes = data.load()
    if (data.size > this.budget) return bytes
    const entry = { bytes, size: data.size }
    this.held.set(data, entry)
    this.bytes += data.size
    bytes.catch(() => this.forget(data, entry))
    while (this.bytes > this.budget) {
      const [oldest, e] = this.held.entries().next().value!
      this.forget(oldest, e)
    }
    return bytes
  }

  has(data: LazyData): boolean {
    return this.held.has(data)
  }

  private forget(data: LazyData, entry: { size: number }): void {
    if (this.held.get(data) !== entry) return
    this.held.delete(data)
    this.bytes -= entry.size
  }
}

/** A file's bytes through `memo`: the host's own reads (the run's user from /etc/passwd) are kept too. */
export function readThrough(memo: ContentMemo, node: FileNode): Promise<Uint8Array> {
  return node.data instanceof Uint8Array ? Promise.resolve(node.data) : memo.load(node.data)
}

/** Where records of what runs read are kept: in memory, or e.g. a page's localStorage. */
export interface ReadRecorder {
  get(key: string): Promise<string[] | undefined>
  set(key: string, paths: string[]): Promise<void>
}

/** Records for this process or page only. */
export function memoryRecorder(): ReadRecorder {
  const records = new Map<string, string[]>()
  return {
    get: async (key) => records.get(key),
    set: async (key, paths) => void records.set(key, paths),
  }
}

/** One record per image and command line. */
export function recordKey(imageDigest: string, argv: readonly string[]): string {
  return `${imageDigest} ${JSON.stringify(argv)}`
}

/**
 * Starts loading `paths` of `root` into `memo`, all in the same turn of the event loop (so a
 * batching source gets them together); resolves when all have settled. Paths the tree no longer has, or holds in memory already, are skipped; failures
 * are left for the guest's own read to report.
 */
export async function prefetch(root: RootFs, paths: readonly string[], memo: ContentMemo): Promise<number> {
  const todo: LazyData[] = []
  for (const path of paths) {
    let node
    try {
      node = root.lookup(path)
    } catch {
      continue
    }
    if (node?.kind === 'file' && !(node.data instanceof Uint8Array) && !memo.has(node.data)) todo.push(node.data)
  }
  await Promise.all(todo.map((data) => memo.load(data).catch(() => {})))
  return todo.length
}

/** A tolerant localStorage recorder for pages (private modes and full storage just record nothing). */
export function localStorageRecorder(prefix = 'boxplay-v86-reads:'): ReadRecorder {
  const storage = (globalThis as { localStorage?: Storage }).localStorage
  return {
    async get(key) {
      try {
        const text = storage?.getItem(prefix + key)
        const paths: unknown = text ? JSON.parse(text) : undefined
        return Array.isArray(paths) && paths.every((p) => typeof p === 'string') ? paths : undefined
      } catch {
        return undefined
      }
    },
    async set(key, paths) {
      try {
        storage?.setItem(prefix + key, JSON.stringify(paths))
      } catch {
        // quota or privacy settings: the next run just reads as it goes
      }
    },
  }
}
