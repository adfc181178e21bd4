// The base of every playground panel: a lit element given the shared PlaygroundSession, which
// renders again whenever the session changes. A panel may also act on the Run button (run())
// and on being shown (shown()); the app calls both without knowing which panel it holds.

import { LitElement } from 'lit'
import type { PlaygroundSession } from './playground-session.js'

export abstract class SessionElement extends LitElement {
  static override properties = { session: { attribute: false } }
  declare session: PlaygroundSession | undefined
  private readonly onChange = (): void => this.requestUpdate()
  private subscribed: PlaygroundSession | undefined

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('session') && this.subscribed !== this.session) {
      this.subscribed?.removeEventListener('change', this.onChange)
      this.session?.addEventListener('change', this.onChange)
      this.subscribed = this.session
    }
  }

  override connectedCallback(): void {
    super.connectedCallback()
    if (this.subscribed) this.subscribed.addEventListener('change', this.onChange)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.subscribed?.removeEventListener('change', this.onChange)
  }
}

/** What the app may ask of a panel. */
export interface PanelActions {
  /** The Run button while this panel is open. */
  run?(): Promise<void>
  /** Called each time the panel is opened. */
  shown?(): void
}
