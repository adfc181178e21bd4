// The native runtime: real containers on this host's kernel through the Rust core
// (crates/). Turns a RunSpec plus a stored image into the core's spec and runs it.
//
// Layer directories come from the store (`layerDirs`, TOP layer first). As root the core
// shifts their owners once into the container's id range (100000+, see
// crates/boxplay-container/src/idmap.rs) so container root is never host root.

import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { arch, platform, release } from 'node:os'
import { join } from 'node:path'
import type { Platform } from '../../web/oci/platform.js'
import { resolveProcess, type Availability, type Run, type RunImage, type RunSpec, type Runtime } from '../../web/runtimes/runtime.js'
import { loadCore, type LoadedCore } from './core.js'
import type { CoreSpec } from './core-spec.js'
import { hostRunsI386 } from './host-arch.js'
import { readHostProbes, writeHostProbes } from './host-probes.js'
import { HELPER_FILE, coreDir, defaultStateRoot } from './paths.js'
import { NativeRun } from './run.js'
import type { Attachment } from '../net/attach.js'
import { NO_NETWORK } from '../net/names.js'
import { networksDir } from '../net/records.js'

export interface NativeRuntimeOptions {
  /** The image's unpacked layers, top first (Store.layerDirs). */
  layerDirs(image: RunImage): Promise<string[]>
  /** Where run directories go (default: see paths.ts defaultStateRoot). */
  stateRoot?: string
}

/** What the runtime adds to a RunSpec through `spec.options` (all optional). */
export interface NativeOptions {
  /** Capability names for a root process instead of Docker's default set. */
  capabilities?: string[]
  /** false turns the default seccomp filter off (for comparisons in lessons and tests). */
  seccomp?: boolean
  rlimits?: CoreSpec['rlimits']
  /**
   * Keep the run's writes after it exits, for NativeRun.files()/changes(). They sit in the
   * run dir on the host until read, discard(), this process's exit, or the sweep of a later
   * server. As root the container still writes to a tmpfs of scratchBytes (copied out after
   * exit, at most 64 MiB of file bytes: bigger files keep their size, not their bytes);
   * rootless, it writes to the run dir on disk directly (the user's own quota applies).
   */
  keepChanges?: boolean
  /** Size of the tmpfs that holds the container's writes, in bytes (default 1 GiB). */
  scratchBytes?: number
}

const DEFAULT_RLIMITS: CoreSpec['rlimits'] = [{ kind: 'NOFILE', soft: 1024, hard: 4096 }]

export class NativeRuntime implements Runtime {
  readonly kind = 'native' as const
  private swept = false
  private probe: Promise<Availability> | undefined

  constructor(private readonly opts: NativeRuntimeOptions) {}

  get stateRoot(): string {
    return this.opts.stateRoot ?? defaultStateRoot()
  }

