// `boxplay exec` into a running native container: the Rust helper (`boxplay-init --exec`,
// crates/boxplay-container/src/exec.rs) joins the namespaces and cgroups of the container's
// PID 1 and runs the command there with the same confinement. Its stdio are pipes this
// process relays, never this terminal's own descriptors (a container must not hold the
// host's tty); with -t the helper makes a new pty for the command and relays it. v86 and
// wasi containers are refused: see the README.

import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { resolveProcess } from '../../web/runtimes/runtime.js'
import { HELPER_FILE, coreDir } from '../native/paths.js'
import type { Store } from '../store/store.js'
import { ContainerError } from './ids.js'
import type { ContainerRecord } from './record.js'
import { monitorAlive } from './store.js'
import { baseImage } from './supervisor.js'

export interface ExecRequest {
  argv: string[]
  /** `K=V` added to the container's environment. */
  env: string[]
  user?: string
  cwd?: string
  interactive: boolean
  tty: boolean
}

export async function execIn(store: Store, record: ContainerRecord, req: ExecRequest, io: { stdout: Writable; stderr: Writable }): Promise<number> {
  const { config, state } = record
  if (state.status !== 'running' || !monitorAlive(state.monitorPid, state.monitorStart)) {
    throw new ContainerError('not-running', `container ${config.id} is not running`)
  }
  if (config.runtime !== 'native') {
    throw new ContainerError('unsupported', `exec into a ${config.runtime} container is not supported yet: only native containers take exec`)
  }
  if (state.pid === undefined) throw new ContainerError('not-running', `container ${config.id} has not reported its process yet: try again`)
  const image = await baseImage(store, record)
  // The container's environment (image Env, then run -e), then exec -e, as Docker merges them.
  const proc = resolveProcess({ image, env: [...config.env, ...req.env], cmd: req.argv, ...(config.hostname ? { hostname: config.hostname } : {}) })
  const spec = {
    pid: state.pid,
    argv: req.argv,
    env: proc.env,
    cwd: req.cwd ?? config.cwd ?? (image.config.WorkingDir || '/'),
    user: req.user ?? config.user ?? (image.config.User || ''),
    seccomp: true,
    rlimits: [{ kind: 'NOFILE', soft: 1024, hard: 4096 }],
    // -t: the helper makes a new pty for the command and relays it over these pipes. The
    // size is this terminal's at the start (a later resize is not passed on yet).
    ...(req.tty ? { tty: [process.stdout.columns || 80, process.stdout.rows || 24] } : {}),
  }
  const child = spawn(join(coreDir(), HELPER_FILE), ['--exec', JSON.stringify(spec)], { stdio: [req.interactive ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  child.stdout?.on('data', (d: Buffer) => io.stdout.write(d))
  child.stderr?.on('data', (d: Buffer) => io.stderr.write(d))
  const raw = req.tty && req.interactive && process.stdin.isTTY === true
  if (raw) process.stdin.setRawMode(true)
  if (req.interactive && child.stdin) {
    process.stdin.pipe(child.stdin)
    child.stdin.on('error', () => undefined) // the command may exit before reading it all
  }
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start the exec helper ${join(coreDir(), HELPER_FILE)}: ${e.message}`)))
    child.once('close', (c, signal) => resolve(c ?? (signal ? 128 + 9 : 125)))
  })
  if (raw) process.stdin.setRawMode(false)
  if (req.interactive) {
    process.stdin.unpipe()
    process.stdin.pause()
  }
  return code
}
