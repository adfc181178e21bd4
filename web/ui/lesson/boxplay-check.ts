// <boxplay-check>: what makes a step pass. Nothing to see; its step reads it.
//   command="…"  runs in the learner's sandbox; exit status 0 means passed;
//   output="re"  passes when what the learner's terminal showed during the step matches
//                this regular expression (for sessions without a shell, see command-session.ts);
//   hint="…"     shown when this check fails.

export class BoxplayCheck extends HTMLElement {
  get command(): string | undefined {
    return this.getAttribute('command') ?? undefined
  }

  get output(): RegExp | undefined {
    const source = this.getAttribute('output')
    if (source === null) return undefined
    try {
      return new RegExp(source, 'm')
    } catch {
      throw new Error(`<boxplay-check output="${source}">: not a valid regular expression`)
    }
  }

  get hint(): string {
    return this.getAttribute('hint') ?? 'Not yet: follow the step, then check again.'
  }

  connectedCallback(): void {
    this.hidden = true
  }
}
