// `boxplay serve`: the playground and the native runtime behind a local HTTP + WebSocket
// server (server/http/), guarded by an access token printed in the URL, like Jupyter's.

import { flag, stringOption, UsageError } from '../args.js'
import type { Command } from '../command.js'

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${value}"`, 'serve')
  return n
}

export const command: Command = {
  name: 'serve',
  summary: 'start the playground: the web app and the native runtime on a local server',
  usage: '[--host H] [--port P] [--no-open] [--token T] [--allow-origin URL] [--max-runs N]',
  description:
    'Prints the URL to open, with an access token (every API request and WebSocket needs it;\n' +
    'the page swaps it for a cookie). --port 0 picks a free port. The server listens on\n' +
    '127.0.0.1 unless --host names another address, which also needs --allow-remote since\n' +
    'anyone who can reach it and has the token can run containers on this machine.\n' +
    '--allow-origin lets pages of one other origin (e.g. a lesson site) call the API.\n' +
    'Ctrl-C (SIGINT) or SIGTERM kills every run, cleans it up, then exits.',
  options: [
    { name: 'host', value: true, placeholder: 'H', description: 'address to listen on (default 127.0.0.1)' },
    { name: 'port', short: 'p', value: true, placeholder: 'P', description: 'port (default 4173; 0 picks a free one)' },
    { name: 'no-open', description: 'do not open a browser' },
    { name: 'token', value: true, placeholder: 'T', description: 'the access token (default: a random one)' },
    { name: 'allow-origin', value: true, placeholder: 'URL', description: 'one other origin allowed to use the API (CORS + WebSocket)' },
    { name: 'allow-remote', description: 'allow --host to be a non-loopback address' },
    { name: 'max-runs', value: true, placeholder: 'N', description: 'concurrent runs before the server answers "busy" (default 32)' },
  ],
  positionals: { min: 0, max: 0, names: 'no arguments' },
  async run(ctx, args) {
    const host = stringOption(args, 'host') ?? '127.0.0.1'
    if (!LOOPBACK.has(host) && !flag(args, 'allow-remote')) {
      throw new UsageError(`--host ${host} would let other machines reach this server, which runs code: add --allow-remote if you mean it`, 'serve')
    }
    const port = intOption(stringOption(args, 'port'), 'port', 0, 65535) ?? 4173
    const maxRuns = intOption(stringOption(args, 'max-runs'), 'max-runs', 1, 1024)
    const token = stringOption(args, 'token')
    if (token !== undefined && !/^[A-Za-z0-9._~-]{16,256}$/.test(token)) {
      throw new UsageError('--token must be 16 to 256 characters of letters, digits and . _ ~ -', 'serve')
    }
    const { parseAllowOrigin } = await import('../../http/guards.js')
    let allowOrigin: string | undefined
    const originText = stringOption(args, 'allow-origin')
    if (originText !== undefined) {
      try {
        allowOrigin = parseAllowOrigin(originText)
      } catch (e) {
        throw new UsageError((e as Error).message, 'serve')
      }
    }

    const [{ startServer }, { storeImages, defaultVerbs }, { openBrowser }, { NativeRuntime }, paths, { existsSync }, { join }] = await Promise.all([
      import('../../http/server.js'),
      import('../../http/store-images.js'),
      import('../../http/open-browser.js'),
      import('../../native/index.js'),
      import('../../store/paths.js'),
      import('node:fs'),
      import('node:path'),
    ])
    const store = await ctx.openStore()
    const native = new NativeRuntime({ layerDirs: (image) => store.layerDirs(image) })
    const staticDir = join(paths.packageRoot(), 'dist', 'playground')
    let server
    try {
      server = await startServer({
        host,
        port,
        ...(token !== undefined ? { token } : {}),
        ...(allowOrigin !== undefined ? { allowOrigin } : {}),
        ...(maxRuns !== undefined ? { maxRuns } : {}),
        images: storeImages(store, defaultVerbs),
        runtimes: [native],
        ...(existsSync(join(staticDir, 'index.html')) ? { staticDir } : {}),
        version: paths.packageVersion(),
        log: (m) => ctx.stderr.write(`boxplay serve: ${m}\n`),
      })
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      if (err.code === 'EADDRINUSE') throw new Error(`port ${port} on ${host} is in use: choose another with --port, or --port 0 for a free one`)
      if (err.code === 'EADDRNOTAVAIL') throw new Error(`this machine has no address ${host}: choose another --host`)
      throw e
    }

    // The CLI's own handlers exit at once; a server must first kill and clean up its runs.
    // Ours go in before theirs come out: with no listener at all for a moment, a signal
    // arriving then would be lost.
    const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
      for (const name of ['SIGINT', 'SIGTERM'] as const) {
        const before = process.listeners(name)
        process.once(name, resolve)
        for (const l of before) process.off(name, l)
      }
    })

    if (!LOOPBACK.has(host)) {
      ctx.stderr.write(`boxplay serve: WARNING: listening on ${host}: anyone who can reach this address and has the token can run containers here\n`)
    }
    const availability = await native.available()
    if (!availability.ok) ctx.stderr.write(`boxplay serve: the native runtime is unavailable: ${availability.reason}\n`)
    else void warmLayers(store, native)
    if (!existsSync(join(staticDir, 'index.html'))) {
      ctx.stderr.write('boxplay serve: the playground is not built (dist/playground): run `npm run setup`; the API works meanwhile\n')
    }
    ctx.stdout.write(`boxplay is serving the playground at:\n\n    ${server.url}\n\nPress Ctrl-C to stop.\n`)
    if (!flag(args, 'no-open') && openBrowser(server.url)) ctx.stderr.write('boxplay serve: opened it in your browser\n')

    const signal = await stopSignal
    // A second Ctrl-C while cleaning up means "now".
    process.once('SIGINT', () => process.exit(130))
    const live = server.runs.running
    ctx.stderr.write(`\nboxplay serve: ${signal}: stopping${live ? `, killing ${live} run${live === 1 ? '' : 's'}` : ''}…\n`)
    await server.close()
    ctx.stderr.write('boxplay serve: stopped\n')
    return 0
  },
}

/**
 * Unpacks the layers of every stored image the native runtime can run, in the background, so
 * a first run does not wait for it. Failures are left for that run to report.
 */
async function warmLayers(store: import('../../store/store.js').Store, native: import('../../native/index.js').NativeRuntime): Promise<void> {
  for (const entry of await store.entries().catch(() => [])) {
    if (!entry.name) continue
    try {
      const image = await store.runImage(entry.name)
      if (native.supports(image.platform)) await store.layerDirs(image)
    } catch {
      // not runnable here (another platform, layers not pulled): nothing to warm
    }
  }
}
