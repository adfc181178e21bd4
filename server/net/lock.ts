// One lock for all networks of a state dir: subnets, addresses and hosts files change
// together. An exclusive-create lock file holding the owner's pid and start time; a lock
// whose owner is gone (killed mid-update) is taken over. Updates inside are atomic
// (records.ts writes a temporary file and renames it), so a dead holder leaves no half state.

import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { alive, thisProcess, type Owner } from './owner.js'

const WAIT_MS = 15_000

export async function withNetworkLock<T>(dir: string, fn: () => T | Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  const path = join(dir, '.lock')
  const me = thisProcess()
  const deadline = Date.now() + WAIT_MS
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      const fd = openSync(path, 'wx', 0o644)
      writeSync(fd, JSON.stringify(me))
      closeSync(fd)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = readHolder(path)
    // An empty lock older than a second: its taker died between creating and writing it.
    if (holder ? !alive(holder) : olderThan(path, 1000)) {
      try {
        unlinkSync(path)
      } catch {
        // another waiter took it over first
      }
      continue
    }
    if (Date.now() > deadline) {
      throw new Error(`the network state in ${dir} is locked by process ${holder?.pid ?? '?'} for more than ${WAIT_MS / 1000} s: if no boxplay is running, remove ${path}`)
    }
    await new Promise((r) => setTimeout(r, delay))
  }
  try {
    return await fn()
  } finally {
    try {
      unlinkSync(path)
    } catch {
      // already gone: nothing to release
    }
  }
}

function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms
  } catch {
    return false
  }
}

function readHolder(path: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Owner
  } catch {
    // being written right now, or removed: treat as held and look again
    return undefined
  }
}
