// `boxplay build --progress tty`: a live view like BuildKit's, redrawn in place on a terminal.
// A header with the elapsed time and the steps done, one line a step (CACHED, its time, or a
// spinner's time while it runs), and under the running step the last lines of its output.
// When the build ends the last frame stays on screen, followed by the image's digest and names.
// The CLI uses it only when the output is a terminal; otherwise it prints the plain log.

import type { BuildSummary } from '../../web/build/build-log.js'
import type { BuildEvent } from '../../web/build/builder.js'

interface StepView {
  n: number
  text: string
  state: 'running' | 'cached' | 'done'
  started: number
  ms?: number
  output: string[]
}

const OUTPUT_LINES = 6
/** ANSI control sequences and other C0 controls a step's output may hold: kept off the frame. */
const CONTROL = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]/g

export class TtyProgress {
  private steps: StepView[] = []
  private total = 0
  private drawn = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly decoder = new TextDecoder()
  private partial = ''
  private readonly started: number

  constructor(
    private readonly out: { write(text: string): unknown; columns?: number },
    private readonly now: () => number = () => Date.now(),
  ) {
    this.started = now()
    // The running step's time ticks between events.
    this.timer = setInterval(() => this.draw(), 100)
    this.timer.unref?.()
  }

  event(e: BuildEvent): void {
    if (e.type === 'step') {
      this.total = e.total
      this.steps.push({ n: e.n, text: `[${e.stage}] ${e.text}`, state: 'running', started: this.now(), output: [] })
    } else {
      const step = this.steps.find((s) => s.n === e.n)
      if (!step) return
      if (e.type === 'cached') step.state = 'cached'
      else if (e.type === 'done') {
        step.state = 'done'
        step.ms = e.ms
      } else {
        const lines = (this.partial + this.decoder.decode(e.data, { stream: true })).split(/\r?\n/)
        this.partial = lines.pop() ?? ''
        step.output.push(...lines.map((l) => l.replace(CONTROL, '')).filter((l) => l !== ''))
        step.output.splice(0, Math.max(0, step.output.length - OUTPUT_LINES))
      }
    }
    this.draw()
  }

  /** The last frame, then the image's lines; the view is done. */
  done(s: BuildSummary): void {
    this.stop(true)
    this.out.write(` => writing image ${s.digest} (${s.cached} of ${s.steps} steps cached)\n`)
    for (const name of s.names) this.out.write(` => naming to ${name}\n`)
  }

  /** The last frame, the failing step's output kept; the caller prints the error. */
  failed(): void {
    this.stop(false)
  }

  private stop(finished: boolean): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.draw(finished ? 'FINISHED' : 'ERROR')
  }

  private seconds(ms: number): string {
    return `${(ms / 1000).toFixed(1)}s`
  }

  /** The frame's lines, each cut to the terminal's width. */
  frame(status?: 'FINISHED' | 'ERROR'): string[] {
    // A terminal that reports no width (0, as some ptys do) gets 80 columns.
    const width = Math.max(40, this.out.columns || 80)
    const finished = this.steps.filter((s) => s.state !== 'running').length
    const lines = [`[+] Building ${this.seconds(this.now() - this.started)} (${finished}/${this.total || this.steps.length})${status ? ` ${status}` : ''}`]
    for (const s of this.steps) {
      const time = s.state === 'cached' ? '' : this.seconds(s.state === 'done' ? (s.ms ?? 0) : this.now() - s.started)
      const head = ` => ${s.state === 'cached' ? 'CACHED ' : ''}#${s.n} ${s.text}`
      const room = width - time.length - 1
      const cut = head.length > room ? `${head.slice(0, room - 1)}…` : head
      lines.push(`${cut.padEnd(room)} ${time}`)
      // Output shows while a step runs, and stays under the step a failed build stopped at.
      if (s.state === 'running') for (const o of s.output) lines.push(` => => # ${o}`.slice(0, width))
    }
    return lines
  }

  private draw(status?: 'FINISHED' | 'ERROR'): void {
    const lines = this.frame(status)
    // Back to the top of the last frame, clear to the end of the screen, draw anew.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : ''
    this.out.write(`${up}\x1b[J${lines.join('\n')}\n`)
    this.drawn = lines.length
  }
}
