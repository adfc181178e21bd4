import { UsageError, flag, listOption, stringOption } from '../args.js'
import type { Command } from '../command.js'
import type { Runtime } from '../../../web/runtimes/runtime.js'

export const command: Command = {
  name: 'build',
  summary: 'build an image from a Dockerfile; each RUN runs in a native container or the v86 VM',
  usage: '[-t NAME:TAG]… [-f FILE] [--build-arg K=V]… [--target STAGE] [--platform P] [--runtime native|v86] [--no-cache] [--progress plain|tty|auto] CONTEXT',
  description: [
    'As `docker build`: one line per step, CACHED for a step taken from the build cache, the time',
    'of each step, then the image digest and its names. RUN steps have no network. The cache key',
    'of a step is its parent\'s key, the instruction with its resolved args, env, user, workdir and',
    'shell, the platform, and for COPY/ADD the sources\' contents: never the runtime.',
    'Layers are deterministic (sorted entries, times clamped to SOURCE_DATE_EPOCH, pass it with',
    '--build-arg; default the base image\'s creation time), so the same inputs give the same digest.',
  ].join('\n'),
  options: [
    { name: 'tag', short: 't', value: true, repeat: true, placeholder: 'NAME:TAG', description: 'name the result (repeatable)' },
    { name: 'file', short: 'f', value: true, placeholder: 'FILE', description: 'the Dockerfile (default CONTEXT/Dockerfile)' },
    { name: 'build-arg', value: true, repeat: true, placeholder: 'K=V', description: 'set a build argument' },
    { name: 'target', value: true, placeholder: 'STAGE', description: 'build up to this stage' },
    { name: 'platform', value: true, placeholder: 'P', description: 'the platform to build for (default: the base image\'s)' },
    { name: 'runtime', short: 'r', value: true, placeholder: 'R', description: 'where RUN steps run: native or v86 (same digests)' },
    { name: 'no-cache', description: 'run every step, ignoring the build cache' },
    { name: 'progress', value: true, placeholder: 'plain|tty|auto', description: 'output style: plain (one line per event), tty (a live view, plain when not a terminal); default auto, tty on a terminal' },
    { name: 'quiet', short: 'q', description: 'print only the image digest' },
  ],
  positionals: { min: 1, max: 1, names: 'the build CONTEXT directory' },
  async run(ctx, args) {
    const { buildImage } = await import('../../build/build.js')
    const { parsePlatform } = await import('../../../web/oci/platform.js')
    const { hostRuntime, parseRuntimeKind } = await import('../../runtimes.js')
    const { DockerfileError } = await import('../../../web/build/dockerfile-model.js')
    const kind = parseRuntimeKind(stringOption(args, 'runtime') ?? 'native')
    if (kind === 'wasi') throw new UsageError('--runtime wasi: RUN steps need a Linux shell; use native or v86', 'build')
    if (kind === 'v86') (await import('../../v86/node-assets.js')).tuneV8ForV86()
    const progress = stringOption(args, 'progress') ?? 'auto'
    if (progress !== 'plain' && progress !== 'tty' && progress !== 'auto') throw new UsageError(`--progress takes plain, tty or auto, not ${progress}`, 'build')
    const buildArgs = new Map<string, string>()
    for (const a of listOption(args, 'build-arg')) {
      const eq = a.indexOf('=')
      if (eq < 0) {
        // `--build-arg NAME` takes the value from the environment, as docker does.
        if (ctx.env[a] !== undefined) buildArgs.set(a, ctx.env[a]!)
      } else buildArgs.set(a.slice(0, eq), a.slice(eq + 1))
    }
    const store = await ctx.openStore()
    // Loaded and asked only when a RUN has to run: a fully cached build needs no runtime.
    let ready: Promise<Runtime> | undefined
    const load = (): Promise<Runtime> =>
      (ready ??= hostRuntime(kind, store).then(async (r) => {
        const a = await r.available()
        if (!a.ok) throw new Error(`the ${kind} runtime is not available here: ${a.reason}`)
        return r
      }))
    const runtime: Runtime = {
      kind,
      available: async () => (await load()).available(),
      supports: () => true,
      start: async (spec) => (await load()).start(spec),
    }
    const quiet = flag(args, 'quiet')
    const out = ctx.stderr
    const started = Date.now()
    const { BuildLog } = await import('../../../web/build/build-log.js')
    // tty (and auto) redraw a live view when the log goes to a terminal, else plain lines.
    const live = progress !== 'plain' && out.isTTY === true && !quiet ? new (await import('../../build/tty-progress.js')).TtyProgress(out) : undefined
    const plain = new BuildLog((line) => out.write(`${line}\n`))
    const log = live ?? plain
    let result
    try {
      result = await buildImage(store, {
        contextDir: args.positionals[0]!,
        ...(stringOption(args, 'file') !== undefined ? { file: stringOption(args, 'file')! } : {}),
        tags: listOption(args, 'tag'),
        buildArgs,
        ...(stringOption(args, 'target') !== undefined ? { target: stringOption(args, 'target')! } : {}),
        ...(stringOption(args, 'platform') !== undefined ? { platform: parsePlatform(stringOption(args, 'platform')!) } : {}),
        runtime,
        noCache: flag(args, 'no-cache'),
        onEvent: (e) => {
          if (!quiet) log.event(e)
        },
      })
    } catch (e) {
      live?.failed()
      if (e instanceof DockerfileError) {
        ctx.stderr.write(`boxplay: ${e.message}\n`)
        return 1
      }
      throw e
    }
    if (quiet) {
      ctx.stdout.write(`${result.digest}\n`)
      return 0
    }
    log.done({ ...result, ms: Date.now() - started })
    ctx.stdout.write(`${result.digest}\n`)
    if (kind === 'v86') {
      // The emulator keeps timers alive; the build is over, so leave once states are written.
      await (await import('../../v86/node-assets.js')).stateWritesSettled()
      if (ctx.stdout === process.stdout) await new Promise<void>((r) => ctx.stdout.write('', () => r())).then(() => process.exit(0))
    }
    return 0
  },
}
