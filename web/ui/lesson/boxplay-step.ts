// <boxplay-step>: one step of a lesson. Its children are the instructions (plain HTML,
// <boxplay-run> snippets), its <boxplay-check>s and an optional <boxplay-solution> (or a
// `solution` attribute). The step draws its own controls (Check, Show solution, Next) and
// reports presses to its lesson by events; the lesson runs the checks and sets the state.
//   heading="…"   the step's title; runtime="native"  the runtime this step needs.

import { LitElement, css, html, nothing } from 'lit'
import { BoxplayCheck } from './boxplay-check.js'
import { BoxplaySolution } from './boxplay-solution.js'

export type StepStatus = 'todo' | 'checking' | 'passed' | 'failed'

export class BoxplayStep extends LitElement {
  static override properties = {
    heading: { reflect: true },
    runtime: { reflect: true },
    solution: {},
    active: { type: Boolean, reflect: true },
    status: { reflect: true },
    message: {},
    index: { type: Number },
    total: { type: Number },
    revealed: { state: true },
  }
  declare heading: string
  declare runtime: string | undefined
  declare solution: string | undefined
  declare active: boolean
  declare status: StepStatus
  declare message: string
  declare index: number
  declare total: number
  declare revealed: boolean

  static override styles = css`
    :host { display: none; }
    :host([active]) { display: block; }
    h3 { margin: 0 0 0.6rem; font-size: 1.1rem; }
    .count { color: var(--bp-muted, #5c6166); font-weight: 400; font-size: 0.9rem; }
    .body { line-height: 1.5; }
    .controls { display: flex; flex-wrap: wrap; gap: 0.5rem; margin-top: 1rem; align-items: center; }
    button {
      font: inherit; min-height: 2.5rem; border-radius: 8px; padding: 0 1rem; cursor: pointer;
      border: 1px solid var(--bp-border, #d5d7da); background: var(--bp-panel, #fff); color: var(--bp-text, #1d1f21);
    }
    button.primary { background: var(--bp-accent, #1b6ac9); color: var(--bp-accent-text, #fff); border-color: var(--bp-accent, #1b6ac9); font-weight: 600; }
    button:disabled { opacity: 0.55; cursor: not-allowed; }
    button:focus-visible { outline: 3px solid var(--bp-accent, #1b6ac9); outline-offset: 2px; }
    .result { margin-top: 0.8rem; padding: 0.6rem 0.8rem; border-radius: 8px; border: 1px solid transparent; }
    .result:empty { display: none; }
    .passed { border-color: var(--bp-ok, #1e7b34); color: var(--bp-ok, #1e7b34); }
    .failed { border-color: var(--bp-danger, #b3261e); color: var(--bp-danger, #b3261e); }
    .checking { color: var(--bp-muted, #5c6166); }
    .solution { margin-top: 0.8rem; padding: 0.6rem 0.8rem; border-left: 4px solid var(--bp-accent, #1b6ac9); background: var(--bp-code-bg, #f0f1f3); white-space: pre-wrap; }
    @media (prefers-color-scheme: dark) { .solution { background: #2a2e33; } }
  `

  constructor() {
    super()
    this.heading = ''
    this.active = false
    this.status = 'todo'
    this.message = ''
    this.index = 0
    this.total = 1
    this.revealed = false
  }

  get checks(): BoxplayCheck[] {
    return [...this.querySelectorAll('boxplay-check')].filter((c): c is BoxplayCheck => c instanceof BoxplayCheck)
  }

  private get solutionElement(): BoxplaySolution | undefined {
    const el = this.querySelector('boxplay-solution')
    return el instanceof BoxplaySolution ? el : undefined
  }

  get passed(): boolean {
    return this.status === 'passed'
  }

  /** Clears the result and hides the solution (a fresh start of the step). */
  resetState(): void {
    this.status = 'todo'
    this.message = ''
    this.setRevealed(false)
  }

  private setRevealed(on: boolean): void {
    this.revealed = on
    this.solutionElement?.toggleAttribute('revealed', on)
  }

  private ask(what: 'check' | 'next' | 'previous'): void {
    this.dispatchEvent(new CustomEvent(`boxplay-step-${what}`, { detail: { step: this.index }, bubbles: true, composed: true }))
  }

  override render() {
    const hasSolution = this.solutionElement !== undefined || !!this.solution
    const last = this.index >= this.total - 1
    return html`
      <h3 id="title">${this.heading || `Step ${this.index + 1}`} <span class="count">(${this.index + 1} of ${this.total})</span></h3>
      <div class="body"><slot></slot></div>
      ${this.revealed && this.solution ? html`<div class="solution" part="solution">${this.solution}</div>` : nothing}
      <div class="result ${this.status}" role="status" aria-live="polite" part="result">${this.message}</div>
      <div class="controls">
        ${this.index > 0 ? html`<button type="button" class="previous" @click=${() => this.ask('previous')}>Previous</button>` : nothing}
        ${this.checks.length
          ? html`<button type="button" class="check ${this.passed ? '' : 'primary'}" ?disabled=${this.status === 'checking'} @click=${() => this.ask('check')}>
              ${this.status === 'checking' ? 'Checking…' : 'Check'}
            </button>`
          : nothing}
        ${hasSolution
          ? html`<button type="button" class="solution-toggle" aria-expanded=${this.revealed ? 'true' : 'false'} @click=${() => this.setRevealed(!this.revealed)}>
              ${this.revealed ? 'Hide solution' : 'Show solution'}
            </button>`
          : nothing}
        ${last
          ? nothing
          : html`<button type="button" class="next ${this.passed || !this.checks.length ? 'primary' : ''}" @click=${() => this.ask('next')}>Next step</button>`}
      </div>
    `
  }
}
