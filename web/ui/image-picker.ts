// <bp-image-picker>: choose an image (the store's or the bundled ones), pull one into the
// server's store, or drop a `docker save` tarball that the browser opens by itself.

import { LitElement, css, html } from 'lit'
import { theme } from './theme.js'

export interface PickerEntry {
  name: string
  origin: string
}

export class ImagePicker extends LitElement {
  static override properties = {
    entries: { attribute: false },
    selected: {},
    canPull: { type: Boolean },
    busy: { type: Boolean },
    dragging: { state: true },
  }
  declare entries: PickerEntry[]
  declare selected: string | undefined
  declare canPull: boolean
  declare busy: boolean
  declare dragging: boolean

  static override styles = [
    theme,
    css`
      :host { display: grid; gap: 0.75rem; }
      label { font-weight: 600; display: block; margin-bottom: 0.3rem; }
      select { width: 100%; }
      form { display: flex; gap: 0.5rem; }
      form input { flex: 1; min-width: 0; }
      .drop {
        border: 2px dashed var(--bp-border); border-radius: var(--bp-radius); padding: 0.75rem;
        text-align: center; font-size: 0.9rem;
      }
      .drop[data-dragging] { border-color: var(--bp-accent); background: color-mix(in srgb, var(--bp-accent) 10%, transparent); }
      .drop button { margin-top: 0.4rem; }
    `,
  ]

  constructor() {
    super()
    this.entries = []
    this.selected = undefined
    this.canPull = false
    this.busy = false
    this.dragging = false
  }

  private emit<T>(name: string, detail: T): void {
    this.dispatchEvent(new CustomEvent<T>(name, { detail, bubbles: true, composed: true }))
  }

  private onPull(e: SubmitEvent): void {
    e.preventDefault()
    const input = (e.target as HTMLFormElement).elements.namedItem('ref') as HTMLInputElement
    const ref = input.value.trim()
    if (ref) this.emit('pull-request', ref)
  }

  private onFiles(files: FileList | null | undefined): void {
    const file = files?.[0]
    if (file) this.emit('archive-drop', file)
  }

  override render() {
    const groups = new Map<string, PickerEntry[]>()
    for (const e of this.entries) groups.set(e.origin, [...(groups.get(e.origin) ?? []), e])
    const titles: Record<string, string> = { store: 'In the server’s store', bundled: 'Bundled', dropped: 'Dropped in', built: 'Built in this page', kept: 'Kept in this browser' }
    return html`
      <div>
        <label for="image">Image</label>
        <select id="image" ?disabled=${this.busy || this.entries.length === 0} @change=${(e: Event) => this.emit('image-change', (e.target as HTMLSelectElement).value)}>
          ${this.entries.length === 0 ? html`<option>no images found</option>` : ''}
          ${[...groups].map(
            ([origin, entries]) => html`<optgroup label=${titles[origin] ?? origin}>
              ${entries.map((e) => html`<option .value=${e.name} ?selected=${e.name === this.selected}>${e.name}</option>`)}
            </optgroup>`,
          )}
        </select>
      </div>
      ${this.canPull
        ? html`<form @submit=${this.onPull} aria-label="Pull an image into the server's store">
            <label class="visually-hidden" for="ref">Image reference to pull</label>
            <input id="ref" name="ref" placeholder="127.0.0.1:5000/name:tag" autocomplete="off" spellcheck="false" ?disabled=${this.busy} />
            <button type="submit" ?disabled=${this.busy}>Pull</button>
          </form>`
        : ''}
      <div
        class="drop"
        ?data-dragging=${this.dragging}
        @dragover=${(e: DragEvent) => {
          e.preventDefault()
          this.dragging = true
        }}
        @dragleave=${() => (this.dragging = false)}
        @drop=${(e: DragEvent) => {
          e.preventDefault()
          this.dragging = false
          this.onFiles(e.dataTransfer?.files)
        }}
      >
        <span class="muted">Drop a <code>docker save</code> tarball here, opened in your browser</span><br />
        <input id="file" class="visually-hidden" type="file" accept=".tar,application/x-tar" @change=${(e: Event) => this.onFiles((e.target as HTMLInputElement).files)} />
        <button type="button" ?disabled=${this.busy} @click=${() => this.renderRoot.querySelector<HTMLInputElement>('#file')?.click()}>Open a tarball…</button>
      </div>
    `
  }
}
customElements.define('bp-image-picker', ImagePicker)
