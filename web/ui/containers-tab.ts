// <bp-containers-tab>: the Containers tab. The learner's kept containers and images
// (<bp-containers>, containers-panel.ts) given the session's store; Resume attaches the page
// to a container and runs it in the terminal, a commit joins the image picker, and every
// save of a container's files (the session's 'save' events) refreshes the list or reports a
// refusal (a full store offers the oldest for removal).

import { css, html } from 'lit'
import type { ContainerRecord } from '../store/container-store.js'
import type { SaveReport } from './container-session.js'
import { containerImage } from './container-session.js'
import type { ContainersPanel } from './containers-panel.js'
import { message, type PlaygroundSession } from './playground-session.js'
import { SessionElement, type PanelActions } from './session-element.js'
import './containers-panel.js'

export class ContainersTab extends SessionElement implements PanelActions {
  static override styles = css`
    :host { display: block; }
  `
  private listening: PlaygroundSession | undefined

  private readonly onSave = (e: Event): void => {
    const report = (e as CustomEvent<SaveReport>).detail
    const panel = this.panel
    if (report.error) panel?.reportError(report.error)
    void panel?.refresh()
  }

  private get panel(): ContainersPanel | null {
    return this.renderRoot.querySelector('bp-containers')
  }

  override willUpdate(changed: Map<string, unknown>): void {
    super.willUpdate(changed)
    if (this.listening !== this.session) {
      this.listening?.removeEventListener('save', this.onSave)
      this.session?.addEventListener('save', this.onSave)
      this.listening = this.session
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.listening?.removeEventListener('save', this.onSave)
    this.listening = undefined
  }

  shown(): void {
    void this.panel?.refresh()
  }

  private async resume(name: string): Promise<void> {
    const s = this.session!
    try {
      await s.attach(name)
      s.update({ view: 'terminal', error: undefined })
      s.syncUrl()
      // The app runs the open panel's action: now the terminal's.
      this.dispatchEvent(new CustomEvent('run-request', { bubbles: true, composed: true }))
    } catch (e) {
      s.update({ error: message(e) })
    }
  }

  override render() {
    const s = this.session
    return html`<bp-containers
      .store=${s?.store}
      .unavailable=${s?.storeProblem}
      .active=${s?.attached}
      .resolveBase=${(record: ContainerRecord) => containerImage(s!.store!, s?.catalog, record)}
      @container-resume=${(e: CustomEvent<string>) => this.resume(e.detail)}
      @images-change=${() => void s?.refreshKeptImages()}
    ></bp-containers>`
  }
}
customElements.define('bp-containers-tab', ContainersTab)
