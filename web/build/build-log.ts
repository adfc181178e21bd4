// The lines a build prints, as `boxplay build --progress plain` prints them: `#N [stage]
// instruction`, `#N CACHED`, the step's output prefixed `#N`, `#N DONE 0.3s`, then the image's
// digest and names. One formatter, so the CLI, `POST /api/builds` and the playground's Build
// tab show the same log. No DOM and no Node APIs.

import type { BuildEvent } from './builder.js'

export interface BuildSummary {
  digest: string
  names: readonly string[]
  cached: number
  steps: number
  /** The whole build's time. */
  ms: number
}

/** Turns build events into log lines (without newlines), in order. */
export class BuildLog {
  private readonly decoder = new TextDecoder()

  constructor(private readonly line: (text: string) => void) {}

  event(e: BuildEvent): void {
    if (e.type === 'step') this.line(`#${e.n} [${e.stage}] ${e.text}`)
    else if (e.type === 'cached') this.line(`#${e.n} CACHED`)
    else if (e.type === 'output') {
      for (const text of this.decoder.decode(e.data).split('\n')) if (text !== '') this.line(`#${e.n} ${text}`)
    } else this.line(`#${e.n} DONE ${(e.ms / 1000).toFixed(1)}s`)
  }

  done(s: BuildSummary): void {
    this.line(`#${s.steps + 1} writing image ${s.digest} done (${s.cached} of ${s.steps} steps cached, ${(s.ms / 1000).toFixed(1)}s)`)
    for (const name of s.names) this.line(`#${s.steps + 1} naming to ${name} done`)
  }
}
