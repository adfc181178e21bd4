// A lock file for short read-modify-write sections (index.json updates) shared by every
// boxplay process using one store. Created with O_EXCL; the owner's pid, host and a random
// token are written inside so a lock left by a killed process can be recognised and broken.
// Breaking is itself race-free: the stale file is renamed to a unique name first, and only
// the process whose rename succeeded (and found the same stale content) removes it.

import { randomBytes } from 'node:crypto'
import { constants, promises as fsp } from 'node:fs'
import { hostname } from 'node:os'

export interface LockOptions {
  /** How long to wait for another process to release the lock (default 60 s). */
  timeoutMs?: number
  /** A lock from another host (shared filesystem) counts as stale after this long (default 10 min). */
  foreignStaleMs?: number
}

interface LockContent {
  pid: number
  host: string
  token: string
  time: number
}

export class LockTimeoutError extends Error {
  constructor(path: string, holder: string) {
    super(`timed out waiting for the store lock ${path} (held by ${holder}); if no boxplay process is running, delete that file`)
    this.name = 'LockTimeoutError'
  }
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function parseContent(text: string): LockContent | undefined {
  try {
    const c = JSON.parse(text) as Partial<LockContent>
    if (typeof c.pid === 'number' && typeof c.host === 'string' && typeof c.token === 'string' && typeof c.time === 'number') {
      return c as LockContent
    }
  } catch {
    // half-written lock: judged by its age below
  }
  return undefined
}

async function isStale(path: string, text: string, foreignStaleMs: number): Promise<boolean> {
  const c = parseContent(text)
  if (c === undefined) {
    // Unparseable: a writer died between create and write, or it is being written now.
    const st = await fsp.stat(path).catch(() => undefined)
    return st !== undefined && Date.now() - st.mtimeMs > 5_000
  }
  if (c.host === hostname()) return !processAlive(c.pid)
  return Date.now() - c.time > foreignStaleMs
}

async function breakStale(path: string, seen: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await fsp.rename(path, aside)
  } catch {
    return // someone else broke or released it first
  }
  const moved = await fsp.readFile(aside, 'utf8').catch(() => '')
  if (moved !== seen) {
    // We moved a lock taken after our staleness check: put it back if the name is free.
    await fsp.link(aside, path).catch(() => undefined)
  }
  await fsp.unlink(aside).catch(() => undefined)
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Runs `fn` holding the lock file at `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000
  const foreignStaleMs = opts.foreignStaleMs ?? 10 * 60_000
  const content: LockContent = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), time: Date.now() }
  const text = JSON.stringify(content)
  const deadline = Date.now() + timeoutMs
  let delay = 5
  for (;;) {
    try {
      const fh = await fsp.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644)
      try {
        await fh.writeFile(text)
      } finally {
        await fh.close()
      }
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const seen = await fsp.readFile(path, 'utf8').catch(() => undefined)
    if (seen !== undefined && (await isStale(path, seen, foreignStaleMs))) {
      await breakStale(path, seen)
      continue
    }
    if (Date.now() > deadline) {
      const c = seen === undefined ? undefined : parseContent(seen)
      throw new LockTimeoutError(path, c ? `pid ${c.pid} on ${c.host}` : 'an unknown process')
    }
    await sleep(delay + Math.random() * delay)
    delay = Math.min(delay * 2, 100)
  }
  try {
    return await fn()
  } finally {
    // Only remove the lock if it is still ours (it could have been broken as stale).
    const now = await fsp.readFile(path, 'utf8').catch(() => undefined)
    if (now === text) await fsp.unlink(path).catch(() => undefined)
  }
}
