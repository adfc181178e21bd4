// <bp-terminal>: an xterm.js terminal bound to one Run at a time. Keystrokes go to the run's
// stdin, output comes back as written, and the terminal's size follows the element.

import { FitAddon } from '@xterm/addon-fit'
import { Terminal } from '@xterm/xterm'
import xtermCss from '@xterm/xterm/css/xterm.css?inline'
import { LitElement, css, html, unsafeCSS } from 'lit'
import type { Run } from '../runtimes/runtime.js'

export class TerminalView extends LitElement {
  static override properties = { label: {} }
  declare label: string

  static override styles = [
    unsafeCSS(xtermCss),
    css`
      :host { display: block; position: relative; background: #121417; border-radius: 8px; padding: 0.5rem; min-height: 12rem; }
      .host { position: absolute; inset: 0.5rem; }
    `,
  ]

  private term: Terminal | undefined
  private fit = new FitAddon()
  private run: Run | undefined
  private unsubscribe: (() => void) | undefined
  private observer: ResizeObserver | undefined

  constructor() {
    super()
    this.label = 'Terminal'
  }

  override render() {
    return html`<div class="host" role="region" aria-label=${this.label}></div>`
  }

  override firstUpdated(): void {
    const term = new Terminal({
      cursorBlink: true,
      fontSize: 14,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      scrollback: 5000,
      theme: { background: '#121417' },
      screenReaderMode: false,
    })
    term.loadAddon(this.fit)
    term.open(this.renderRoot.querySelector('.host') as HTMLElement)
    term.onData((data) => this.run?.write(data))
    term.onResize(({ cols, rows }) => this.run?.resize(cols, rows))
    this.term = term
    this.observer = new ResizeObserver(() => this.refit())
    this.observer.observe(this)
    this.refit()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.observer?.disconnect()
    this.unsubscribe?.()
  }

  private refit(): void {
    try {
      if (this.offsetWidth > 0 && this.offsetHeight > 0) this.fit.fit()
    } catch {
      // not laid out yet: the next resize fits it
    }
  }

  /** The size to start a run with, so its first lines already wrap right. */
  get size(): { cols: number; rows: number } {
    return { cols: this.term?.cols ?? 80, rows: this.term?.rows ?? 24 }
  }

  /**
   * Shows `run` from now on; its output buffered so far is replayed. Takes the keyboard focus
   * unless `focus` is false (the learner moved on to another control while the run started).
   */
  attach(run: Run, opts: { convertEol?: boolean; focus?: boolean } = {}): void {
    this.unsubscribe?.()
    this.run = run
    if (this.term) this.term.options.convertEol = opts.convertEol ?? false
    this.unsubscribe = run.onOutput((chunk) => this.term?.write(chunk.data))
    if (opts.focus ?? true) this.term?.focus()
  }

  detach(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.run = undefined
  }

  /** A line from the playground itself (dimmed), not from the run. */
  note(text: string): void {
    this.term?.write(`\r\n\x1b[2m${text.replace(/\n/g, '\r\n')}\x1b[0m\r\n`)
  }

  clear(): void {
    this.term?.reset()
  }

  focusTerminal(): void {
    this.term?.focus()
  }

  /** The text on screen and in the scrollback (the tests read the terminal with it). */
  text(): string {
    const buffer = this.term?.buffer.active
    if (!buffer) return ''
    const lines: string[] = []
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '')
    return lines.join('\n').trimEnd()
  }
}
customElements.define('bp-terminal', TerminalView)
