// <bp-ports-tab>: the Ports tab. The ports the run on screen listens on, and previews of its
// HTTP ports when it is a v86 guest on the page's LAN (ports-panel.ts does the work).

import { css, html } from 'lit'
import { SessionElement } from './session-element.js'
import './ports-panel.js'

export class PortsTab extends SessionElement {
  static override styles = css`
    :host { display: block; }
  `

  override render() {
    const held = this.session?.held
    return html`<bp-ports-panel .run=${held?.run} .previewable=${held?.onLan ?? false}></bp-ports-panel>`
  }
}
customElements.define('bp-ports-tab', PortsTab)
