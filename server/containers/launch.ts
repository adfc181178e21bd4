// Starts a container's monitor (monitor-main.ts) as a detached process and waits until it
// says the container runs. The monitor gets its own session (setsid, through `detached`),
// no terminal, and its stdout/stderr in monitor.log, so it outlives the CLI that started it.

import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { existsSync, openSync, closeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageRoot } from '../native/paths.js'
import { MONITOR_LOG_FILE, type ContainerRecord } from './record.js'

/** The compiled monitor script (this module's neighbour, or dist/ when running from sources). */
function monitorScript(): string {
  const here = join(dirname(fileURLToPath(import.meta.url)), 'monitor-main.js')
  if (existsSync(here)) return here
  const built = join(packageRoot(), 'dist', 'server', 'containers', 'monitor-main.js')
  if (existsSync(built)) return built
  throw new Error(`cannot find the container monitor (${built}): build boxplay with npx tsc -p tsconfig.json`)
}

export interface LaunchOptions {
  /** The image store's directory. */
  home: string
  /** Hold output until the first attach (start -a). */
  holdOutput?: boolean
  size?: { cols: number; rows: number }
}

/** Resolves with the monitor's pid once the container runs; rejects with why it did not. */
export function launchMonitor(record: ContainerRecord, opts: LaunchOptions): Promise<number> {
  const out = openSync(join(record.dir, MONITOR_LOG_FILE), 'a', 0o600)
  const args = [monitorScript(), record.dir, opts.home, ...(opts.holdOutput ? ['--hold-output'] : []), ...(opts.size ? [String(opts.size.cols), String(opts.size.rows)] : [])]
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out, 'pipe'], cwd: record.dir })
  closeSync(out)
  return new Promise((resolve, reject) => {
    const ready = child.stdio[3] as Readable | null
    let text = ''
    const done = (fn: () => void) => {
      ready?.destroy()
      child.unref()
      fn()
    }
    child.once('error', (e) => done(() => reject(new Error(`cannot start the container monitor: ${e.message}`))))
    ready?.setEncoding('utf8')
    ready?.on('data', (chunk: string) => {
      text += chunk
      const at = text.indexOf('\n')
      if (at < 0) return
      let message: { ok?: boolean; error?: string }
      try {
        message = JSON.parse(text.slice(0, at)) as typeof message
      } catch {
        message = { error: `the container monitor said: ${text.slice(0, at)}` }
      }
      done(() => (message.ok ? resolve(child.pid!) : reject(new Error(message.error ?? 'the container did not start'))))
    })
    ready?.on('end', () => {
      if (!text.includes('\n')) done(() => reject(new Error(`the container monitor ended before the container started: see ${join(record.dir, MONITOR_LOG_FILE)}`)))
    })
  })
}
