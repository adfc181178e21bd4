// The Dockerfile front end: text → global ARGs and stages of instructions, checked for what
// boxplay builds. dockerfile-ast does the lexing Docker defines (parser directives, the
// escape character, line continuations, comments, flags); this module decides what each
// instruction means and refuses the rest with the file, line and instruction named.
// Variables are substituted later, by the builder, with the values in scope at each step.

import { DockerfileParser } from 'dockerfile-ast'
import { DockerfileError, type Instruction, type Keyword, type ParsedDockerfile, type Stage } from './dockerfile-model.js'

export { DockerfileError, type Instruction, type Keyword, type ParsedDockerfile, type Stage } from './dockerfile-model.js'

/** Flags each instruction takes; any other flag is an error. */
const FLAGS: Partial<Record<Keyword, readonly string[]>> = {
  FROM: ['platform'],
  COPY: ['from', 'chown', 'chmod'],
  ADD: ['chown', 'chmod'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
}
const KEYWORDS: readonly Keyword[] = [
  'FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'WORKDIR', 'USER', 'CMD', 'ENTRYPOINT', 'EXPOSE', 'LABEL', 'SHELL', 'STOPSIGNAL',
  'VOLUME', 'HEALTHCHECK', 'ONBUILD', 'MAINTAINER',
]
/** Instructions whose JSON (exec) form means something. */
const JSON_FORM: readonly Keyword[] = ['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME']
/** What an ONBUILD trigger may not be (Docker's rule). */
const NOT_TRIGGERS: readonly string[] = ['ONBUILD', 'FROM', 'MAINTAINER']

export function parseDockerfile(source: string, file = 'Dockerfile'): ParsedDockerfile {
  const df = DockerfileParser.parse(source)
  const escape = df.getEscapeCharacter()
  for (const d of df.getDirectives()) {
    const name = d.getName().toLowerCase()
    if (name === 'escape' && !['\\', '`'].includes(d.getValue())) {
      throw new DockerfileError(file, d.getRange().start.line + 1, '# escape', `the escape character must be \\ or \`, not "${d.getValue()}"`)
    }
    // `# syntax` names a BuildKit front end image; boxplay is its own front end, so the
    // directive is accepted and has no effect (like `docker build` with BuildKit off).
  }
  const globalArgs: Instruction[] = []
  const stages: Stage[] = []
  for (const raw of df.getInstructions()) {
    const line = raw.getRange().start.line + 1
    const keyword = raw.getKeyword().toUpperCase()
    const text = `${keyword} ${(raw.getArgumentsContent() ?? '').trim()}`.trim()
    const fail = (what: string): never => {
      throw new DockerfileError(file, line, keyword, what)
    }
    if (!(KEYWORDS as readonly string[]).includes(keyword)) fail(`unknown instruction (supported: ${KEYWORDS.join(', ')})`)
    const kw = keyword as Keyword
    const flags = new Map<string, string>()
    const flagged = raw as unknown as { getFlags?: () => { getName(): string; getValue(): string | null }[] }
    for (const f of flagged.getFlags?.() ?? []) {
      if (!(FLAGS[kw] ?? []).includes(f.getName())) fail(`unknown flag --${f.getName()}${FLAGS[kw] ? ` (it takes ${FLAGS[kw]!.map((n) => `--${n}`).join(', ')})` : ''}`)
      if (f.getValue() === null || f.getValue() === '') fail(`--${f.getName()} needs a value (--${f.getName()}=…)`)
      flags.set(f.getName(), f.getValue()!)
    }
    let args = (raw.getArgumentsContent() ?? '').trim()
    // Drop the flags dockerfile-ast recognised from the argument text.
    if (flags.size > 0) {
      const words = raw.getArguments().map((a) => a.getValue())
      const firstArg = words[0]
      if (firstArg !== undefined) args = args.slice(args.indexOf(firstArg)).trim()
      else args = ''
    }
    if (args === '') fail('needs arguments')
    const inst: Instruction = { keyword: kw, line, args, flags, text }
    if (JSON_FORM.includes(kw) && args.startsWith('[')) {
      let parsed: unknown
      try {
        parsed = JSON.parse(args)
      } catch {
        parsed = undefined // Docker treats a broken JSON array as the shell form
      }
      if (Array.isArray(parsed) && parsed.every((s) => typeof s === 'string')) inst.json = parsed as string[]
    }
    if (kw === 'SHELL' && !inst.json) fail('takes a JSON array, e.g. SHELL ["/bin/sh", "-c"]')
    if (kw === 'HEALTHCHECK' && !/^(NONE$|CMD\s)/i.test(args)) fail('takes NONE or [--interval=…] CMD COMMAND')
    if (kw === 'HEALTHCHECK' && /^NONE$/i.test(args) && flags.size > 0) fail('NONE takes no flags')
    if (kw === 'ONBUILD') {
      const trigger = /^\S+/.exec(args)![0].toUpperCase()
      if (NOT_TRIGGERS.includes(trigger)) fail(`${trigger} is not allowed as an ONBUILD trigger`)
      // The trigger must be an instruction boxplay builds: checked now, run by a later build.
      try {
        parseDockerfile(`FROM scratch\n${args}\n`, file)
      } catch (e) {
        if (e instanceof DockerfileError) fail(`the trigger: ${e.message.replace(/^.*?:\d+: /, '')}`)
        throw e
      }
    }
    if (kw === 'FROM') {
      const words = raw.getArguments().map((a) => a.getValue())
      let base: string
      let name: string | undefined
      if (words.length === 1) base = words[0]!
      else if (words.length === 3 && words[1]!.toUpperCase() === 'AS') {
        base = words[0]!
        name = words[2]!.toLowerCase()
        if (!/^[a-z][a-z0-9._-]*$/.test(name)) fail(`"${words[2]}" is not a valid stage name`)
        if (stages.some((s) => s.name === name)) fail(`a stage named "${name}" already exists`)
      } else base = fail('takes IMAGE [AS NAME]')
      stages.push({ index: stages.length, ...(name !== undefined ? { name } : {}), base, from: inst, steps: [] })
      continue
    }
    const stage = stages.at(-1)
    if (!stage) {
      if (kw === 'ARG') globalArgs.push(inst)
      else fail('comes before the first FROM (only ARG may)')
      continue
    }
    if ((kw === 'COPY' || kw === 'ADD') && (inst.json ?? splitSimple(args)).length < 2) fail('needs at least one source and a destination')
    stage.steps.push(inst)
  }
  if (stages.length === 0) throw new DockerfileError(file, 1, 'FROM', 'the Dockerfile has no FROM: start it with FROM IMAGE (or FROM scratch)')
  return { file, escape, globalArgs, stages }
}

function splitSimple(text: string): string[] {
  return text.split(/\s+/).filter(Boolean)
}
