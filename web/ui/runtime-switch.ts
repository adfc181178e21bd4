// <bp-runtime-switch>: pick where the image runs. A runtime that cannot run the image, or is
// not available here, stays visible but disabled, with the reason under it.

import { LitElement, css, html } from 'lit'
import type { RuntimeId } from './deep-link.js'
import { theme } from './theme.js'

export interface SwitchOption {
  id: RuntimeId
  label: string
  blurb: string
  /** Set when the option cannot be chosen: the reason, in words. */
  disabledReason?: string
}

export class RuntimeSwitch extends LitElement {
  static override properties = { options: { attribute: false }, selected: {} }
  declare options: SwitchOption[]
  declare selected: RuntimeId | undefined

  static override styles = [
    theme,
    css`
      fieldset { border: 0; margin: 0; padding: 0; display: grid; gap: 0.5rem; }
      legend { font-weight: 600; margin-bottom: 0.4rem; }
      label {
        display: grid; grid-template-columns: auto 1fr; gap: 0.1rem 0.6rem; align-items: start;
        border: 1px solid var(--bp-border); border-radius: var(--bp-radius); padding: 0.6rem 0.75rem;
        background: var(--bp-panel); cursor: pointer;
      }
      label[data-selected] { border-color: var(--bp-accent); box-shadow: 0 0 0 1px var(--bp-accent); }
      label[data-disabled] { cursor: not-allowed; opacity: 0.75; }
      input { margin: 0.2rem 0 0; min-height: 0; width: 1.1rem; height: 1.1rem; }
      .name { font-weight: 600; }
      .blurb, .reason { grid-column: 2; font-size: 0.85rem; }
      .reason { color: var(--bp-danger); }
      .dot { display: inline-block; width: 0.6rem; height: 0.6rem; border-radius: 50%; margin-right: 0.4rem; }
    `,
  ]

  constructor() {
    super()
    this.options = []
    this.selected = undefined
  }

  private pick(id: RuntimeId): void {
    this.selected = id
    this.dispatchEvent(new CustomEvent<RuntimeId>('runtime-change', { detail: id, bubbles: true, composed: true }))
  }

  override render() {
    return html`<fieldset>
      <legend>Runtime</legend>
      ${this.options.map(
        (o) => html`<label data-runtime=${o.id} ?data-selected=${this.selected === o.id} ?data-disabled=${!!o.disabledReason}>
          <input
            type="radio"
            name="runtime"
            .value=${o.id}
            .checked=${this.selected === o.id}
            ?disabled=${!!o.disabledReason}
            aria-describedby="blurb-${o.id} ${o.disabledReason ? `reason-${o.id}` : ''}"
            @change=${() => this.pick(o.id)}
          />
          <span class="name"><span class="dot" style="background: var(--bp-${o.id})"></span>${o.label}</span>
          <span class="blurb muted" id="blurb-${o.id}">${o.blurb}</span>
          ${o.disabledReason ? html`<span class="reason" id="reason-${o.id}">Unavailable: ${o.disabledReason}</span>` : ''}
        </label>`,
      )}
    </fieldset>`
  }
}
customElements.define('bp-runtime-switch', RuntimeSwitch)
