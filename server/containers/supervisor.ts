// Runs one container in this process, conmon's job: starts it through the `Runtime`
// interface on its image plus its changes layer, writes its log, answers the control socket
// (kill, attach), and when it ends keeps its changes and records the exit code. The detached
// monitor (monitor-main.ts) is this in a process of its own; a foreground `run --name` is
// this inside the CLI, so both leave the same record.

import { promises as fsp } from 'node:fs'
import type { Server, Socket } from 'node:net'
import { join } from 'node:path'
import type { ResolvedImage } from '../../web/oci/image.js'
import { parsePlatform } from '../../web/oci/platform.js'
import { toChangeSet } from '../../web/runtimes/remote/changes.js'
import type { RootFs } from '../../web/oci/rootfs.js'
import type { ExitStatus, OutputChunk, Run, RunImage, RunSpec, Runtime } from '../../web/runtimes/runtime.js'
import type { NativeRun } from '../native/run.js'
import type { Store } from '../store/store.js'
import { containerImage, saveTree, treeAfterNativeRun } from './changes.js'
import { listenControl, onMessages, send, type ControlRequest } from './control.js'
import { exitCodeOf } from './exit-code.js'
import { LogWriter } from './log.js'
import { CHANGES_FILE, LOG_FILE, SOCKET_FILE, type ContainerRecord } from './record.js'
import type { ContainerStore } from './store.js'
import { monitorAlive, processStartTime } from './store.js'
import { ContainerError } from './ids.js'

/** File bytes a native run may leave in its writable layer (the Rust core's copy-out cap). */
const MAX_NATIVE_CHANGE_BYTES = 64 << 20
/** How long a finished container waits for the `start -a` that asked it to hold its output. */
const ATTACH_WAIT_MS = 10_000

export interface SuperviseOptions {
  containers: ContainerStore
  images: Store
  record: ContainerRecord
  /** Hold output until the first attach (a `start -a` connects just after the start). */
  holdOutput?: boolean
  /** The terminal size for a tty container started from a terminal. */
  size?: { cols: number; rows: number }
  /** Hold output for a listener in this process (Supervised.onOutput: a foreground run). */
  local?: boolean
}

export interface Supervised {
  run: Run
  /** Output for a listener in this process, from the start (with `local`). */
  onOutput(listener: (chunk: OutputChunk) => void): () => void
  /** Settles once the exit is recorded (and the container removed, with --rm). */
  finished: Promise<{ code: number; status: ExitStatus }>
}

/** The stored image a container was made from, with its platform. */
export async function baseImage(images: Store, record: ContainerRecord): Promise<ResolvedImage> {
  const image = await images.runImage(record.config.image, parsePlatform(record.config.platform))
  if (image.digest !== record.config.imageDigest) {
    throw new Error(
      `the image ${record.config.image} was replaced since container ${record.config.name} was made from it ` +
        `(${record.config.imageDigest.slice(7, 19)}, now ${image.digest.slice(7, 19)}): tag the old image back, or make a new container`,
    )
  }
  return image
}

export async function runtimeFor(kind: ContainerRecord['config']['runtime'], images: Store): Promise<Runtime> {
  const { hostRuntime } = await import('../runtimes.js')
  if (kind === 'v86') (await import('../v86/node-assets.js')).tuneV8ForV86()
  const runtime = await hostRuntime(kind, images)
  const available = await runtime.available()
  if (!available.ok) throw new Error(`the ${kind} runtime is not available here: ${available.reason}`)
  return runtime
}

export async function supervise(opts: SuperviseOptions): Promise<Supervised> {
  const { containers, images, record } = opts
  // Claim the container under its lock, so two `start`s cannot both run it.
  await containers.update(record, (s) => {
    if (s.status === 'running' && monitorAlive(s.monitorPid, s.monitorStart)) {
      throw new ContainerError('running', `container ${record.config.name} is already running`)
    }
    const next = { ...s, status: 'running' as const, monitorPid: process.pid, startedAt: new Date().toISOString(), runs: s.runs + 1 }
    const start = processStartTime(process.pid)
    if (start !== undefined) next.monitorStart = start
    for (const k of ['exitCode', 'finishedAt', 'error', 'stoppedBy', 'pid', 'ports'] as const) delete next[k]
    return next
  })
  try {
    return await startClaimed(opts)
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e)
    await containers.update(record, (s) => {
      const next = { ...s, status: 'exited' as const, exitCode: 125, finishedAt: new Date().toISOString(), error }
      delete next.monitorPid
      delete next.monitorStart
      return next
    })
    throw e
  }
}

