import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { UsageError, flag, listOption, stringOption, type ParsedArgs } from '../args.js'
import type { Command, CommandContext } from '../command.js'
import { parseDuration, parsePositiveNumber, parseSize } from '../units.js'
import { exitCodeOf } from '../../containers/exit-code.js'
import type { ExitStatus, Limits, Mount, Run, RunImage, RunSpec, Runtime } from '../../../web/runtimes/runtime.js'
import type { WasiRunSpec } from '../../../web/runtimes/wasi/runtime.js'
import type { SocketListener } from '../../../web/runtimes/wasi/sockets.js'

export const command: Command = {
  name: 'run',
  summary: 'run an image as a v86 VM, a WASI module or a native container',
  usage: '[--runtime v86|wasi|native] [OPTIONS] IMAGE|FILE.wasm [--] [CMD ARGS…]',
  description: [
    'Without --runtime boxplay picks a native container for a linux/386 or linux/amd64 image when',
    'the Rust core is available, the wasi runtime for wasi/wasm, and the v86 VM otherwise.',
    'Arguments after the image replace its Cmd, as in `docker run`; a WASI image gets them as its',
    "module's arguments. Options may also follow the image, up to the command or `--`.",
    '',
    "Exits with the program's code; 125 when boxplay itself fails, 126 when the command cannot be",
    'run, 127 when it is not found, 128+N when the program was ended by signal N, 124 when --timeout',
    'ended it (as timeout(1) does).',
  ].join('\n'),
  options: [
    { name: 'runtime', short: 'r', value: true, placeholder: 'R', description: 'v86, wasi or native' },
    { name: 'platform', value: true, placeholder: 'P', description: 'the image platform to run, e.g. linux/386' },
    { name: 'interactive', short: 'i', description: 'keep stdin open and pass it through' },
    { name: 'tty', short: 't', description: 'give the program a terminal' },
    { name: 'env', short: 'e', value: true, repeat: true, placeholder: 'K=V', description: 'set an environment variable' },
    { name: 'workdir', short: 'w', value: true, placeholder: 'DIR', description: 'working directory inside the image' },
    { name: 'user', short: 'u', value: true, placeholder: 'USER', description: 'user[:group] (name or id) to run as' },
    { name: 'entrypoint', value: true, placeholder: 'CMD', description: "replace the image's Entrypoint" },
    { name: 'hostname', value: true, placeholder: 'H', description: 'the container\'s host name' },
    { name: 'memory', short: 'm', value: true, placeholder: 'SIZE', description: 'memory limit, e.g. 64m' },
    { name: 'pids', value: true, placeholder: 'N', description: 'process limit (native)' },
    { name: 'cpus', value: true, placeholder: 'N', description: 'CPU limit as a fraction of CPUs, e.g. 0.5 (native)' },
    { name: 'timeout', value: true, placeholder: 'DUR', description: 'end the run after this long, e.g. 10s' },
    { name: 'dir', value: true, repeat: true, placeholder: 'HOST[::GUEST]', description: 'map a host directory in, read-write (wasi)' },
    { name: 'cold', description: 'boot the VM from scratch instead of a saved state (v86)' },
    { name: 'tcplisten', value: true, repeat: true, placeholder: '[IP:]PORT', description: 'hand the module a listening TCP socket, 127.0.0.1 unless IP (wasi)' },
    // Containers (server/containers/): a run with a record that ps, logs, stop, start … see.
    { name: 'detach', short: 'd', description: 'run in the background (a monitor process keeps it) and print its id' },
    { name: 'name', value: true, placeholder: 'NAME', description: 'name the container and keep it after it exits, until rm' },
    { name: 'rm', description: 'remove the container when it exits (with -d or --name)' },
    // Networks (server/net/): native runs only.
    { name: 'network', value: true, placeholder: 'NET', description: 'none (only loopback, the default), bridge, or a network from boxplay network create (native)' },
    { name: 'network-alias', value: true, repeat: true, placeholder: 'A', description: 'another name the container answers to on its network (native)' },
    { name: 'publish', short: 'p', value: true, repeat: true, placeholder: '[IP:]HOST:PORT', description: 'forward a host port (on 127.0.0.1 unless IP is given) to a container port, tcp (native, v86)' },
  ],
  positionals: { min: 1, names: 'an IMAGE (or a FILE.wasm) to run' },
  optionsEndAfter: 2,
  async run(ctx, args) {
    const [imageArg, ...rest] = args.positionals as [string, ...string[]]
    const cmd = rest[0] === '--' ? rest.slice(1) : rest
    const { chooseRuntime, hostRuntime, parseRuntimeKind } = await import('../../runtimes.js')
    const { parsePlatform } = await import('../../../web/oci/platform.js')
    const runtimeArg = stringOption(args, 'runtime')
    const platformArg = stringOption(args, 'platform')
    const want = {
      ...(runtimeArg ? { kind: parseRuntimeKind(runtimeArg) } : {}),
      ...(platformArg ? { platform: parsePlatform(platformArg) } : {}),
    }

    const store = await ctx.openStore()
    const made = new Map<string, Promise<Runtime>>()
    const runtimeOf = async (kind: Parameters<typeof hostRuntime>[0]) => {
      if (!made.has(kind)) {
        // A one-shot process may tune V8 for the emulator (restores a little faster: see tuneV8ForV86); a server
        // keeps V8's defaults for its other work. Set before v86's wasm is compiled.
        if (kind === 'v86') (await import('../../v86/node-assets.js')).tuneV8ForV86()
        made.set(kind, hostRuntime(kind, store))
      }
      return made.get(kind)!
    }

    let image: RunImage
    let runtime: Runtime
    if (isWasmFile(imageArg)) {
      const { wasmFileImage } = await import('../../../web/runtimes/wasi/wasm-file.js')
      if (want.kind && want.kind !== 'wasi') throw new UsageError(`${imageArg} is a WebAssembly module: only --runtime wasi runs it`, 'run')
      image = await wasmFileImage(await readFile(imageArg), { fileName: basename(imageArg), bare: true })
      ;({ runtime } = await chooseRuntime(runtimeOf, [image.platform], { kind: 'wasi' }))
    } else {
      const first = await store.runImage(imageArg, want.platform)
      const choice = await chooseRuntime(runtimeOf, first.platforms, want)
      runtime = choice.runtime
      image = samePlatform(first.platform, choice.platform) ? first : await store.runImage(imageArg, choice.platform)
    }

    const interactive = flag(args, 'interactive')
    const tty = flag(args, 'tty')
    const stdin = process.stdin
    if (tty && !stdin.isTTY) ctx.stderr.write('boxplay: warning: -t given but stdin is not a terminal\n')
    const spec: RunSpec = {
      image,
      ...(cmd.length ? { cmd } : {}),
      ...entrypointOf(args),
      env: listOption(args, 'env').map((e) => (e.includes('=') ? e : `${e}=${ctx.env[e] ?? ''}`)),
      ...optional('cwd', stringOption(args, 'workdir')),
      ...optional('user', stringOption(args, 'user')),
      ...optional('hostname', stringOption(args, 'hostname')),
      ...(tty ? { tty: { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 } } : {}),
      stdin: interactive,
      limits: limitsOf(args),
      mounts: listOption(args, 'dir').map(parseMount),
      options: { cold: flag(args, 'cold') },
      ...(await networkOf(args, runtime)),
    }

    // Containers: -d or --name keep a record (server/containers/run-container.ts).
    const detach = flag(args, 'detach')
    const name = stringOption(args, 'name')
    if (detach || name !== undefined) {
      // v86's published ports are listeners in this process, not in the container's monitor.
      if (runtime.kind === 'v86' && spec.network?.ports?.length) throw new UsageError('-p for a v86 run does not work with -d or --name yet: run it in the foreground', 'run')
      // The sockets would live in this process, not in the container's monitor.
      if (listOption(args, 'tcplisten').length > 0) throw new UsageError('--tcplisten does not work with -d or --name yet: run the server in the foreground', 'run')
      if (isWasmFile(imageArg)) throw new UsageError(`a bare ${imageArg} cannot become a container: load it as an image first`, 'run')
      // On a user network a container answers to its name, as in Docker.
      if (name !== undefined && spec.network?.name !== undefined && spec.network.name !== 'none') {
        spec.network = { ...spec.network, aliases: [name, ...(spec.network.aliases ?? []).filter((a) => a !== name)] }
      }
      const { runAsContainer } = await import('../../containers/run-container.js')
      const code = await runAsContainer(ctx, store, {
        image, imageArg, runtime, spec, detach, name, autoRemove: flag(args, 'rm'),
        attach: (run, subscribe) => attach(ctx, run, { interactive, tty: tty && stdin.isTTY === true }, subscribe),
      })
      await flush(ctx)
      if (ctx.stdout === process.stdout) process.exit(code)
      return code
    }

    // v86: -p gives the guest a NIC on a LAN of its own and forwards the ports (server/v86/publish.ts).
    const v86Ports = runtime.kind === 'v86' ? spec.network?.ports : undefined
    const run = v86Ports?.length
      ? await (await import('../../v86/publish.js')).startPublished(runtime as import('../../../web/runtimes/v86/runtime.js').V86Runtime, spec, v86Ports)
      : await runtime.start(await withTcpListeners(ctx, args, runtime, spec))
    const status = await attach(ctx, run, { interactive, tty: tty && stdin.isTTY === true })
    if (status.reason !== 'exited' && status.reason !== 'signaled') {
      ctx.stderr.write(`boxplay: ${status.message ?? `the run ended: ${status.reason}`}\n`)
    }
    await flush(ctx)
    // A state the run is keeping for the next one must reach the disk before process.exit.
    if (runtime.kind === 'v86') await (await import('../../v86/node-assets.js')).stateWritesSettled()
    const code = exitCode(status)
    // Worker pools and emulators keep timers alive; the run is over, so leave now.
    if (ctx.stdout === process.stdout) process.exit(code)
    return code
  },
}

