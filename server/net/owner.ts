// Is the process that holds a lease (or a lock) still the one that took it? A pid alone can
// be reused, so its start time (field 22 of /proc/PID/stat) is kept beside it, as the Rust
// core's sweep does for run dirs.

import { readFileSync } from 'node:fs'

export interface Owner {
  pid: number
  /** Clock ticks since boot when the process started; null when /proc could not say. */
  start: string | null
}

export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

export function thisProcess(): Owner {
  return { pid: process.pid, start: processStart(process.pid) }
}

export function alive(owner: Owner): boolean {
  const start = processStart(owner.pid)
  if (start === null) return false
  return owner.start === null || owner.start === start
}
