// <bp-build-layers>: the layers of a built image, bottom first: each one's size, the step that
// made it (the config's history) and, on demand, what it changed: the Files view of the tree
// after the layer compared with the tree before it. Steps that made no layer (ENV, CMD…) are
// listed too, as config only.

import { LitElement, css, html } from 'lit'
import { buildRootFs, type ResolvedImage } from '../oci/image.js'
import { buildLazyRootFs } from '../oci/layer-index.js'
import type { RootFs } from '../oci/rootfs.js'
import { theme } from './theme.js'
import './file-panel.js'

interface Row {
  createdBy: string
  /** Index into the image's layers, or undefined for a step that made none. */
  layer?: number
}

function rowsOf(image: ResolvedImage): Row[] {
  const history = (image.configFile.history ?? []) as { created_by?: string; empty_layer?: boolean }[]
  const rows: Row[] = []
  let layer = 0
  for (const h of history) {
    const createdBy = h.created_by ?? ''
    if (h.empty_layer) rows.push({ createdBy })
    else rows.push({ createdBy, layer: layer++ })
  }
  // Layers the history does not account for (an image built elsewhere may have none).
  while (layer < image.layers.length) rows.push({ createdBy: '(no history)', layer: layer++ })
  return rows
}

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1048576).toFixed(1)} MB`
}

export class BuildLayers extends LitElement {
  static override properties = { image: { attribute: false }, previous: { attribute: false }, shown: { state: true }, lowerTree: { state: true }, upperTree: { state: true }, note: { state: true } }
  declare image: ResolvedImage | undefined
  /** The layer digests of the build before, if any: each layer is then marked new or the same. */
  declare previous: readonly string[] | undefined
  /** The layer whose changes are on screen. */
  declare shown: number | undefined
  declare lowerTree: RootFs | undefined
  declare upperTree: RootFs | undefined
  declare note: string

  static override styles = [
    theme,
    css`
      :host { display: grid; gap: 0.75rem; }
      table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
      th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--bp-border); vertical-align: top; }
      td.step { font-family: ui-monospace, monospace; word-break: break-all; }
      td.size { white-space: nowrap; }
      tr[data-selected] { background: color-mix(in srgb, var(--bp-accent) 10%, transparent); }
      button { min-height: 2rem; }
      .new { color: var(--bp-wasi); }
    `,
  ]

  constructor() {
    super()
    this.image = undefined
    this.previous = undefined
    this.shown = undefined
    this.lowerTree = undefined
    this.upperTree = undefined
    this.note = ''
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('image')) {
      this.shown = undefined
      this.lowerTree = undefined
      this.upperTree = undefined
    }
  }

  private tree(count: number): Promise<RootFs> {
    const image = { ...this.image!, layers: this.image!.layers.slice(0, count) }
    return image.layerIndexes ? buildLazyRootFs(image, image.layerIndexes) : buildRootFs(image)
  }

  private async show(layer: number): Promise<void> {
    this.shown = layer
    this.lowerTree = undefined
    this.upperTree = undefined
    this.note = 'Reading the layers…'
    try {
      const [before, after] = await Promise.all([this.tree(layer), this.tree(layer + 1)])
      if (this.shown !== layer) return
      this.lowerTree = before
      this.upperTree = after
    } catch (e) {
      this.note = `Could not read the layers: ${(e as Error).message}`
    }
  }

  override render() {
    const image = this.image
    if (!image) return html``
    return html`
      <table aria-label="Layers of the image">
        <thead><tr><th>#</th><th>Step</th><th>Size</th>${this.previous ? html`<th>Since the last build</th>` : ''}<th></th></tr></thead>
        <tbody>
          ${rowsOf(image).map(
            (r) => html`<tr data-layer=${r.layer ?? 'none'} ?data-selected=${r.layer !== undefined && r.layer === this.shown}>
              <td>${r.layer ?? ''}</td>
              <td class="step">${r.createdBy}</td>
              <td class="size">${r.layer === undefined ? html`<span class="muted">config only</span>` : size(image.layers[r.layer]!.size)}</td>
              ${this.previous ? html`<td class="since">${r.layer === undefined ? '' : this.previous.includes(image.layers[r.layer]!.digest) ? html`<span class="muted">same layer</span>` : html`<strong class="new">new layer</strong>`}</td>` : ''}
              <td>${r.layer === undefined ? '' : html`<button type="button" @click=${() => this.show(r.layer!)}>Files</button>`}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${this.shown === undefined
        ? html`<p class="muted">Press Files on a layer to see what its step changed.</p>`
        : html`<h3>What layer ${this.shown} changed</h3>
            <bp-file-panel .image=${this.lowerTree} .files=${this.upperTree} .unavailable=${this.note}></bp-file-panel>`}
    `
  }
}
customElements.define('bp-build-layers', BuildLayers)
