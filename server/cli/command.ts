// What a CLI command is. Each lives in its own file under commands/ and is listed, lazily,
// in commands/index.ts — adding `run`, `serve` or `setup` is one file plus one line there.

import type { Writable } from 'node:stream'
import type { Store } from '../store/store.js'
import type { OptionSpec, ParsedArgs } from './args.js'

export interface CommandContext {
  /** The store directory chosen by --home (undefined: $BOXPLAY_HOME or the default). */
  home: string | undefined
  stdout: Writable & { isTTY?: boolean; columns?: number }
  stderr: Writable & { isTTY?: boolean; columns?: number }
  env: NodeJS.ProcessEnv
  /** Opens (creating and seeding if needed) the store. */
  openStore(): Promise<Store>
}

export interface Command {
  name: string
  /** One line for `boxplay --help`. */
  summary: string
  /** Synopsis after `boxplay NAME`, e.g. `REF [--platform P]`. */
  usage: string
  /** Extra paragraphs for `boxplay help NAME`. */
  description?: string
  options: readonly OptionSpec[]
  /** Positional count bounds (usage error outside them). */
  positionals: { min: number; max?: number; names: string }
  /** See ParseSpec.optionsEndAfter (e.g. `run IMAGE CMD ARGS…`). */
  optionsEndAfter?: number
  /** Returns the exit code. Throw for failures (printed, exit 125). */
  run(ctx: CommandContext, args: ParsedArgs): Promise<number>
}

/** The registry entry: loaded only when the command runs (fast start). */
export interface CommandEntry {
  name: string
  summary: string
  load(): Promise<Command>
}
