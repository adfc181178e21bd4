// What every lesson session shares (see session.ts): the terminal feed, the transcript of
// what the learner saw, and the 'command done' listeners.

import type { ChangeSet } from '../../oci/changes.js'
import type { Runtime, RunImage, Limits } from '../../runtimes/runtime.js'
import type { LessonRuntimeId } from './runtimes.js'
import { TerminalFeed } from './terminal-feed.js'

export interface CheckResult {
  code: number
  /** Why the check could not run, when it could not. */
  problem?: string
}

export interface SessionOptions {
  id: LessonRuntimeId
  runtime: Runtime
  image: RunImage
  size: { cols: number; rows: number }
  hostname?: string
  limits?: Limits
  env?: string[]
  /** The lesson's kept sandbox files, laid over the image (RunSpec.changes). */
  changes?: ChangeSet
}

export interface LessonSession {
  readonly id: LessonRuntimeId
  /** What the terminal element attaches to. */
  readonly feed: TerminalFeed
  /** Settles when the learner can type (the first prompt is on screen). */
  readonly ready: Promise<void>
  /** Settles when the sandbox is gone (exit, kill, failure). */
  readonly ended: Promise<string>
  /** Types `text` as a line and runs it, as if the learner had. */
  typeLine(text: string): void
  /** Runs a check's command in the same sandbox; exit 0 means passed. */
  check(command: string): Promise<CheckResult>
  /** Called after each command the learner runs, once its output is all in. */
  onCommandDone(listener: () => void): void
  /** Learner-visible output so far, escape sequences removed (for output checks). */
  transcript(): string
  /** A command or a check is under way (the prompt is not waiting for the learner). */
  readonly busy: boolean
  /** What the learner changed in the sandbox over the image, when the runtime reports it (v86, wasi shells). */
  changeSet?(): Promise<ChangeSet>
  dispose(): void
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g

export function plainText(text: string): string {
  return text.replace(ANSI, '').replace(/\r/g, '')
}

const MAX_TRANSCRIPT = 256 * 1024

export abstract class SessionBase {
  readonly feed: TerminalFeed
  readonly ready: Promise<void>
  readonly ended: Promise<string>
  protected markReady!: () => void
  protected markEnded!: (why: string) => void
  protected listeners: (() => void)[] = []
  private text = ''
  protected disposed = false

  constructor(readonly id: LessonRuntimeId) {
    this.feed = new TerminalFeed(id === 'native' ? 'remote' : id, {
      input: (d) => this.input(d),
      resize: (c, r) => this.resize(c, r),
      kill: () => this.dispose(),
    })
    this.ready = new Promise((resolve) => (this.markReady = resolve))
    this.ended = new Promise((resolve) => (this.markEnded = resolve))
  }

  onCommandDone(listener: () => void): void {
    this.listeners.push(listener)
  }

  transcript(): string {
    return this.text
  }

  protected show(bytes: Uint8Array | string): void {
    const s = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes)
    this.text = (this.text + plainText(s)).slice(-MAX_TRANSCRIPT)
    this.feed.show(bytes)
  }

  protected commandDone(): void {
    for (const l of this.listeners) l()
  }

  protected abstract input(data: string): void
  protected abstract resize(cols: number, rows: number): void
  abstract dispose(): void
}

