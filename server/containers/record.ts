// What is kept of a container, one directory a container under
// `$BOXPLAY_STATE_DIR/containers/<id>/`:
//   config.json    how it runs (written once, at create)
//   state.json     created / running / exited, the monitor's pid, the exit code (rewritten)
//   container.log  its output, one JSON line a chunk (log.ts)
//   changes.tar.gz its changes to the image as an OCI layer, if it made any (changes.ts)
//   ctl.sock       the monitor's control socket while it runs (control.ts)
// Every JSON file is written to a temp file and renamed, so a reader sees the old or the new
// record, never half of one.

import { randomBytes } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { Limits, NetworkSpec } from '../../web/runtimes/runtime.js'

export type ContainerRuntime = 'native' | 'v86' | 'wasi'
export type ContainerStatus = 'created' | 'running' | 'exited'

/** How the container runs: the `docker run` arguments that stay with it. */
export interface ContainerConfig {
  id: string
  name: string
  /** ISO time of `create`. */
  created: string
  /** The image as the user named it, and the platform manifest it resolved to. */
  image: string
  imageDigest: string
  platform: string
  runtime: ContainerRuntime
  /** The process as resolved from image and overrides, for `ps` and `inspect`. */
  path: string
  args: string[]
  cmd?: string[]
  entrypoint?: string[]
  env: string[]
  cwd?: string
  user?: string
  hostname?: string
  tty: boolean
  /** -i: stdin stays open (a `start -a -i` or an attach writes to it). */
  openStdin: boolean
  limits: Limits
  /** v86: boot instead of restoring a saved state. */
  cold?: boolean
  /** --network, --network-alias, -p (native: server/net/). */
  network?: NetworkSpec
  /** --rm: removed when it exits. */
  autoRemove: boolean
  /** The image's StopSignal, else SIGTERM: what `stop` sends first. */
  stopSignal: string
}

export interface ContainerState {
  status: ContainerStatus
  /** The monitor's pid while it runs (the container dies with it). */
  monitorPid?: number
  /** Its start time (processStartTime), so a reused pid is not taken for it. */
  monitorStart?: number
  /** The container's PID 1 on the host (native). */
  pid?: number
  /** Published ports as bound, Docker's PORTS text (`127.0.0.1:8080->80/tcp`), while it runs. */
  ports?: string
  startedAt?: string
  finishedAt?: string
  exitCode?: number
  /** Why it ended, when not a plain exit (killed, oom, timeout, error …). */
  error?: string
  /** Set by `stop`/`kill`, so the exit is reported as asked for. */
  stoppedBy?: string
  /** The changes layer (changes.tar.gz): OCI digests and size. */
  changes?: { digest: string; diffId: string; size: number }
  /** How many times the container has been started. */
  runs: number
}

export interface ContainerRecord {
  dir: string
  config: ContainerConfig
  state: ContainerState
}

export const CONFIG_FILE = 'config.json'
export const STATE_FILE = 'state.json'
export const LOG_FILE = 'container.log'
export const CHANGES_FILE = 'changes.tar.gz'
export const SOCKET_FILE = 'ctl.sock'
/** What the monitor process itself prints (its own errors), beside the container's log. */
export const MONITOR_LOG_FILE = 'monitor.log'

/** Writes `data` as JSON through a temp file and a rename. */
export async function writeJsonAtomic(path: string, data: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await fsp.writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 })
  await fsp.rename(tmp, path)
}

export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await fsp.writeFile(tmp, data, { mode: 0o600 })
  await fsp.rename(tmp, path)
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string')

function checkConfig(v: unknown, dir: string): ContainerConfig {
  const c = v as Partial<ContainerConfig> | null
  if (
    !c || typeof c !== 'object' || typeof c.id !== 'string' || typeof c.name !== 'string' || typeof c.image !== 'string' ||
    typeof c.created !== 'string' || typeof c.path !== 'string' || !isStringArray(c.args) || !isStringArray(c.env) ||
    (c.runtime !== 'native' && c.runtime !== 'v86' && c.runtime !== 'wasi')
  ) {
    throw new Error(`${join(dir, CONFIG_FILE)} is not a container config`)
  }
  return c as ContainerConfig
}

function checkState(v: unknown, dir: string): ContainerState {
  const s = v as Partial<ContainerState> | null
  if (!s || typeof s !== 'object' || (s.status !== 'created' && s.status !== 'running' && s.status !== 'exited')) {
    throw new Error(`${join(dir, STATE_FILE)} is not a container state`)
  }
  return { runs: 0, ...s } as ContainerState
}

/** Reads one container's record; throws with the file named when it cannot be read. */
export async function readRecord(dir: string): Promise<ContainerRecord> {
  const read = async (file: string): Promise<unknown> => {
    const text = await fsp.readFile(join(dir, file), 'utf8')
    try {
      return JSON.parse(text) as unknown
    } catch {
      throw new Error(`${join(dir, file)} is not valid JSON`)
    }
  }
  const config = checkConfig(await read(CONFIG_FILE), dir)
  const state = checkState(await read(STATE_FILE), dir)
  return { dir, config, state }
}
