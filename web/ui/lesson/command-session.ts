// A session for an image without a shell (e.g. `hello`, whose entrypoint is the program):
// the widget draws the prompt and edits the line itself, and each line the learner enters
// is one run of the image's entrypoint with those arguments (`hello --facts`, or just
// `--facts`). Runs are separate sandboxes, as with `docker run`; a check is one more run
// with the check's arguments, so checks here see the same image and runtime but not files
// an earlier run wrote (output checks, which read what the learner saw, suit these best).

import type { Run } from '../../runtimes/runtime.js'
import { splitCommand } from '../deep-link.js'
import { SessionBase, type CheckResult, type LessonSession, type SessionOptions } from './session-base.js'

const CHECK_TIMEOUT_MS = 30_000

export class CommandSession extends SessionBase implements LessonSession {
  private line = ''
  private running: Run | undefined
  private executing = false
  private readonly program: string

  private constructor(private readonly o: SessionOptions) {
    super(o.id)
    const entry = o.image.config.Entrypoint?.[0] ?? o.image.config.Cmd?.[0] ?? o.image.name
    this.program = entry.split('/').pop()!.replace(/\.wasm$/, '')
  }

  get busy(): boolean {
    return this.running !== undefined || this.executing
  }

  static async start(o: SessionOptions): Promise<CommandSession> {
    const s = new CommandSession(o)
    s.show(`\x1b[2m${o.image.name} has no shell: each line runs ${s.program} with the arguments you type.\x1b[0m\r\n`)
    s.prompt()
    s.markReady()
    return s
  }

  private prompt(): void {
    this.show(`\x1b[1;32m${this.program}\x1b[0m $ `)
  }

  private args(text: string): string[] {
    const words = splitCommand(text)
    const name = this.o.image.name.replace(/:[^:/]+$/, '')
    if (words[0] === this.program || words[0] === name || words[0] === `${this.program}.wasm`) words.shift()
    return words
  }

  protected input(data: string): void {
    if (this.disposed) return
    if (this.running) {
      // A program reading stdin: echo locally, end lines with \n, ^D ends input, ^C stops it.
      for (const c of data) {
        if (c === '\x03') this.running.kill('SIGKILL')
        else if (c === '\x04') this.running.closeStdin()
        else {
          const text = c === '\r' ? '\n' : c
          this.show(text === '\n' ? '\r\n' : text)
          this.running.write(text)
        }
      }
      return
    }
    for (const c of data) {
      if (c === '\r' || c === '\n') {
        this.show('\r\n')
        const line = this.line
        this.line = ''
        void this.execute(line)
        return // anything after the Enter in this chunk is dropped, like a terminal flush
      } else if (c === '\x7f' || c === '\b') {
        if (this.line) {
          this.line = this.line.slice(0, -1)
          this.show('\b \b')
        }
      } else if (c === '\x03') {
        this.line = ''
        this.show('^C\r\n')
        this.prompt()
      } else if (c === '\x15') {
        this.show('\b \b'.repeat(this.line.length))
        this.line = ''
      } else if (c >= ' ' && c !== '\x1b') {
        this.line += c
        this.show(c)
      }
    }
  }

  private async execute(line: string): Promise<void> {
    this.executing = true
    try {
      await this.executeLine(line)
    } finally {
      this.executing = false
    }
  }

  private async executeLine(line: string): Promise<void> {
    let args: string[]
    try {
      args = this.args(line)
    } catch (e) {
      this.show(`\x1b[31m${(e as Error).message}\x1b[0m\r\n`)
      this.prompt()
      return
    }
    if (!line.trim()) {
      this.prompt()
      return
    }
    try {
      const run = await this.o.runtime.start({ image: this.o.image, cmd: args, stdin: true, ...(this.o.limits ? { limits: this.o.limits } : {}) })
      this.running = run
      run.onOutput((chunk) => this.show(new TextDecoder().decode(chunk.data).replace(/\r?\n/g, '\r\n')))
      const status = await run.exit
      if (status.code !== 0 || status.reason !== 'exited') {
        this.show(`\x1b[2m[exit ${status.code}${status.message ? `: ${status.message}` : ''}]\x1b[0m\r\n`)
      }
    } catch (e) {
      this.show(`\x1b[31m${(e as Error).message}\x1b[0m\r\n`)
    }
    this.running = undefined
    if (this.disposed) return
    this.prompt()
    this.commandDone()
  }

  protected resize(): void {}

  typeLine(text: string): void {
    if (this.running) return this.input(`${text}\r`)
    this.input(`\x15${text.replace(/\r?\n$/, '')}\r`)
  }

  async check(command: string): Promise<CheckResult> {
    if (this.disposed) return { code: 125, problem: 'the sandbox is gone: press Reset' }
    const run = await this.o.runtime.start({ image: this.o.image, cmd: this.args(command), ...(this.o.limits ? { limits: { timeoutMs: CHECK_TIMEOUT_MS, ...this.o.limits } } : { limits: { timeoutMs: CHECK_TIMEOUT_MS } }) })
    run.onOutput(() => {})
    const status = await run.exit
    return status.reason === 'exited' ? { code: status.code } : { code: status.code, problem: status.message ?? status.reason }
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.running?.kill('SIGKILL')
    this.markEnded('closed')
  }
}
