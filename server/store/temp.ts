// Scratch directories inside the store (same filesystem, so finished files are renamed into
// place atomically). Each is named `<pid>-<random>`: removed when the operation ends or
// fails, removed at exit, and — for processes that were killed — removed by the next
// process that opens the store and finds the pid gone.

import { randomBytes } from 'node:crypto'
import { mkdirSync, promises as fsp, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { processAlive } from './lock.js'

const live = new Set<string>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const dir of live) {
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {
        // best effort: the next open cleans it
      }
    }
  })
}

export class TempDir {
  private counter = 0
  private constructor(readonly path: string) {}

  static async create(tmpRoot: string): Promise<TempDir> {
    installExitHook()
    await fsp.mkdir(tmpRoot, { recursive: true })
    const path = join(tmpRoot, `${process.pid}-${randomBytes(6).toString('hex')}`)
    await fsp.mkdir(path, { mode: 0o700 })
    live.add(path)
    return new TempDir(path)
  }

  /** A fresh name inside this directory (nothing is created). */
  name(hint: string): string {
    return join(this.path, `${this.counter++}-${hint.replace(/[^A-Za-z0-9._-]/g, '_')}`)
  }

  async remove(): Promise<void> {
    live.delete(this.path)
    await fsp.rm(this.path, { recursive: true, force: true })
  }
}

/** Runs fn with a temp dir that is removed afterwards, whether fn succeeds or fails. */
export async function withTempDir<T>(tmpRoot: string, fn: (dir: TempDir) => Promise<T>): Promise<T> {
  const dir = await TempDir.create(tmpRoot)
  try {
    return await fn(dir)
  } finally {
    await dir.remove()
  }
}

/** Removes temp dirs of processes that no longer exist; returns how many. */
export function cleanStaleTemps(tmpRoot: string): number {
  let names: string[]
  try {
    names = readdirSync(tmpRoot)
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    const pid = Number(name.split('-')[0])
    if (pid === process.pid || (Number.isInteger(pid) && processAlive(pid))) continue
    try {
      rmSync(join(tmpRoot, name), { recursive: true, force: true })
      removed++
    } catch {
      // another process may be cleaning it right now
    }
  }
  return removed
}

/** Live temp dirs of OTHER processes: an operation in progress somewhere. */
export function otherLiveTemps(tmpRoot: string): number[] {
  try {
    return readdirSync(tmpRoot)
      .map((n) => Number(n.split('-')[0]))
      .filter((pid) => Number.isInteger(pid) && pid !== process.pid && processAlive(pid))
  } catch {
    return []
  }
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true })
}
