// <bp-progress>: one slow thing in words and, when its size is known, a bar.

import { LitElement, css, html } from 'lit'
import { theme } from './theme.js'

export class ProgressLine extends LitElement {
  static override properties = { label: {}, loaded: { type: Number }, total: { type: Number } }
  declare label: string
  declare loaded: number
  declare total: number | undefined

  static override styles = [
    theme,
    css`
      :host { display: flex; gap: 0.75rem; align-items: center; font-size: 0.9rem; }
      progress { flex: 1; max-width: 16rem; height: 0.6rem; }
    `,
  ]

  constructor() {
    super()
    this.label = ''
    this.loaded = 0
    this.total = undefined
  }

  override render() {
    const known = this.total !== undefined && this.total > 0
    const mb = (n: number) => (n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0)
    const amount = this.loaded > 0 ? (known ? ` ${mb(this.loaded)} / ${mb(this.total!)} MB` : ` ${mb(this.loaded)} MB`) : ''
    return html`<span role="status" aria-live="polite">${this.label}${amount}</span>
      ${known
        ? html`<progress max=${this.total!} .value=${this.loaded} aria-label=${this.label}></progress>`
        : html`<progress aria-label=${this.label}></progress>`}`
  }
}
customElements.define('bp-progress', ProgressLine)
