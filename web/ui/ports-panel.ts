// <bp-ports-panel>: the TCP ports the current run listens on (asked of the run every two
// seconds while the panel is shown: a v86 guest's init reads its /proc/net/tcp), and a
// preview of an HTTP port in a frame. The frame's address is the service worker's preview
// route (web/coi-sw.ts), which the page answers through the guest's LAN
// (web/ui/preview-bridge.ts). The worker's answer carries a CSP sandbox, so what a guest
// serves runs in an opaque origin, never as the playground. (No sandbox attribute on the
// frame: a sandboxed frame's navigation would bypass the worker.)

import { LitElement, css, html } from 'lit'
import { previewUrl } from '../preview-protocol.js'
import type { ListeningPort, Run } from '../runtimes/runtime.js'
import { theme } from './theme.js'

const POLL_MS = 2000

export class PortsPanel extends LitElement {
  static override properties = {
    run: { attribute: false },
    previewBase: { attribute: false },
    previewable: { type: Boolean },
    ports: { state: true },
    previewing: { state: true },
  }
  declare run: Run | undefined
  /** The service worker's scope (where `__preview/` lives). */
  declare previewBase: string
  /** Whether the run is on the page's LAN, so its ports can be previewed. */
  declare previewable: boolean
  declare ports: ListeningPort[] | undefined
  declare previewing: number | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private polledRun: Run | undefined

  static override styles = [
    theme,
    css`
      :host { display: grid; gap: 0.75rem; }
      ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.35rem; }
      li { display: flex; gap: 0.75rem; align-items: center; font-family: ui-monospace, monospace; }
      iframe { width: 100%; height: 24rem; border: 1px solid var(--bp-border); border-radius: var(--bp-radius); background: #fff; }
      .bar { display: flex; gap: 0.75rem; align-items: baseline; }
    `,
  ]

  constructor() {
    super()
    this.run = undefined
    this.previewBase = globalThis.document?.baseURI ?? ''
    this.previewable = false
    this.ports = undefined
    this.previewing = undefined
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.schedule(0)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('run') && this.run !== this.polledRun) {
      this.polledRun = this.run
      this.ports = undefined
      this.previewing = undefined
      this.schedule(0)
    }
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.poll(), ms)
  }

  private async poll(): Promise<void> {
    this.timer = undefined
    const run = this.run
    if (!run || !this.isConnected || typeof run.listening !== 'function') return
    // A hidden page shows nothing: do not wake the guest to ask it (each ask is an init frame).
    if (document.hidden) {
      this.schedule(POLL_MS)
      return
    }
    const ports = await run.listening().catch(() => [])
    if (run !== this.run) return
    this.ports = ports
    let ended = false
    void run.exit.then(() => (ended = true))
    await Promise.resolve()
    if (!ended) this.schedule(POLL_MS)
    else this.ports = []
  }

  private url(port: number): string {
    return previewUrl(this.previewBase, this.run!.id, port)
  }

  override render() {
    const run = this.run
    if (!run) return html`<p class="muted" role="status">Start a run that serves something (e.g. <code>httpd -f -p 80</code> in busybox on v86) to see its ports.</p>`
    if (typeof run.listening !== 'function') return html`<p class="muted" role="status">The ${run.kind} runtime does not report the ports it listens on yet.</p>`
    if (!this.ports) return html`<p class="muted" role="status">Asking the run what it listens on…</p>`
    if (this.ports.length === 0) return html`<p class="muted" role="status">Nothing listens on a TCP port in this run (yet).</p>`
    return html`
      <ul aria-label="Listening ports">
        ${this.ports.map((p) => {
          const local = p.address.startsWith('127.')
          return html`<li>
            <span>${p.port}/${p.protocol}</span><span class="muted">on ${p.address}</span>
            ${local
              ? html`<span class="muted">only reachable inside the run</span>`
              : this.previewable
                ? html`<button @click=${() => (this.previewing = p.port)} aria-pressed=${this.previewing === p.port}>Preview</button>`
                : html`<span class="muted">not on the page's network</span>`}
          </li>`
        })}
      </ul>
      ${this.previewing !== undefined
        ? html`<div class="bar"><strong>Preview of port ${this.previewing}</strong><a href=${this.url(this.previewing)} target="_blank" rel="noopener">open in a new tab</a></div>
            <iframe title="Preview of port ${this.previewing}" src=${this.url(this.previewing)}></iframe>`
        : ''}
    `
  }
}
customElements.define('bp-ports-panel', PortsPanel)
