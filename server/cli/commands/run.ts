import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { constants } from 'node:os'
import { basename } from 'node:path'
import { UsageError, flag, listOption, stringOption, type ParsedArgs } from '../args.js'
import type { Command, CommandContext } from '../command.js'
import { parseDuration, parsePositiveNumber, parseSize } from '../units.js'
import { EXIT_FAILURE } from '../main.js'
import type { ExitStatus, Limits, Mount, Run, RunImage, RunSpec, Runtime } from '../../../web/runtimes/runtime.js'

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
    { name: 'publish', short: 'p', value: true, repeat: true, placeholder: '[IP:]HOST:GUEST', description: 'publish a guest TCP port on the host (v86; 127.0.0.1 unless IP is given)' },
    { name: 'cold', description: 'boot the VM from scratch instead of a saved state (v86)' },
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
    }

    const publish = listOption(args, 'publish')
    let run: Run
    if (publish.length > 0) {
      // v86 only for now: native publishing comes with server/net (another branch).
      if (runtime.kind !== 'v86') throw new UsageError(`-p is not supported yet for the ${runtime.kind} runtime: use --runtime v86`, 'run')
      const { parsePublish, startPublished } = await import('../../v86/publish.js')
      const { V86Runtime } = await import('../../../web/runtimes/v86/runtime.js')
      if (!(runtime instanceof V86Runtime)) throw new UsageError('-p needs the v86 runtime', 'run')
      let ports
      try {
        ports = publish.map(parsePublish)
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err), 'run')
      }
      run = await startPublished(runtime, spec, ports)
    } else {
      run = await runtime.start(spec)
    }
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

/** Wires the terminal to the run until it exits; Ctrl-C is forwarded, twice kills. */
async function attach(ctx: CommandContext, run: Run, io: { interactive: boolean; tty: boolean }): Promise<ExitStatus> {
  run.onOutput((chunk) => (chunk.stream === 'stdout' ? ctx.stdout : ctx.stderr).write(chunk.data))
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

export function exitCode(status: ExitStatus): number {
  // 126/127 say the command could not be run or found; any other failure is boxplay's own.
  if (status.reason === 'error') return status.code >= 125 ? status.code : EXIT_FAILURE
  // Whatever signal ended it, a run stopped by --timeout exits as timeout(1) does.
  if (status.reason === 'timeout') return 124
  if (status.signal) {
    const n = (constants.signals as Record<string, number | undefined>)[status.signal]
    if (n !== undefined) return 128 + n
  }
  return status.code
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
