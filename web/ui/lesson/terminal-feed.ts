// What the terminal element is attached to: a Run-shaped object between the terminal and a
// lesson session. The session decides which output the learner sees (not the checks') and
// where keystrokes go (held back while a check has the shell).

import { RunBase } from '../../runtimes/run-base.js'
import type { RuntimeKind } from '../../runtimes/runtime.js'

export interface FeedSink {
  input(data: string): void
  resize(cols: number, rows: number): void
  kill(): void
}

export class TerminalFeed extends RunBase {
  constructor(
    kind: RuntimeKind,
    private readonly sink: FeedSink,
  ) {
    super(kind)
  }

  /** Output the learner sees. */
  show(data: Uint8Array | string): void {
    this.emit('stdout', typeof data === 'string' ? new TextEncoder().encode(data) : data)
  }

  end(code: number): void {
    this.finish({ code, reason: 'exited' })
  }

  write(data: Uint8Array | string): void {
    this.sink.input(typeof data === 'string' ? data : new TextDecoder().decode(data))
  }

  closeStdin(): void {}

  resize(cols: number, rows: number): void {
    this.sink.resize(cols, rows)
  }

  kill(): void {
    this.sink.kill()
  }
}
