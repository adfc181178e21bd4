// A build as the server shows it: a Run whose output is the build log (the CLI's lines, see
// web/build/build-log.ts), so `POST /api/builds` registers it with the other runs (their cap,
// their records) and clients follow it through the same attach socket and protocol as a run.
// Its exit carries the result in `facts` (digest, names, cached, steps); killing it kills the
// RUN step in progress, which fails the build (a failed build tags nothing).

import { BuildLog, type BuildSummary } from '../../web/build/build-log.js'
import type { BuildEvent } from '../../web/build/builder.js'
import { RunBase } from '../../web/runtimes/run-base.js'
import type { Run, RuntimeKind } from '../../web/runtimes/runtime.js'
import { messageOf } from './errors.js'

export interface BuildWork {
  onEvent(e: BuildEvent): void
  onRun(run: Run): void
}

const encoder = new TextEncoder()
let counter = 0

export class BuildRun extends RunBase {
  override readonly id = `build-${Date.now().toString(36)}-${(counter++).toString(36)}`
  private step: Run | undefined
  private killed: string | undefined

  constructor(kind: RuntimeKind, work: (hooks: BuildWork) => Promise<Omit<BuildSummary, 'ms'>>) {
    super(kind)
    const started = Date.now()
    const log = new BuildLog((line) => this.emit('stdout', encoder.encode(`${line}\n`)))
    void work({
      onEvent: (e) => {
        // Between RUN steps there is no process to kill: the next event ends the build.
        if (this.killed) throw new Error('stopped between steps')
        log.event(e)
      },
      onRun: (run) => {
        this.step = run
        if (this.killed) run.kill(this.killed)
      },
    }).then(
      (result) => {
        this.phase('build')
        log.done({ ...result, ms: Date.now() - started })
        Object.assign(this.facts, { digest: result.digest, names: result.names.join(' '), cached: result.cached, steps: result.steps })
        this.finish({ code: 0, reason: 'exited' })
      },
      (e: unknown) => {
        this.phase('build')
        const message = this.killed ? `the build was stopped (${this.killed}): ${messageOf(e)}` : messageOf(e)
        this.emit('stderr', encoder.encode(`ERROR: ${message}\n`))
        this.finish({ code: 1, reason: this.killed ? 'killed' : 'error', message })
      },
    )
  }

  write(): void {}
  closeStdin(): void {}
  resize(): void {}

  kill(signal = 'SIGKILL'): void {
    this.killed = signal
    this.step?.kill(signal)
  }
}
