// <bp-command-bar>: the command to run (empty: the image's own), the name to keep the run
// under as a container (or the kept container it runs), Run (or the open panel's action),
// Stop and Copy link. Run is announced as a 'run-request' event; the app decides
// which panel runs it.

import { css, html } from 'lit'
import { SessionElement } from './session-element.js'
import { theme } from './theme.js'

export class CommandBar extends SessionElement {
  static override properties = { ...SessionElement.properties, action: {}, enabled: { type: Boolean } }
  /** The Run button's label. */
  declare action: string
  declare enabled: boolean

  static override styles = [
    theme,
    css`
      form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; }
      .field { flex: 1 1 16rem; display: grid; gap: 0.3rem; }
      .field.name { flex: 0 1 12rem; }
      label { font-weight: 600; }
      input { font-family: ui-monospace, monospace; }
    `,
  ]

  constructor() {
    super()
    this.action = 'Run'
    this.enabled = false
  }

  private async copyLink(): Promise<void> {
    const url = `${location.origin}${location.pathname}${location.search}`
    try {
      await navigator.clipboard.writeText(url)
      this.session?.update({ exitNote: 'Link copied.' })
    } catch {
      this.session?.update({ exitNote: `Link: ${url}` })
    }
  }

  override render() {
    const s = this.session
    return html`
      <form
        @submit=${(e: Event) => {
          e.preventDefault()
          this.dispatchEvent(new CustomEvent('run-request', { bubbles: true, composed: true }))
        }}
      >
        <div class="field">
          <label for="cmd">Command <span class="muted">(empty: the image’s own)</span></label>
          <input id="cmd" name="cmd" .value=${s?.command ?? ''} @input=${(e: Event) => s && (s.command = (e.target as HTMLInputElement).value)} placeholder="uname -a" autocomplete="off" spellcheck="false" />
        </div>
        <div class="field name">
          ${s?.attached
            ? html`<span>Container <strong id="attached">${s.attached}</strong> <span class="muted">(kept in this browser)</span></span>
                <button type="button" id="detach" @click=${() => s.detach()}>New run</button>`
            : html`<label for="container-name">Keep as container <span class="muted">(optional)</span></label>
                <input id="container-name" .value=${s?.newName ?? ''} @input=${(e: Event) => {
                  if (!s) return
                  s.newName = (e.target as HTMLInputElement).value
                  s.syncUrl()
                }} placeholder="work" autocomplete="off" spellcheck="false" />`}
        </div>
        <button class="primary" id="run" type="submit" ?disabled=${!this.enabled}>${this.action}</button>
        <button type="button" id="stop" ?disabled=${!s?.running} @click=${() => s?.stop()}>Stop</button>
        <button type="button" id="share" @click=${() => this.copyLink()}>Copy link</button>
      </form>
    `
  }
}
customElements.define('bp-command-bar', CommandBar)