  async available(): Promise<Availability> {
    if (platform() !== 'linux') return { ok: false, reason: `native containers need Linux (this is ${platform()})` }
    if (arch() !== 'x64') return { ok: false, reason: `the native core is built for x86_64 only (this is ${arch()})` }
    const max = readNumber('/proc/sys/user/max_user_namespaces')
    if (max === 0) return { ok: false, reason: 'user namespaces are disabled (sysctl user.max_user_namespaces = 0)' }
    if (process.getuid?.() !== 0 && readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === 1) {
      return { ok: false, reason: 'unprivileged user namespaces are restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns = 1): run as root' }
    }
    if (!existsSync('/proc/self/ns/user')) return { ok: false, reason: 'this kernel has no user namespaces' }
    let helper: string
    try {
      helper = loadCore().helper
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : String(err) }
    }
    // Ask the kernel, not just sysctls: seccomp in an outer container, AppArmor or an LSM
    // can refuse namespaces that every setting above allows.
    this.probe ??= readHostProbes(this.stateRoot, helper).namespaces
      ? Promise.resolve({ ok: true })
      : probeNamespaces(helper).then((answer) => {
          if (answer.ok) writeHostProbes(this.stateRoot, { namespaces: true }, helper)
          return answer
        })
    const probed = await this.probe
    if (!probed.ok) return probed
    // A server asks this at start: the moment to clear what a killed predecessor left.
    this.sweepOnce()
    return { ok: true }
  }

  /** linux/amd64 natively, linux/386 when the kernel's IA32 emulation runs it. */
  supports(p: Platform): boolean {
    if (p.os !== 'linux' || arch() !== 'x64') return false
    return p.architecture === 'amd64' || (p.architecture === '386' && this.runsI386())
  }

  private runsI386(): boolean {
    const helper = join(coreDir(), HELPER_FILE)
    const known = readHostProbes(this.stateRoot, helper).i386
    if (known !== undefined) return known
    const answer = hostRunsI386()
    writeHostProbes(this.stateRoot, { i386: answer }, helper)
    return answer
  }

  /** Removes what runs of a killed server left behind (their owner pid is gone). */
  sweep(): { removed: string[]; failed: string[] } {
    const { core } = loadCore()
    return JSON.parse(core.sweep(this.stateRoot)) as { removed: string[]; failed: string[] }
  }

  private async sweepOnce(): Promise<void> {
    if (this.swept) return
    this.swept = true
    const { failed } = this.sweep()
    for (const f of failed) process.stderr.write(`boxplay: cleaning up after an earlier server: ${f}\n`)
    // Network leases of runs whose owner died (their veths went with their netns already).
    if (existsSync(networksDir(this.stateRoot))) await (await import('../net/attach.js')).pruneAllLeases(this.stateRoot)
  }

  async start(spec: RunSpec): Promise<Run> {
    if (!this.supports(spec.image.platform)) {
      throw new Error(`the native runtime cannot run ${spec.image.platform.os}/${spec.image.platform.architecture} images on this ${arch()} host`)
    }
    const loaded = loadCore()
    await this.sweepOnce()
    const proc = resolveProcess(spec)
    const options = (spec.options ?? {}) as NativeOptions
    const run = new NativeRun(loaded.core, spec.limits?.memoryBytes, spec.image)
    const lowerDirs = await this.opts.layerDirs(spec.image)
    const id = run.id.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) + '-' + randomBytes(3).toString('hex')
    const hostname = spec.hostname ?? randomBytes(6).toString('hex')
    run.facts.hostname = hostname
    run.facts.containerId = id
    run.facts.kernel = release() // a container borrows the host's kernel
    const network = await joinNetwork(this.stateRoot, spec, id, hostname, run)
    run.phase('prepare')
    const coreSpec: CoreSpec = {
      id,
      ownerPid: process.pid,
      stateRoot: this.stateRoot,
      lowerDirs,
      argv: proc.argv,
      env: proc.env,
      cwd: proc.cwd,
      user: proc.user,
      hostname,
      tty: spec.tty !== undefined,
      limits: {
        ...(spec.limits?.memoryBytes !== undefined ? { memoryBytes: spec.limits.memoryBytes } : {}),
        ...(spec.limits?.pids !== undefined ? { pids: spec.limits.pids } : {}),
        ...(spec.limits?.cpus !== undefined ? { cpus: spec.limits.cpus } : {}),
      },
      rlimits: options.rlimits ?? DEFAULT_RLIMITS,
      ...(options.capabilities ? { capabilities: options.capabilities } : {}),
      seccomp: options.seccomp ?? true,
      ...(options.keepChanges ? { keepChanges: true } : {}),
      ...(options.scratchBytes !== undefined ? { scratchBytes: options.scratchBytes } : {}),
      mounts: [
        ...(spec.mounts ?? []).map((m) => ({ hostPath: m.hostPath, guestPath: m.guestPath, readonly: m.readonly ?? false })),
        ...(network ? [{ hostPath: network.hostsFile, guestPath: '/etc/hosts', readonly: true }] : []),
      ],
      ...(network ? { network: network.core } : {}),
      ...(spec.network?.ports?.length ? { ports: spec.network.ports.map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort })) } : {}),
    }
    try {
      spawnInto(loaded, run, coreSpec, spec)
    } catch (err) {
      await network?.release()
      throw err
    }
    // The lease goes when the run has ended, however it ended, before its exit is reported.
    if (network) run.onEnded(() => network.release())
    return run
  }
}

/** The network the spec asks for (none: nothing to join), leased for this run. */
async function joinNetwork(stateRoot: string, spec: RunSpec, runId: string, hostname: string, run: NativeRun): Promise<Attachment | undefined> {
  const name = spec.network?.name ?? NO_NETWORK
  const aliases = spec.network?.aliases ?? []
  run.facts.network = name
  if (name === NO_NETWORK && aliases.length === 0) return undefined
  const { attachRun, checkAliases } = await import('../net/attach.js')
  checkAliases(name, aliases)
  const attachment = await attachRun(stateRoot, name, { runId, names: [hostname, ...aliases.filter((a) => a !== hostname)] })
  run.facts.ipAddress = attachment.ip
  return attachment
}

function spawnInto(loaded: LoadedCore, run: NativeRun, coreSpec: CoreSpec, spec: RunSpec): void {
  const handle = loaded.core.spawn(
    loaded.helper,
    JSON.stringify(coreSpec),
    spec.tty?.cols ?? 0,
    spec.tty?.rows ?? 0,
    spec.stdin ?? false,
    run.onCoreMessage,
  )
  run.attach(handle, spec.limits?.timeoutMs)
}

/** Runs `boxplay-init --probe`, which clones into the namespaces a run needs. */
function probeNamespaces(helper: string): Promise<Availability> {
  return new Promise((resolve) => {
    execFile(helper, ['--probe'], { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true })
      const why = String(stderr).trim() || err.message
      resolve({ ok: false, reason: `this host refuses the namespaces a container needs (${why})` })
    })
  })
}

function readNumber(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim())
  } catch {
    return undefined
  }
}
