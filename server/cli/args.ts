// Command-line parsing shared by every command: long options (`--name value`,
// `--name=value`), short aliases (`-h`), flags, repeatable options, options before or after
// positionals, and `--` to end options. Bad usage throws UsageError (exit 125, like Docker).

export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to point at. */
    readonly command?: string,
  ) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface OptionSpec {
  /** Long name without dashes, e.g. `platform`. */
  name: string
  short?: string
  /** Takes a value (`--platform linux/386`); otherwise a flag. */
  value?: boolean
  /** May be given several times (values collected in order). */
  repeat?: boolean
  /** Placeholder shown in help, e.g. `P`. */
  placeholder?: string
  description: string
}

export interface ParsedArgs {
  positionals: string[]
  /** Flags are `true`; valued options are the last value; repeatable ones are string arrays. */
  options: Record<string, string | boolean | string[]>
}

export interface ParseSpec {
  options: readonly OptionSpec[]
  /**
   * Stop reading options once this many positionals were seen: what follows belongs to the
   * positionals verbatim (e.g. `run IMAGE CMD --its-own-flag`). Default: never.
   */
  optionsEndAfter?: number
}

export function parseArgs(argv: readonly string[], spec: ParseSpec, command?: string): ParsedArgs {
  const byLong = new Map(spec.options.map((o) => [o.name, o]))
  const byShort = new Map(spec.options.filter((o) => o.short).map((o) => [o.short!, o]))
  const out: ParsedArgs = { positionals: [], options: {} }
  const set = (o: OptionSpec, value: string | true): void => {
    if (o.repeat && typeof value === 'string') {
      const prev = out.options[o.name]
      out.options[o.name] = [...(Array.isArray(prev) ? prev : []), value]
    } else {
      out.options[o.name] = value
    }
  }
  let i = 0
  let optionsDone = false
  while (i < argv.length) {
    const arg = argv[i++]!
    if (optionsDone || (spec.optionsEndAfter !== undefined && out.positionals.length >= spec.optionsEndAfter)) {
      out.positionals.push(arg)
      continue
    }
    if (arg === '--') {
      optionsDone = true
      continue
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const name = arg.slice(2, eq < 0 ? undefined : eq)
      const o = byLong.get(name)
      if (!o) throw new UsageError(`unknown option --${name}`, command)
      if (!o.value) {
        if (eq >= 0) throw new UsageError(`option --${name} takes no value`, command)
        set(o, true)
        continue
      }
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[i++]
      if (value === undefined) throw new UsageError(`option --${name} needs a value (${o.placeholder ?? 'VALUE'})`, command)
      set(o, value)
      continue
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Short flags bundle as Docker's do (`-it`, `ps -aq`); a flag that takes a value ends
      // the bundle and takes the rest of it, or the next argument (`-e K=V`, `-eK=V`).
      for (let at = 1; at < arg.length; at++) {
        const o = byShort.get(arg[at]!)
        if (!o) throw new UsageError(`unknown option ${at === 1 ? arg : `-${arg[at]} (in ${arg})`}`, command)
        if (!o.value) {
          set(o, true)
          continue
        }
        const value = at + 1 < arg.length ? arg.slice(at + 1) : argv[i++]
        if (value === undefined) throw new UsageError(`option -${o.short} needs a value (${o.placeholder ?? 'VALUE'})`, command)
        set(o, value)
        break
      }
      continue
    }
    out.positionals.push(arg)
  }
  return out
}

/** Typed accessors, so commands never cast. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name]
  if (Array.isArray(v)) return v[v.length - 1]
  return typeof v === 'string' ? v : undefined
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.options[name] === true
}

export function listOption(args: ParsedArgs, name: string): string[] {
  const v = args.options[name]
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
}