/** --network, --network-alias and -p as a NetworkSpec; refused for runtimes without networks yet. */
async function networkOf(args: ParsedArgs, runtime: Runtime): Promise<Pick<RunSpec, 'network'>> {
  const name = stringOption(args, 'network')
  const aliases = listOption(args, 'network-alias')
  const published = listOption(args, 'publish')
  if (name === undefined && aliases.length === 0 && published.length === 0) return {}
  // v86 publishes ports into a LAN of its own (server/v86/publish.ts); it joins no named network yet.
  const v86PortsOnly = runtime.kind === 'v86' && name === undefined && aliases.length === 0
  if (runtime.kind !== 'native' && !v86PortsOnly) {
    const what = runtime.kind === 'v86' ? '--network and --network-alias are' : '--network, --network-alias and -p are'
    throw new UsageError(`${what} not supported yet by the ${runtime.kind} runtime: use --runtime native`, 'run')
  }
  const { parsePublish } = await import('../../net/publish.js')
  return { network: { ...(name !== undefined ? { name } : {}), ...(aliases.length ? { aliases } : {}), ...(published.length ? { ports: published.map(parsePublish) } : {}) } }
}

/** Wires the terminal to the run until it exits; Ctrl-C is forwarded, twice kills. */
async function attach(
  ctx: CommandContext,
  run: Run,
  io: { interactive: boolean; tty: boolean },
  subscribe: Run['onOutput'] = (listener) => run.onOutput(listener),
): Promise<ExitStatus> {
  subscribe((chunk) => (chunk.stream === 'stdout' ? ctx.stdout : ctx.stderr).write(chunk.data))
  const stdin = process.stdin
  const cleanups: Array<() => void> = []
  if (io.interactive) {
    if (io.tty) {
      stdin.setRawMode(true)
      cleanups.push(() => stdin.setRawMode(false))
      const onResize = () => run.resize(process.stdout.columns || 80, process.stdout.rows || 24)
      process.stdout.on('resize', onResize)
      cleanups.push(() => process.stdout.off('resize', onResize))
    }
    const onData = (data: Buffer) => run.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    const onEnd = () => run.closeStdin()
    stdin.on('data', onData).on('end', onEnd)
    cleanups.push(() => {
      stdin.off('data', onData).off('end', onEnd)
      stdin.pause()
    })
  } else {
    run.closeStdin()
  }
  // In raw mode Ctrl-C arrives as a byte for the program's own terminal; otherwise forward
  // the signal the way `docker run` does, and let a second one kill.
  process.removeAllListeners('SIGINT')
  process.removeAllListeners('SIGTERM')
  let interrupts = 0
  const forward = (signal: NodeJS.Signals) => () => run.kill(interrupts++ === 0 ? signal : 'SIGKILL')
  process.on('SIGINT', forward('SIGINT'))
  process.on('SIGTERM', forward('SIGTERM'))
  try {
    return await run.exit
  } finally {
    for (const cleanup of cleanups) cleanup()
  }
}

