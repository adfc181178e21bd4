// `boxplay run -d` and `boxplay run --name N`: the run becomes a container with a record.
// Detached, a monitor process runs it and the CLI prints its id once it runs; in the
// foreground this process supervises it and the terminal is attached as for any run.

import type { CommandContext } from '../cli/command.js'
import type { OutputChunk, Run, RunImage, RunSpec, Runtime } from '../../web/runtimes/runtime.js'
import { formatPlatform } from '../../web/oci/platform.js'
import { resolveProcess } from '../../web/runtimes/runtime.js'
import type { Store } from '../store/store.js'
import { ContainerError, validName } from './ids.js'
import { launchMonitor } from './launch.js'
import type { ContainerConfig, ContainerRecord, ContainerRuntime } from './record.js'
import { ContainerStore } from './store.js'
import { supervise } from './supervisor.js'

export interface ContainerRunRequest {
  image: RunImage & { configFile?: { config?: { StopSignal?: string } } }
  /** The image as the user named it. */
  imageArg: string
  runtime: Runtime
  spec: RunSpec
  detach: boolean
  name: string | undefined
  autoRemove: boolean
  /** Wires the terminal to a foreground run (run.ts's attach) and returns its exit. */
  attach(run: Run, subscribe: (listener: (chunk: OutputChunk) => void) => () => void): Promise<unknown>
}

export async function createContainer(req: Omit<ContainerRunRequest, 'detach' | 'attach'>): Promise<ContainerRecord> {
  const { spec, image } = req
  if (req.runtime.kind === 'remote') throw new ContainerError('unsupported', 'containers run on this machine: the remote runtime cannot keep one')
  if (spec.mounts && spec.mounts.length > 0) throw new ContainerError('unsupported', '--dir is not supported for kept containers yet (-d, --name): run without them')
  const proc = resolveProcess(spec)
  const name = req.name === undefined ? undefined : validName(req.name)
  const config: Omit<ContainerConfig, 'id' | 'name' | 'created'> = {
    image: req.imageArg,
    imageDigest: image.digest,
    platform: formatPlatform(image.platform),
    runtime: req.runtime.kind as ContainerRuntime,
    path: proc.argv[0]!,
    args: proc.argv.slice(1),
    ...(spec.cmd ? { cmd: spec.cmd } : {}),
    ...(spec.entrypoint ? { entrypoint: spec.entrypoint } : {}),
    env: spec.env ?? [],
    ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
    ...(spec.user !== undefined ? { user: spec.user } : {}),
    ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}),
    tty: spec.tty !== undefined,
    openStdin: spec.stdin === true,
    limits: spec.limits ?? {},
    ...(spec.options?.cold === true ? { cold: true } : {}),
    ...(spec.network ? { network: spec.network } : {}),
    autoRemove: req.autoRemove,
    stopSignal: image.configFile?.config?.StopSignal || 'SIGTERM',
  }
  return new ContainerStore().create(config, name)
}

/** Returns the exit code for the CLI. */
export async function runAsContainer(ctx: CommandContext, store: Store, req: ContainerRunRequest): Promise<number> {
  const record = await createContainer(req)
  const containers = new ContainerStore()
  if (req.detach) {
    try {
      await launchMonitor(record, { home: store.home, ...(req.spec.tty ? { size: req.spec.tty } : {}) })
    } catch (e) {
      if (req.autoRemove) await containers.remove(record)
      throw e
    }
    ctx.stdout.write(`${record.config.id}\n`)
    return 0
  }
  const supervised = await supervise({ containers, images: store, record, local: true, ...(req.spec.tty ? { size: req.spec.tty } : {}) })
  await req.attach(supervised.run, supervised.onOutput)
  const { code, status } = await supervised.finished
  if (status.reason !== 'exited' && status.reason !== 'signaled') ctx.stderr.write(`boxplay: ${status.message ?? `the run ended: ${status.reason}`}\n`)
  return code
}
