// <boxplay-lesson>: an embeddable, checked lesson. Holds <boxplay-step>s, a terminal on a
// sandbox of `image` in one of `runtimes`, a runtime switch, a reset button and progress.
//
//   <boxplay-lesson image="busybox" runtime="v86" runtimes="v86 native"
//                   server="http://127.0.0.1:4173/?token=…" lesson="intro" heading="…"
//                   memory="64m" pids="64" hostname="boxplay">
//
// Events (bubbling and composed, so `document` hears them):
//   boxplay-step-passed      detail { lesson, step, heading, runtime }
//   boxplay-lesson-complete  detail { lesson, steps }
// Checks run in the learner's own sandbox: see shell-session.ts for how.

import { LitElement, css, html, nothing } from 'lit'
import type { Limits, RunImage } from '../../runtimes/runtime.js'
import '../terminal-view.js'
import type { TerminalView } from '../terminal-view.js'
import { theme } from '../theme.js'
import type { RunRequestDetail } from './boxplay-run.js'
import './boxplay-run.js'
import { BoxplayStep } from './boxplay-step.js'
import { LESSON_RUNTIMES, RUNTIME_LABELS, lessonImage, loadRuntime, parseServerAttribute, type LessonRuntimeId, type RuntimeChoice, type ServerAddress } from './runtimes.js'
import { LessonKeeper } from './progress.js'
import { startSession, type LessonSession } from './session.js'

export interface StepPassedDetail {
  lesson: string
  step: number
  heading: string
  runtime: LessonRuntimeId
}

export interface LessonCompleteDetail {
  lesson: string
  steps: number
}

let lessonCounter = 0

function parseSize(text: string | null): number | undefined {
  if (!text) return undefined
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text.trim())
  if (!m) return undefined
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']
  return Math.round(Number(m[1]) * unit)
}

export class BoxplayLesson extends LitElement {
  static override properties = {
    image: { reflect: true },
    runtime: { reflect: true },
    runtimes: {},
    server: {},
    token: {},
    heading: {},
    choices: { state: true },
    current: { state: true },
    status: { state: true },
    active: { state: true },
    passedCount: { state: true },
  }
  declare image: string
  declare runtime: LessonRuntimeId
  declare runtimes: string | undefined
  declare server: string | undefined
  declare token: string | undefined
  declare heading: string | undefined
  declare choices: Map<LessonRuntimeId, RuntimeChoice>
  declare current: LessonRuntimeId | undefined
  declare status: string
  declare active: number
  declare passedCount: number

  static override styles = [
    theme,
    css`
      :host { display: block; border: 1px solid var(--bp-border); border-radius: 12px; background: var(--bp-bg); margin: 1.5rem 0; overflow: hidden; }
      header { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: center; justify-content: space-between; padding: 0.7rem 1rem; border-bottom: 1px solid var(--bp-border); background: var(--bp-panel); }
      h2 { font-size: 1.05rem; margin: 0; }
      .switch { display: flex; flex-wrap: wrap; gap: 0.4rem; }
      .switch button[aria-pressed='true'] { background: var(--bp-accent); color: var(--bp-accent-text); border-color: var(--bp-accent); }
      .layout { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); }
      .steps { padding: 1rem; min-width: 0; }
      nav ol { list-style: none; display: flex; flex-wrap: wrap; gap: 0.35rem; padding: 0; margin: 0 0 1rem; }
      nav button { min-width: 2.5rem; padding: 0 0.6rem; }
      nav button[aria-current='step'] { border-color: var(--bp-accent); border-width: 2px; font-weight: 700; }
      nav button.passed { background: var(--bp-ok); color: #fff; border-color: var(--bp-ok); }
      .progress { font-size: 0.9rem; margin: 0 0 0.6rem; }
      .progress.complete { color: var(--bp-ok); font-weight: 600; }
      .side { display: flex; flex-direction: column; padding: 1rem; gap: 0.5rem; min-width: 0; border-left: 1px solid var(--bp-border); }
      .status { font-size: 0.9rem; min-height: 1.4em; }
      bp-terminal { height: 22rem; }
      @media (max-width: 760px) { .side { border-left: 0; border-top: 1px solid var(--bp-border); } bp-terminal { height: 18rem; } }
    `,
  ]