/** The CLI's exit code for a run (one definition, shared with containers' `wait` and `ps`). */
export const exitCode = exitCodeOf

/**
 * --tcplisten (wasi only), as wasmtime's: the sockets are opened here, before the run, so a
 * port in use fails at once (exit 125); the module gets them as fds after its --dir preopens.
 * Port 0 picks a free port, which is printed on stderr.
 */
async function withTcpListeners(ctx: CommandContext, args: ParsedArgs, runtime: Runtime, spec: RunSpec): Promise<RunSpec> {
  const addresses = listOption(args, 'tcplisten')
  if (addresses.length === 0) return spec
  if (runtime.kind !== 'wasi') {
    throw new UsageError(`--tcplisten hands a WASI module a listening socket: it needs --runtime wasi, not ${runtime.kind}`, 'run')
  }
  const { openTcpListener, parseListenAddress } = await import('../../wasi/tcp-listener.js')
  for (const a of addresses) {
    try {
      parseListenAddress(a)
    } catch (e) {
      throw new UsageError((e as Error).message, 'run')
    }
  }
  const listeners: SocketListener[] = []
  try {
    for (const a of addresses) listeners.push(await openTcpListener(a))
  } catch (e) {
    for (const l of listeners) l.close()
    throw e
  }
  addresses.forEach((a, i) => {
    if (parseListenAddress(a).port === 0) ctx.stderr.write(`boxplay: listening on ${listeners[i]!.address}\n`)
  })
  const wasiSpec: WasiRunSpec = { ...spec, listeners }
  return wasiSpec
}

