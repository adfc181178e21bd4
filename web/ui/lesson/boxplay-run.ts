// <boxplay-run>: a command in a lesson's instructions. Clicking it (or Enter/Space on it)
// types the command into the lesson's terminal and runs it. The lesson listens for the
// `boxplay-run-request` event it sends.

import { LitElement, css, html } from 'lit'

export interface RunRequestDetail {
  command: string
}

export class BoxplayRun extends LitElement {
  static override styles = css`
    :host { display: block; margin: 0.5rem 0; }
    :host([inline]) { display: inline-block; margin: 0; }
    button {
      display: flex; align-items: center; gap: 0.6rem; width: 100%; text-align: left;
      font: 0.95rem/1.4 ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace;
      background: var(--bp-code-bg, #f0f1f3); color: inherit; border: 1px solid var(--bp-border, #d5d7da);
      border-radius: 6px; padding: 0.45rem 0.7rem; min-height: 2.5rem; cursor: pointer; white-space: pre-wrap; word-break: break-word;
    }
    button:hover { border-color: var(--bp-accent, #1b6ac9); }
    button:focus-visible { outline: 3px solid var(--bp-accent, #1b6ac9); outline-offset: 2px; }
    .go { flex: none; font-family: system-ui, sans-serif; font-size: 0.8rem; color: var(--bp-accent, #1b6ac9); font-weight: 600; }
    code { flex: 1; }
    @media (prefers-color-scheme: dark) { button { background: #2a2e33; } }
  `

  /** The command: the `command` attribute, or the element's text. */
  get command(): string {
    return (this.getAttribute('command') ?? this.textContent ?? '').trim()
  }

  override render() {
    return html`<button type="button" part="button" aria-label=${`Run in the terminal: ${this.command}`} @click=${this.request}>
      <code><slot></slot></code><span class="go" aria-hidden="true">▶ run</span>
    </button>`
  }

  private request(): void {
    this.dispatchEvent(new CustomEvent<RunRequestDetail>('boxplay-run-request', { detail: { command: this.command }, bubbles: true, composed: true }))
  }
}