  private session: LessonSession | undefined
  private sessionImage: RunImage | undefined
  private starting: Promise<LessonSession | undefined> | undefined
  private generation = 0
  private serverAddress: ServerAddress | undefined
  private stepStart = 0
  private checking = false
  private sessionReady = false
  /** Seconds from asking for a sandbox to its first prompt, per runtime (last start). */
  private readonly startTimes = new Map<LessonRuntimeId, number>()
  /** Commands the learner has run in this lesson (any sandbox): for course pages and tests. */
  commandCount = 0
  private recheck = false
  private completed = false
  private observer: IntersectionObserver | undefined
  private readonly lessonId: string
  /** Progress and sandbox files kept in the browser (progress.ts). */
  private keeper: LessonKeeper | undefined
  private restored: Promise<void> = Promise.resolve()
  /** Sandbox saves, one after another; a Reset or Start over makes pending ones moot. */
  private keeping: Promise<void> = Promise.resolve()
  private keepGeneration = 0
  private readonly onHidden = () => {
    if (document.visibilityState === 'hidden') this.keepSandbox()
  }

  constructor() {
    super()
    this.image = 'busybox'
    this.runtime = 'v86'
    this.status = ''
    this.active = 0
    this.passedCount = 0
    this.choices = new Map()
    this.lessonId = `lesson-${++lessonCounter}`
    this.addEventListener('boxplay-run-request', (e) => this.onRunRequest(e as CustomEvent<RunRequestDetail>))
    this.addEventListener('boxplay-step-check', (e) => {
      e.stopPropagation()
      void this.checkStep(true)
    })
    this.addEventListener('boxplay-step-next', (e) => {
      e.stopPropagation()
      this.goTo(this.active + 1)
    })
    this.addEventListener('boxplay-step-previous', (e) => {
      e.stopPropagation()
      this.goTo(this.active - 1)
    })
  }

  /** The id events carry: the `lesson` attribute, else the element's id, else a counter. */
  get lessonName(): string {
    return this.getAttribute('lesson') || this.id || this.lessonId
  }

  get steps(): BoxplayStep[] {
    return [...this.querySelectorAll(':scope > boxplay-step')].filter((s): s is BoxplayStep => s instanceof BoxplayStep)
  }

  private get offered(): LessonRuntimeId[] {
    const listed = (this.runtimes ?? this.runtime).split(/[\s,]+/).filter((r): r is LessonRuntimeId => (LESSON_RUNTIMES as readonly string[]).includes(r))
    if (!listed.includes(this.runtime)) listed.unshift(this.runtime)
    return listed
  }

  private get limits(): Limits | undefined {
    const memoryBytes = parseSize(this.getAttribute('memory'))
    const pids = Number(this.getAttribute('pids')) || undefined
    if (memoryBytes === undefined && pids === undefined) return undefined
    return { ...(memoryBytes !== undefined ? { memoryBytes } : {}), ...(pids !== undefined ? { pids } : {}) }
  }

  private get terminal(): TerminalView | undefined {
    return (this.renderRoot.querySelector('bp-terminal') as TerminalView | null) ?? undefined
  }

  /** Starting a sandbox, running a command or a check: not waiting for the learner. */
  get busy(): boolean {
    return !this.sessionReady || this.checking || (this.session?.busy ?? true)
  }