function isWasmFile(arg: string): boolean {
  return arg.endsWith('.wasm') && existsSync(arg)
}

function samePlatform(a: { os: string; architecture: string; variant?: string }, b: typeof a): boolean {
  return a.os === b.os && a.architecture === b.architecture && (b.variant === undefined || a.variant === b.variant)
}

function entrypointOf(args: ParsedArgs): Pick<RunSpec, 'entrypoint'> {
  const e = stringOption(args, 'entrypoint')
  if (e === undefined) return {}
  return { entrypoint: e === '' ? [] : [e] }
}

function limitsOf(args: ParsedArgs): Limits {
  const limits: Limits = {}
  const memory = stringOption(args, 'memory')
  if (memory !== undefined) limits.memoryBytes = parseSize(memory, 'memory')
  const pids = stringOption(args, 'pids')
  if (pids !== undefined) limits.pids = parsePositiveNumber(pids, 'pids', true)
  const cpus = stringOption(args, 'cpus')
  if (cpus !== undefined) limits.cpus = parsePositiveNumber(cpus, 'cpus', false)
  const timeout = stringOption(args, 'timeout')
  if (timeout !== undefined) limits.timeoutMs = parseDuration(timeout, 'timeout')
  return limits
}

/** `HOST[::GUEST]`, like wasmtime's --dir; the guest path defaults to the host path. */
function parseMount(text: string): Mount {
  const [hostPath, guestPath] = text.split('::', 2) as [string, string?]
  if (!hostPath) throw new UsageError(`--dir takes HOST[::GUEST], not "${text}"`, 'run')
  if (!existsSync(hostPath)) throw new UsageError(`--dir ${hostPath}: no such directory on this machine`, 'run')
  return { hostPath, guestPath: guestPath || hostPath }
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>)
}

function flush(ctx: CommandContext): Promise<void> {
  return new Promise((resolve) => ctx.stdout.write('', () => ctx.stderr.write('', () => resolve())))
}