async function startClaimed(opts: SuperviseOptions): Promise<Supervised> {
  const { containers, images, record } = opts
  const { config } = record
  const base = await baseImage(images, record)
  const runtime = await runtimeFor(config.runtime, images)
  const changes = record.state.changes
  const image = containerImage(base, record.dir, changes)
  if (changes && config.runtime === 'native' && !images.hasBlob(changes.digest)) {
    // The native runtime unpacks layers from the store: lend it the changes layer (a blob
    // no image names, so `prune` may take it; the container's own copy stays the truth).
    const bytes = await fsp.readFile(join(record.dir, CHANGES_FILE))
    await images.withTemp((tmp) => images.putBytes(tmp, bytes, { digest: changes.digest }))
  }
  const spec: RunSpec = {
    image,
    ...(config.cmd ? { cmd: config.cmd } : {}),
    ...(config.entrypoint ? { entrypoint: config.entrypoint } : {}),
    env: config.env,
    ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
    ...(config.user !== undefined ? { user: config.user } : {}),
    ...(config.hostname !== undefined ? { hostname: config.hostname } : {}),
    ...(config.tty ? { tty: opts.size ?? { cols: 80, rows: 24 } } : {}),
    stdin: config.openStdin,
    limits: config.limits,
    ...(config.network ? { network: config.network } : {}),
    options: config.runtime === 'native' ? { keepChanges: true } : config.runtime === 'v86' ? { cold: config.cold === true } : {},
  }
  const run = await runtime.start(spec)
  if (!config.openStdin) run.closeStdin()

  const log = new LogWriter(join(record.dir, LOG_FILE))
  const attached = new Set<Socket>()
  let held: OutputChunk[] | undefined = opts.holdOutput ? [] : undefined
  // With holdOutput, the exit waits (a while) for the attach it holds the output for.
  let firstAttach!: () => void
  const attachedOnce = new Promise<void>((resolve) => (firstAttach = resolve))
  if (!opts.holdOutput) firstAttach()
  const locals = new Set<(chunk: OutputChunk) => void>()
  let localHeld: OutputChunk[] | undefined = opts.local ? [] : undefined
  const toClient = (socket: Socket, chunk: OutputChunk) => send(socket, { out: chunk.stream, d: Buffer.from(chunk.data).toString('base64') })
  run.onOutput((chunk) => {
    log.write(chunk.stream, chunk.data)
    if (held) held.push(chunk)
    if (localHeld) localHeld.push(chunk)
    for (const listener of locals) listener(chunk)
    for (const socket of attached) toClient(socket, chunk)
  })

  const onRequest = (socket: Socket, req: ControlRequest) => {
    try {
      switch (req.op) {
        case 'kill':
          run.kill(req.signal)
          send(socket, { ok: true })
          break
        case 'attach':
          attached.add(socket)
          for (const chunk of held ?? []) toClient(socket, chunk)
          held = undefined
          firstAttach()
          break
        case 'stdin':
          if (config.openStdin) run.write(Buffer.from(req.d, 'base64'))
          break
        case 'close-stdin':
          if (config.openStdin) run.closeStdin()
          break
        case 'resize':
          run.resize(req.cols, req.rows)
          break
      }
    } catch (e) {
      send(socket, { error: e instanceof Error ? e.message : String(e) })
    }
  }
  const server: Server = await listenControl(record.dir, (socket) => {
    socket.on('error', () => attached.delete(socket))
    socket.on('close', () => attached.delete(socket))
    onMessages<ControlRequest>(socket, (req) => onRequest(socket, req))
  })

  // exec joins PID 1's namespaces: record its host pid as soon as the core reports it.
  const pid1 = await hostPid(run)
  const ports = typeof run.facts.ports === 'string' ? run.facts.ports : undefined
  if (pid1 !== undefined || ports) {
    await containers.update(record, (s) => (s.status === 'running' ? { ...s, ...(pid1 !== undefined ? { pid: pid1 } : {}), ...(ports ? { ports } : {}) } : s))
  }

  const finished = run.exit.then(async (status) => {
    const code = exitCodeOf(status)
    let problem: string | undefined
    try {
      const tree = await treeAfter(run, config.runtime, image)
      if (tree) {
        const kept = await saveTree(base, record.dir, tree)
        await containers.update(record, (s) => {
          const next = { ...s }
          if (kept) next.changes = kept
          else delete next.changes
          return next
        })
      }
    } catch (e) {
      problem = `its changes could not be kept: ${e instanceof Error ? e.message : String(e)}`
    }
    await log.close()
    const reason = status.reason === 'exited' || status.reason === 'signaled' || status.reason === 'killed' ? undefined : (status.message ?? status.reason)
    await containers.update(record, (s) => {
      const next = { ...s, status: 'exited' as const, exitCode: code, finishedAt: new Date().toISOString() }
      delete next.monitorPid
      delete next.monitorStart
      delete next.pid
      // The core could not clean up (a cgroup or run dir left behind): say so in inspect.
      const cleanup = typeof run.facts.cleanupError === 'string' ? `cleanup: ${run.facts.cleanupError}` : undefined
      const error = [reason, problem, cleanup].filter(Boolean).join('; ')
      if (error) next.error = error
      return next
    })
    await Promise.race([attachedOnce, new Promise((resolve) => setTimeout(resolve, ATTACH_WAIT_MS).unref())])
    for (const socket of attached) {
      send(socket, { exit: code })
      socket.end()
    }
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await fsp.rm(join(record.dir, SOCKET_FILE), { force: true })
    if (config.runtime === 'v86') await (await import('../v86/node-assets.js')).stateWritesSettled()
    if (config.autoRemove) await containers.remove(record)
    return { code, status }
  })
  const onOutput = (listener: (chunk: OutputChunk) => void) => {
    locals.add(listener)
    for (const chunk of localHeld ?? []) listener(chunk)
    localHeld = undefined
    return () => locals.delete(listener)
  }
  return { run, onOutput, finished }
}

