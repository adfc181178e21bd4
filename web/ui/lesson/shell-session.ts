// The learner's shell: one long-lived `sh` with a terminal, in whichever runtime. The
// runtimes run one process per sandbox, so checks cannot be a second process beside it:
// they are typed into this same shell, each in a subshell `( … )` with its output thrown
// away, followed by a printf of an invisible exit marker; while a check has the shell its
// echo and output are hidden and the learner's keystrokes are held back. The prompt
// (PS1) ends with an invisible idle marker, which is how we know a command has finished.
// See markers.ts for the marker format.
//
// The checks therefore see exactly the learner's sandbox: the same filesystem, processes,
// namespaces, cgroup, environment and working directory. The cost: a check waits until the
// shell is at its prompt, and the check lines land in the shell's history.

import type { ChangeSet } from '../../oci/changes.js'
import { hasChangeSet } from '../../runtimes/writable-layer.js'
import type { Run } from '../../runtimes/runtime.js'
import { MARKED_PS1, MarkerScanner, checkLine, type Marker } from './markers.js'
import { SessionBase, type CheckResult, type LessonSession, type SessionOptions } from './session-base.js'

/** An explicit check waits this long for a busy shell (a command still running) to be free. */
const BUSY_WAIT_MS = 15_000
/** A check's own command gets this long. */
const CHECK_TIMEOUT_MS = 30_000

interface PendingCheck {
  command: string
  resolve: (r: CheckResult) => void
  code?: number
  timer?: ReturnType<typeof setTimeout>
}

export class ShellSession extends SessionBase implements LessonSession {
  private run!: Run
  private readonly scanner = new MarkerScanner()
  private started = false
  /** At the prompt with nothing submitted since. */
  private idle = false
  /** The learner typed on the current line (a check clears it first). */
  private lineDirty = false
  private queue: PendingCheck[] = []
  private current: PendingCheck | undefined
  private held = ''
  private readonly encoder = new TextEncoder()
  private idleWaiters: (() => void)[] = []

  get busy(): boolean {
    return !this.idle || this.current !== undefined || this.queue.length > 0
  }

  static async start(o: SessionOptions): Promise<ShellSession> {
    const session = new ShellSession(o.id)
    session.run = await o.runtime.start({
      image: o.image,
      // Replaces Entrypoint and Cmd alike: the session is an interactive shell, whatever the image runs.
      entrypoint: ['/bin/sh'],
      tty: o.size,
      stdin: true,
      env: ['PS1=' + MARKED_PS1, 'HOME=/root', 'TERM=xterm-256color', ...(o.env ?? [])],
      hostname: o.hostname ?? 'boxplay',
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.changes?.entries.length ? { changes: o.changes } : {}),
    })
    session.attach()
    return session
  }

  private attach(): void {
    this.run.onOutput((chunk) => {
      for (const piece of this.scanner.push(chunk.data)) {
        if ('marker' in piece) this.onMarker(piece.marker)
        else if (!this.current) this.show(piece.bytes)
      }
    })
    void this.run.exit.then((status) => {
      const why = status.message ?? (status.reason === 'exited' ? `the shell exited with status ${status.code}` : `the sandbox stopped (${status.reason})`)
      this.idle = false
      this.current?.resolve({ code: 125, problem: why })
      for (const c of this.queue.splice(0)) c.resolve({ code: 125, problem: why })
      this.current = undefined
      this.feed.show(`\r\n\x1b[2m[${why}: press Reset for a fresh sandbox]\x1b[0m\r\n`)
      this.markEnded(why)
      this.markReady()
    })
  }

  private onMarker(marker: Marker): void {
    if (marker.kind === 'exit') {
      if (this.current) this.current.code = marker.code
      return
    }
    // A prompt: the shell is free again.
    this.idle = true
    this.lineDirty = false
    const check = this.current
    if (check) {
      this.current = undefined
      clearTimeout(check.timer)
      check.resolve(check.code === undefined ? { code: 2, problem: 'the check command did not run (is it valid shell?)' } : { code: check.code })
    } else if (!this.started) {
      this.started = true
      this.markReady()
    } else {
      this.commandDone()
    }
    this.pump()
  }

  /** Starts the next check if the shell is free; otherwise gives the learner back their keys. */
  private pump(): void {
    if (this.current || !this.idle || this.disposed) return
    const next = this.queue.shift()
    if (next) {
      this.current = next
      this.idle = false
      next.timer = setTimeout(() => {
        if (this.current !== next) return
        // Interrupt it; the prompt that follows ends the check as failed.
        this.send('\x03')
        next.code = 124
      }, CHECK_TIMEOUT_MS)
      this.send(`\x05\x15${checkLine(next.command)}\r`)
      return
    }
    for (const w of this.idleWaiters.splice(0)) w()
    if (this.held) {
      const held = this.held
      this.held = ''
      this.input(held)
    }
  }

  private send(text: string): void {
    this.run.write(this.encoder.encode(text))
  }

  protected input(data: string): void {
    if (this.disposed) return
    if (this.current || this.queue.length) {
      this.held += data
      return
    }
    if (/[\r\n]/.test(data)) this.idle = false
    else this.lineDirty = true
    this.send(data)
  }

  protected resize(cols: number, rows: number): void {
    this.run?.resize(cols, rows)
  }

  typeLine(text: string): void {
    const line = text.replace(/\r?\n$/, '')
    this.input(`${this.lineDirty ? '\x05\x15' : ''}${line}\r`)
  }

  async check(command: string): Promise<CheckResult> {
    if (this.disposed) return { code: 125, problem: 'the sandbox is gone: press Reset' }
    await this.ready
    if (!this.idle && !this.current) {
      const free = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), BUSY_WAIT_MS)
        this.idleWaiters.push(() => {
          clearTimeout(t)
          resolve(true)
        })
      })
      if (!free) return { code: 125, problem: 'your command is still running: wait for the prompt (or press Ctrl-C), then check again' }
    }
    return new Promise<CheckResult>((resolve) => {
      this.queue.push({ command, resolve })
      this.pump()
    })
  }

  /** The sandbox's files over the image, for keeping them (v86 at any time, wasi after exit). */
  async changeSet(): Promise<ChangeSet> {
    if (!hasChangeSet(this.run)) throw new Error(`the ${this.id} runtime does not report a sandbox's files, so they cannot be kept`)
    return this.run.changeSet()
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.run?.kill('SIGKILL')
  }
}
