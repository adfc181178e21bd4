// <bp-file-panel>: the run's filesystem after (or during) the run: what it changed compared
// with the image's layers, and a browser over every directory with a preview of files.

import { LitElement, css, html } from 'lit'
import { fileSize, readFile, splitPath, type DirNode, type RootFs } from '../oci/rootfs.js'
import { diffTrees, type ChangedPath } from './file-diff.js'
import { theme } from './theme.js'

const PREVIEW_BYTES = 64 * 1024

export class FilePanel extends LitElement {
  static override properties = {
    image: { attribute: false },
    files: { attribute: false },
    unavailable: {},
    dir: { state: true },
    preview: { state: true },
  }
  declare image: RootFs | undefined
  declare files: RootFs | undefined
  /** Why there is nothing to show, when there is nothing. */
  declare unavailable: string
  declare dir: string
  declare preview: { path: string; text: string } | undefined
  private changes: ChangedPath[] = []

  static override styles = [
    theme,
    css`
      :host { display: grid; gap: 0.75rem; }
      h3 { margin: 0; font-size: 1rem; }
      ul { list-style: none; margin: 0; padding: 0; }
      li button { background: none; border: 0; padding: 0.15rem 0.3rem; min-height: 2rem; text-align: left; width: 100%; font-family: ui-monospace, monospace; font-size: 0.9rem; }
      li button:hover { background: var(--bp-bg); }
      .added { color: var(--bp-ok); }
      .modified { color: var(--bp-wasi); }
      .deleted { color: var(--bp-danger); text-decoration: line-through; }
      .cols { display: grid; grid-template-columns: minmax(14rem, 1fr) 2fr; gap: 0.75rem; }
      @media (max-width: 48rem) { .cols { grid-template-columns: 1fr; } }
      .box { border: 1px solid var(--bp-border); border-radius: var(--bp-radius); background: var(--bp-panel); padding: 0.5rem; max-height: 26rem; overflow: auto; }
      pre { margin: 0; white-space: pre-wrap; word-break: break-all; font-size: 0.85rem; }
      nav button { min-height: 2rem; padding: 0 0.4rem; }
    `,
  ]

  constructor() {
    super()
    this.image = undefined
    this.files = undefined
    this.unavailable = 'Run something to see its files.'
    this.dir = '/'
    this.preview = undefined
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if ((changed.has('files') || changed.has('image')) && this.files) {
      this.changes = this.image ? diffTrees(this.image, this.files) : []
      this.preview = undefined
    }
  }

  private async open(path: string): Promise<void> {
    const node = this.files?.lookup(path, false)
    if (!node) return
    if (node.kind === 'dir') {
      this.dir = path
      this.preview = undefined
      return
    }
    if (node.kind === 'symlink') {
      this.preview = { path, text: `symbolic link to ${node.target}` }
      return
    }
    const size = fileSize(node.data)
    const bytes = (await readFile(node)).subarray(0, PREVIEW_BYTES)
    const binary = bytes.subarray(0, 4096).some((b) => b === 0)
    const text = binary
      ? `binary file, ${size} bytes, mode ${node.mode.toString(8)}`
      : new TextDecoder().decode(bytes) + (size > PREVIEW_BYTES ? `\n… (${size - PREVIEW_BYTES} more bytes)` : '')
    this.preview = { path, text }
  }

  private renderDir() {
    const node = this.files?.lookup(this.dir)
    if (!node || node.kind !== 'dir') return html`<p class="muted">${this.dir} is not a directory in this run.</p>`
    const dir = node as DirNode
    const parts = splitPath(this.dir)
    const changeOf = new Map(this.changes.map((c) => [c.path, c.change]))
    const base = this.dir === '/' ? '' : this.dir
    return html`<nav aria-label="Directory">
        <button @click=${() => this.open('/')}>/</button>${parts.map(
          (p, i) => html`<button @click=${() => this.open('/' + parts.slice(0, i + 1).join('/'))}>${p}/</button>`,
        )}
      </nav>
      <ul>
        ${[...dir.entries.keys()].sort().map((name) => {
          const child = dir.entries.get(name)!
          const path = `${base}/${name}`
          const change = changeOf.get(path)
          return html`<li><button class=${change ?? ''} @click=${() => this.open(path)}>${name}${child.kind === 'dir' ? '/' : child.kind === 'symlink' ? ' →' : ''}${change ? html` <small>(${change})</small>` : ''}</button></li>`
        })}
      </ul>`
  }

  override render() {
    if (!this.files) return html`<p class="muted" role="status">${this.unavailable}</p>`
    return html`
      <section aria-label="Changes">
        <h3>Changed by the run (${this.changes.length}) <small class="muted">— compared with the image's layers</small></h3>
        ${this.changes.length === 0
          ? html`<p class="muted">No changes: the run wrote nothing to its filesystem.</p>`
          : html`<ul class="box">${this.changes.map(
              (c) => html`<li><button class=${c.change} ?disabled=${c.change === 'deleted'} @click=${() => this.open(c.path)}>${c.change === 'added' ? '+' : c.change === 'deleted' ? '−' : '~'} ${c.path}</button></li>`,
            )}</ul>`}
      </section>
      <div class="cols">
        <div class="box">${this.renderDir()}</div>
        <div class="box" aria-live="polite">
          ${this.preview ? html`<h3>${this.preview.path}</h3><pre>${this.preview.text}</pre>` : html`<p class="muted">Choose a file to read it.</p>`}
        </div>
      </div>
    `
  }
}
customElements.define('bp-file-panel', FilePanel)
