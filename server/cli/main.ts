#!/usr/bin/env node
// The `boxplay` command. Starts fast: only this file and the registry load up front; each
// command's module (and the store, web/oci …) is imported when that command runs.
//   boxplay [--home DIR] COMMAND [ARGS…]      boxplay --help | help CMD | CMD --help | --version

import { type OptionSpec, UsageError, parseArgs } from './args.js'
import type { Command, CommandContext } from './command.js'
import { commands } from './commands/index.js'

/** Exit status for boxplay's own failures and bad usage (Docker uses 125 the same way). */
export const EXIT_FAILURE = 125

const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { name: 'home', value: true, placeholder: 'DIR', description: 'the image store (default $BOXPLAY_HOME, else ~/.local/share/boxplay)' },
  { name: 'help', short: 'h', description: 'show help' },
]

function optionLines(options: readonly OptionSpec[]): string {
  return options
    .map((o) => {
      const left = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.placeholder ?? 'VALUE'}` : ''}`
      return `  ${left.padEnd(28)} ${o.description}`
    })
    .join('\n')
}

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'boxplay: run one OCI image three ways (a v86 VM, a WASI module, a native container)',
    '',
    'Usage: boxplay [--home DIR] COMMAND [ARGS…]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    optionLines(GLOBAL_OPTIONS),
    '  -v, --version                show the version',
    '',
    "Run 'boxplay help COMMAND' (or 'boxplay COMMAND --help') for a command's options.",
    '',
  ].join('\n')
}

export function commandHelp(c: Command): string {
  return [
    `Usage: boxplay ${c.name} ${c.usage}`,
    '',
    c.summary.charAt(0).toUpperCase() + c.summary.slice(1) + '.',
    ...(c.description ? ['', c.description] : []),
    '',
    'Options:',
    optionLines([...c.options, ...GLOBAL_OPTIONS]),
    '',
  ].join('\n')
}

async function version(): Promise<string> {
  const { packageVersion } = await import('../store/paths.js')
  return `boxplay ${packageVersion()}\n`
}

export async function main(argv: readonly string[], io: Pick<CommandContext, 'stdout' | 'stderr' | 'env'>): Promise<number> {
  let commandName: string | undefined
  try {
    // Global options may come before the command name.
    let i = 0
    let home: string | undefined
    for (; i < argv.length; i++) {
      const a = argv[i]!
      if (a === '--home') {
        home = argv[++i]
        if (home === undefined) throw new UsageError('option --home needs a value (DIR)')
      } else if (a.startsWith('--home=')) home = a.slice(7)
      else if (a === '--help' || a === '-h') {
        io.stdout.write(mainHelp())
        return 0
      } else if (a === '--version' || a === '-v') {
        io.stdout.write(await version())
        return 0
      } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a} (global options are --home, --help, --version)`)
      else break
    }
    commandName = argv[i]
    let rest = argv.slice(i + 1)
    if (commandName === undefined) {
      io.stderr.write(mainHelp())
      return EXIT_FAILURE
    }
    if (commandName === 'help') {
      const about = rest.find((a) => !a.startsWith('-'))
      if (about === undefined) {
        io.stdout.write(mainHelp())
        return 0
      }
      commandName = about
      rest = ['--help']
    }
    if (commandName === 'version') {
      io.stdout.write(await version())
      return 0
    }
    const entry = commands.find((c) => c.name === commandName)
    if (!entry) {
      throw new UsageError(`unknown command "${commandName}"; commands: ${commands.map((c) => c.name).join(', ')}`)
    }
    const command = await entry.load()
    const args = parseArgs(rest, { options: [...command.options, ...GLOBAL_OPTIONS], ...(command.optionsEndAfter !== undefined ? { optionsEndAfter: command.optionsEndAfter } : {}) }, command.name)
    if (args.options.help === true) {
      io.stdout.write(commandHelp(command))
      return 0
    }
    if (typeof args.options.home === 'string') home = args.options.home
    const n = args.positionals.length
    if (n < command.positionals.min || (command.positionals.max !== undefined && n > command.positionals.max)) {
      throw new UsageError(
        n < command.positionals.min
          ? `"boxplay ${command.name}" needs ${command.positionals.names}`
          : `"boxplay ${command.name}" takes at most ${command.positionals.max} argument(s), got ${n}: ${args.positionals.join(' ')}`,
        command.name,
      )
    }
    const ctx: CommandContext = {
      ...io,
      home,
      openStore: async () => {
        const { Store } = await import('../store/store.js')
        const { resolve } = await import('node:path')
        const { defaultHome } = await import('../store/paths.js')
        const bundled = io.env.BOXPLAY_BUNDLED_IMAGES
        return Store.open({
          home: home !== undefined ? resolve(home) : defaultHome(io.env),
          // BOXPLAY_BUNDLED_IMAGES: another layout to seed from, or empty for none (tests).
          ...(bundled !== undefined ? { bundled: bundled || null } : {}),
        })
      },
    }
    return await command.run(ctx, args)
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    io.stderr.write(`boxplay: ${message}\n`)
    if (e instanceof UsageError) {
      const about = e.command ?? (commands.some((c) => c.name === commandName) ? commandName : undefined)
      io.stderr.write(about ? `See 'boxplay help ${about}'.\n` : "See 'boxplay --help'.\n")
    } else if (io.env.BOXPLAY_DEBUG && e instanceof Error && e.stack) {
      io.stderr.write(`${e.stack}\n`)
    }
    return EXIT_FAILURE
  }
}

// Run when executed directly (not when imported by tests).
const invoked = process.argv[1] ?? ''
if (/[\\/]cli[\\/]main\.(js|ts)$/.test(invoked) || /[\\/]boxplay$/.test(invoked)) {
  // Ctrl-C / kill: exit through process.exit so temp files are removed by their exit hooks.
  process.on('SIGINT', () => process.exit(130))
  process.on('SIGTERM', () => process.exit(143))
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code
    },
    (e: unknown) => {
      process.stderr.write(`boxplay: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exitCode = EXIT_FAILURE
    },
  )
}