/** The container's PID 1 on the host (native runs report it once it runs), else undefined. */
async function hostPid(run: Run): Promise<number | undefined> {
  if (run.kind !== 'native') return undefined
  let done = false
  void run.exit.then(() => (done = true))
  while (!done && run.facts.pid1 === undefined) await new Promise((r) => setTimeout(r, 5))
  const pid = run.facts.pid1
  return typeof pid === 'number' ? pid : undefined
}

/** The container's whole tree after a run, from whichever runtime ran it. */
async function treeAfter(run: Run, kind: ContainerRecord['config']['runtime'], image: RunImage): Promise<RootFs | undefined> {
  if (kind === 'native') {
    const native = run as NativeRun
    if (!native.started) {
      native.discard() // it never ran: nothing it wrote
      return undefined
    }
    const { buildRootFs } = await import('../../web/oci/image.js')
    const written = toChangeSet(await native.changes({ fileBytes: MAX_NATIVE_CHANGE_BYTES, totalBytes: MAX_NATIVE_CHANGE_BYTES }))
    const cut = written.entries.find((e) => e.kind === 'file' && !(e.data instanceof Uint8Array))
    if (cut) throw new Error(`the run wrote more than ${MAX_NATIVE_CHANGE_BYTES >> 20} MiB of files (${cut.path} among them)`)
    return treeAfterNativeRun(await buildRootFs(image), written)
  }
  const withFiles = run as Run & { files?: () => RootFs | undefined | Promise<RootFs | undefined> }
  if (typeof withFiles.files !== 'function') return undefined
  return await withFiles.files()
}