  /** What the terminal shows (scrollback included): for course pages and tests. */
  terminalText(): string {
    return this.terminal?.text() ?? ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    try {
      this.serverAddress = parseServerAttribute(this.server, this.token)
    } catch (e) {
      this.status = (e as Error).message
    }
    const steps = this.steps
    steps.forEach((s, i) => {
      s.index = i
      s.total = steps.length
    })
    this.goTo(0, false)
    this.keeper = new LessonKeeper(this.lessonName)
    this.restored = this.restoreProgress()
    document.addEventListener('visibilitychange', this.onHidden)
    void this.loadChoices()
    // Start the sandbox once the lesson is on screen: a page of five lessons boots one VM
    // per lesson the reader reaches, not five at load.
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        this.observer?.disconnect()
        void this.ensureSession()
      }
    })
    this.observer.observe(this)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.observer?.disconnect()
    document.removeEventListener('visibilitychange', this.onHidden)
    this.generation++
    this.session?.dispose()
    this.session = undefined
    this.starting = undefined
  }

  /** Steps passed and the step open, as the learner left them (a reload, a browser restart). */
  private async restoreProgress(): Promise<void> {
    const progress = await this.keeper?.load().catch(() => undefined)
    if (!progress) return
    const steps = this.steps
    for (const i of progress.passed) {
      const step = steps[i]
      if (step) {
        step.status = 'passed'
        step.message = 'Passed (kept from your last visit).'
      }
    }
    this.passedCount = steps.filter((st) => st.passed).length
    this.completed = steps.length > 0 && steps.every((st) => st.passed)
    this.goTo(Math.min(Math.max(0, progress.active), steps.length - 1), false)
  }

  private saveProgress(): void {
    const passed = this.steps.flatMap((st, i) => (st.passed ? [i] : []))
    void this.keeper?.save({ passed, active: this.active }).catch(() => {})
  }

  /** Keeps the sandbox's files (after each command, and when the page is hidden). */
  private keepSandbox(): void {
    const session = this.session
    const image = this.sessionImage
    const runtime = this.current
    // A native sandbox lives on the server: nothing of it is kept in the browser.
    if (!session?.changeSet || !image || !runtime || runtime === 'native' || !this.keeper || !this.sessionReady) return
    const generation = this.keepGeneration
    const keeper = this.keeper
    this.keeping = this.keeping.then(async () => {
      if (generation !== this.keepGeneration || session !== this.session) return
      try {
        // A VM's guest holds written pages in its cache (9p cache=loose) until it writes
        // them back: `sync` in the learner's shell (hidden, as checks are) flushes them first.
        if (runtime === 'v86') await session.check('sync')
        const changes = await session.changeSet!()
        if (generation !== this.keepGeneration) return
        await keeper.keepSandbox(runtime, image, changes)
      } catch (e) {
        this.status = `Your sandbox files could not be kept: ${e instanceof Error ? e.message : String(e)}`
      }
    })
  }

  /**
   * Replaces the sandbox with a fresh one once `forget` has run (dropping kept files): the old
   * one goes at once and the status says a new one is coming, so nothing is typed into a
   * sandbox on its way out, and a sandbox asked for meanwhile waits for the fresh one.
   */
  private freshSandbox(runtime: LessonRuntimeId, forget: () => Promise<void>): Promise<LessonSession | undefined> {
    this.keepGeneration++
    this.generation++
    this.session?.dispose()
    this.session = undefined
    this.sessionReady = false
    this.status = `Starting ${RUNTIME_LABELS[runtime]}…`
    const fresh = (async () => {
      await this.keeping
      await forget().catch(() => {})
      return this.startSandbox(runtime)
    })()
    this.starting = fresh
    return fresh
  }

  /** Reset: a fresh sandbox from the image, its kept files forgotten; progress stays. */
  async resetSandbox(): Promise<void> {
    const runtime = this.current ?? this.runtime
    await this.freshSandbox(runtime, async () => this.keeper?.dropSandbox(runtime))
  }

  /** Start over: progress and every kept sandbox of this lesson forgotten, from step 1 on a fresh sandbox. */
  async startOver(): Promise<void> {
    for (const step of this.steps) {
      step.status = 'todo'
      step.message = ''
    }
    this.passedCount = 0
    this.completed = false
    this.goTo(0, false)
    const first = (this.steps[0]?.runtime as LessonRuntimeId | undefined) || this.runtime
    await this.freshSandbox((LESSON_RUNTIMES as readonly string[]).includes(first) ? first : this.runtime, async () => this.keeper?.forget())
  }

  private async loadChoices(): Promise<void> {
    const loaded = await Promise.all(this.offered.map((id) => loadRuntime(id, this.serverAddress)))
    this.choices = new Map(loaded.map((c) => [c.id, c]))
  }

  private async ensureSession(): Promise<LessonSession | undefined> {
    if (this.session) return this.session
    this.starting ??= this.startSandbox(this.current ?? ((this.steps[this.active]?.runtime as LessonRuntimeId | undefined) || this.runtime))
    return this.starting
  }

  private async startSandbox(id: LessonRuntimeId): Promise<LessonSession | undefined> {
    const generation = ++this.generation
    this.sessionReady = false
    this.current = id
    const label = RUNTIME_LABELS[id]
    this.status = `Starting ${label}…`
    await this.updateComplete
    const terminal = this.terminal
    terminal?.detach()
    terminal?.clear()
    const t0 = performance.now()
    try {
      const choice = await loadRuntime(id, this.serverAddress)
      if (!choice.runtime || !choice.availability.ok) throw new Error(choice.availability.ok ? 'unavailable' : choice.availability.reason)
      const image = await lessonImage(this.image, id, this.serverAddress)
      await this.restored
      const kept = (await this.keeper?.sandbox(id, image).catch(() => undefined)) ?? {}
      const hostname = this.getAttribute('hostname')
      const limits = this.limits
      const session = await startSession({
        id,
        runtime: choice.runtime,
        image,
        size: terminal?.size ?? { cols: 80, rows: 24 },
        ...(hostname ? { hostname } : {}),
        ...(limits ? { limits } : {}),
        ...(kept.changes ? { changes: kept.changes } : {}),
      })
      if (generation !== this.generation) {
        session.dispose()
        return undefined
      }
      this.session = session
      this.sessionImage = image
      terminal?.attach(session.feed)
      session.onCommandDone(() => {
        this.commandCount++
        this.keepSandbox()
        void this.checkStep(false)
      })
      await session.ready
      if (generation !== this.generation) return undefined
      this.sessionReady = true
      const seconds = (performance.now() - t0) / 1000
      this.startTimes.set(id, seconds)
      // The other runtimes' last start times stay on show: comparing them is a lesson.
      const others = [...this.startTimes].filter(([other]) => other !== id).map(([other, s]) => `${RUNTIME_LABELS[other]} took ${s.toFixed(2)} s`)
      const restoredNote = kept.changes?.entries.length ? 'your files from last time are back' : kept.note
      this.status = [`${label}: ready in ${seconds.toFixed(2)} s`, ...(restoredNote ? [restoredNote] : []), ...others].join(' · ')
      this.stepStart = session.transcript().length
      void session.ended.then((why) => {
        if (this.session === session) this.status = `${label}: ${why}`
      })
      return session
    } catch (e) {
      if (generation === this.generation) {
        this.status = `${label} could not start: ${e instanceof Error ? e.message : String(e)}`
        this.starting = undefined
      }
      return undefined
    }
  }

  /** A fresh sandbox in `id` (default: the current runtime). Progress is kept. */
  async restart(id: LessonRuntimeId = this.current ?? this.runtime): Promise<LessonSession | undefined> {
    this.session?.dispose()
    this.session = undefined
    this.starting = this.startSandbox(id)
    return this.starting
  }

  private onRunRequest(e: CustomEvent<RunRequestDetail>): void {
    e.stopPropagation()
    void this.ensureSession().then((session) => {
      session?.typeLine(e.detail.command)
      this.terminal?.focusTerminal()
    })
  }

  private goTo(index: number, allowSwitch = true): void {
    const steps = this.steps
    if (index < 0 || index >= steps.length) return
    this.active = index
    steps.forEach((s, i) => (s.active = i === index))
    this.stepStart = this.session?.transcript().length ?? 0
    if (allowSwitch) this.saveProgress()
    const wanted = steps[index]!.runtime as LessonRuntimeId | undefined
    if (allowSwitch && wanted && wanted !== this.current && (LESSON_RUNTIMES as readonly string[]).includes(wanted)) void this.restart(wanted)
  }

  /** Runs the active step's checks in the sandbox; `explicit` when the learner pressed Check. */
  async checkStep(explicit: boolean): Promise<boolean> {
    const index = this.active
    const step = this.steps[index]
    if (!step || (step.passed && !explicit)) return step?.passed ?? false
    if (this.checking) {
      this.recheck = true
      return false
    }
    this.checking = true
    try {
      const session = await this.ensureSession()
      if (!session) {
        step.status = 'failed'
        step.message = this.status || 'The sandbox is not running: press Reset.'
        return false
      }
      await session.ready
      step.status = 'checking'
      step.message = 'Checking…'
      for (const check of step.checks) {
        let ok: boolean
        let problem: string | undefined
        const pattern = check.output
        if (pattern) {
          ok = pattern.test(session.transcript().slice(this.stepStart))
        } else {
          const r = await session.check(check.command ?? 'true')
          ok = r.code === 0
          problem = r.problem
        }
        if (this.active !== index) return false // the learner moved on meanwhile
        if (!ok) {
          step.status = 'failed'
          step.message = problem && explicit ? `${check.hint} (${problem})` : check.hint
          return false
        }
      }
      const first = !step.passed
      step.status = 'passed'
      step.message = index < this.steps.length - 1 ? 'Passed! Go on to the next step.' : 'Passed! That was the last step.'
      if (first) this.onStepPassed(index, step)
      return true
    } finally {
      this.checking = false
      if (this.recheck) {
        this.recheck = false
        void this.checkStep(false)
      }
    }
  }

  private onStepPassed(index: number, step: BoxplayStep): void {
    this.passedCount = this.steps.filter((s) => s.passed).length
    this.saveProgress()
    const detail: StepPassedDetail = { lesson: this.lessonName, step: index, heading: step.heading || `Step ${index + 1}`, runtime: this.current ?? this.runtime }
    this.dispatchEvent(new CustomEvent('boxplay-step-passed', { detail, bubbles: true, composed: true }))
    if (!this.completed && this.steps.every((s) => s.passed)) {
      this.completed = true
      const done: LessonCompleteDetail = { lesson: this.lessonName, steps: this.steps.length }
      this.dispatchEvent(new CustomEvent('boxplay-lesson-complete', { detail: done, bubbles: true, composed: true }))
    }
  }

  private switchTo(id: LessonRuntimeId): void {
    if (id === this.current && this.session) return
    void this.restart(id)
  }

  override render() {
    const steps = this.steps
    const complete = steps.length > 0 && steps.every((s) => s.passed)
    return html`
      <header>
        <h2>${this.heading ?? 'Lesson'}</h2>
        <div class="switch" role="group" aria-label="Where the sandbox runs">
          ${this.offered.length > 1
            ? this.offered.map((id) => {
                const choice = this.choices.get(id)
                const reason = choice && !choice.availability.ok ? choice.availability.reason : undefined
                return html`<button type="button" class="runtime" data-runtime=${id} aria-pressed=${this.current === id ? 'true' : 'false'}
                  ?disabled=${reason !== undefined} title=${reason ?? `Run the sandbox as a ${RUNTIME_LABELS[id]}`} @click=${() => this.switchTo(id)}>
                  ${RUNTIME_LABELS[id]}
                </button>`
              })
            : nothing}
          <button type="button" class="reset" title="Throw this sandbox and its kept files away and start a fresh one from the image (progress stays)" @click=${() => void this.resetSandbox()}>Reset</button>
          <button type="button" class="start-over" title="Forget this lesson's progress and sandbox files, and begin again at step 1" @click=${() => void this.startOver()}>Start over</button>
        </div>
      </header>
      <div class="layout">
        <section class="steps" aria-label="Steps">
          <nav aria-label="Progress">
            <p class="progress ${complete ? 'complete' : ''}">${complete ? 'Lesson complete!' : `${this.passedCount} of ${steps.length} steps done`}</p>
            <ol>
              ${steps.map(
                (s, i) => html`<li><button type="button" class=${s.passed ? 'passed' : ''} aria-current=${i === this.active ? 'step' : 'false'}
                  aria-label=${`Step ${i + 1}: ${s.heading}${s.passed ? ' (done)' : ''}`} @click=${() => this.goTo(i)}>${s.passed ? '✓' : i + 1}</button></li>`,
              )}
            </ol>
          </nav>
          <slot @slotchange=${() => this.requestUpdate()}></slot>
        </section>
        <section class="side" aria-label="Sandbox">
          <div class="status muted" role="status" aria-live="polite">${this.status}</div>
          <bp-terminal label=${`Terminal: ${this.image} in ${RUNTIME_LABELS[this.current ?? this.runtime]}`}></bp-terminal>
        </section>
      </div>
    `
  }
}
