// <bp-containers>: the learner's containers and images kept in this browser (web/store/):
// resume, remove, download a container's changes or an image as a tarball (`boxplay load`
// reads it), upload a tarball or a folder into a container's files, commit a container to an
// image. Shows the space used, damaged records that were skipped, and when the store is full
// the oldest things to remove. The app resumes containers (`container-resume` events) and
// resolves a container's image for a commit (`resolveBase`).

import { LitElement, css, html } from 'lit'
import type { ResolvedImage } from '../oci/image.js'
import { containerChangesTar, saveImages } from '../store/archive.js'
import { formatBytes } from '../store/blob-store.js'
import type { BrowserStore, RemovalCandidate, StoreUsage } from '../store/browser-store.js'
import { commitContainer } from '../store/commit.js'
import type { ContainerRecord } from '../store/container-store.js'
import { StoreError, type SkippedRecord } from '../store/errors.js'
import type { ImageRecord } from '../store/image-store.js'
import { theme } from './theme.js'
import { changesFromFiles, changesFromTarUpload } from './uploads.js'

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function when(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toLocaleString()
}

/** Hands bytes to the browser as a download. */
function download(bytes: Uint8Array, fileName: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/x-tar' }))
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

const safeFileName = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_')

export class ContainersPanel extends LitElement {
  static override properties = {
    store: { attribute: false },
    resolveBase: { attribute: false },
    active: {},
    unavailable: {},
    containers: { state: true },
    images: { state: true },
    skipped: { state: true },
    usage: { state: true },
    candidates: { state: true },
    note: { state: true },
    error: { state: true },
    full: { state: true },
    working: { state: true },
  }
  declare store: BrowserStore | undefined
  /** The image a container was made from (the app knows the page's image sources). */
  declare resolveBase: ((record: ContainerRecord) => Promise<ResolvedImage>) | undefined
  /** The container the page's terminal is attached to. */
  declare active: string | undefined
  /** Why there is no store, when there is none. */
  declare unavailable: string | undefined
  declare containers: ContainerRecord[]
  declare images: ImageRecord[]
  declare skipped: SkippedRecord[]
  declare usage: StoreUsage | undefined
  declare candidates: RemovalCandidate[]
  declare note: string | undefined
  declare error: string | undefined
  /** The last write was refused for lack of space: offer the oldest for removal. */
  declare full: boolean
  declare working: boolean

  static override styles = [
    theme,
    css`
      :host { display: grid; gap: 1rem; }
      h3 { margin: 0 0 0.4rem; font-size: 1rem; }
      table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
      th, td { text-align: left; padding: 0.35rem 0.4rem; border-bottom: 1px solid var(--bp-border); vertical-align: top; }
      td.actions { display: flex; flex-wrap: wrap; gap: 0.3rem; }
      td.actions button, td.actions label.button { min-height: 2rem; padding: 0.1rem 0.5rem; font-size: 0.85rem; }
      code { font-family: ui-monospace, monospace; }
      .alert { border: 1px solid var(--bp-danger); color: var(--bp-danger); border-radius: var(--bp-radius); padding: 0.5rem 0.7rem; white-space: pre-wrap; }
      .notice { border: 1px solid var(--bp-border); border-radius: var(--bp-radius); padding: 0.5rem 0.7rem; font-size: 0.9rem; }
      .row { display: flex; flex-wrap: wrap; gap: 0.4rem; align-items: center; }
      input.small { width: 10rem; min-height: 2rem; font-family: ui-monospace, monospace; }
      tr.active td:first-child { font-weight: 600; }
      label.button { border: 1px solid var(--bp-border); border-radius: var(--bp-radius); display: inline-flex; align-items: center; cursor: pointer; }
      label.button input { display: none; }
    `,
  ]

  constructor() {
    super()
    this.store = undefined
    this.resolveBase = undefined
    this.active = undefined
    this.unavailable = undefined
    this.containers = []
    this.images = []
    this.skipped = []
    this.usage = undefined
    this.candidates = []
    this.note = undefined
    this.error = undefined
    this.full = false
    this.working = false
  }

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('store') && this.store) void this.refresh()
  }

  /** Reads the store again (the app calls it after a container's files were saved). */
  async refresh(): Promise<void> {
    const store = this.store
    if (!store) return
    try {
      const [c, i, usage] = await Promise.all([store.containers.list(), store.images.list(), store.usage()])
      this.containers = c.containers
      this.images = i.images
      this.skipped = [...c.skipped, ...i.skipped]
      this.usage = usage
      if (this.full) this.candidates = await store.removalCandidates()
    } catch (e) {
      this.error = message(e)
    }
  }

  /** Tells the panel a write was refused (the app's saves and the panel's own). */
  reportError(e: unknown): void {
    this.error = message(e)
    if (e instanceof StoreError && e.code === 'quota') {
      this.full = true
      void this.store?.removalCandidates().then((c) => (this.candidates = c))
    }
  }

  private async act(what: () => Promise<string | void>): Promise<void> {
    this.error = undefined
    this.note = undefined
    this.working = true
    try {
      const note = await what()
      if (note) this.note = note
    } catch (e) {
      this.reportError(e)
    } finally {
      this.working = false
      await this.refresh()
    }
  }

  private emit(name: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }))
  }

  private removeContainer(c: ContainerRecord): Promise<void> {
    return this.act(async () => {
      if (c.state === 'running' && c.name === this.active) throw new StoreError('busy', `container ${c.name} is running here: stop it first`)
      await this.store!.removeContainer(c.id)
      return `Removed container ${c.name}.`
    })
  }

  private downloadChanges(c: ContainerRecord): Promise<void> {
    return this.act(async () => {
      download(await containerChangesTar(this.store!, c.id), `${safeFileName(c.name)}-changes.tar`)
      return `Downloaded the changes of ${c.name} (a layer tar: whiteouts mark what it deleted).`
    })
  }

  private commit(c: ContainerRecord, form: HTMLFormElement): Promise<void> {
    const name = (new FormData(form).get('image') as string | null)?.trim() ?? ''
    return this.act(async () => {
      if (!name) throw new StoreError('invalid', 'give the new image a name, e.g. my-image:1')
      if (!this.resolveBase) throw new StoreError('unavailable', 'the page cannot read images yet')
      const image = await commitContainer(this.store!, c.id, await this.resolveBase(c), name)
      this.emit('images-change', image.name)
      return `Committed ${c.name} to ${image.name} (${image.digest.slice(0, 19)}…).`
    })
  }

  private upload(c: ContainerRecord, input: HTMLInputElement, folder: boolean): Promise<void> {
    const files = [...(input.files ?? [])]
    input.value = ''
    if (files.length === 0) return Promise.resolve()
    const target = (this.renderRoot.querySelector<HTMLInputElement>(`#target-${c.id}`)?.value || '/root').trim()
    return this.act(async () => {
      const first = files[0]!
      const isTar = !folder && files.length === 1 && /\.(tar|tar\.gz|tgz)$/i.test(first.name)
      const changes = isTar ? await changesFromTarUpload(new Uint8Array(await first.arrayBuffer()), target) : await changesFromFiles(files, target)
      await this.store!.containers.addChanges(c.id, changes)
      const count = changes.entries.filter((e) => e.kind === 'file').length
      return `Added ${count} file${count === 1 ? '' : 's'} under ${target} in ${c.name}; resume it to use them.`
    })
  }

  private downloadImage(i: ImageRecord): Promise<void> {
    return this.act(async () => {
      download(await saveImages(this.store!, [i.name]), `${safeFileName(i.name)}.tar`)
      return `Downloaded ${i.name} as a docker save tarball: \`boxplay load ${safeFileName(i.name)}.tar\` (or docker/podman load) reads it.`
    })
  }

  private removeImage(i: ImageRecord): Promise<void> {
    return this.act(async () => {
      await this.store!.removeImage(i.name)
      this.emit('images-change', i.name)
      return `Removed image ${i.name}.`
    })
  }

  private removeCandidate(c: RemovalCandidate): Promise<void> {
    return this.act(async () => {
      if (c.kind === 'container') await this.store!.removeContainer(c.name)
      else await this.store!.removeImage(c.name)
      this.candidates = await this.store!.removalCandidates()
      return `Removed ${c.kind} ${c.name} (${formatBytes(c.bytes)} freed).`
    })
  }

  private renderUsage() {
    const u = this.usage
    if (!u) return ''
    const parts = [`This browser keeps ${formatBytes(u.storeBytes)} for boxplay`]
    if (u.capBytes !== undefined) parts.push(`of at most ${formatBytes(u.capBytes)} (the page's limit)`)
    if (u.quotaBytes !== undefined) parts.push(`(the site uses ${formatBytes(u.originBytes ?? 0)} of the ${formatBytes(u.quotaBytes)} the browser allows)`)
    return html`<p class="muted" id="usage">${parts.join(' ')}.</p>`
  }

  private renderContainers() {
    if (this.containers.length === 0) {
      return html`<p class="muted">No containers yet. Start one with a name: add <code>&name=work</code> to the page's address, or type a name beside Run.</p>`
    }
    return html`<table id="containers">
      <thead><tr><th>Name</th><th>Image</th><th>State</th><th>Files</th><th>Actions</th></tr></thead>
      <tbody>
        ${this.containers.map(
          (c) => html`<tr class=${c.name === this.active ? 'active' : ''} data-name=${c.name}>
            <td>${c.name}<div class="muted"><code>${c.id.slice(0, 12)}</code> · ${c.runtime}</div></td>
            <td><code>${c.image.name}</code></td>
            <td>${c.state === 'exited' ? `exited (${c.exitCode ?? '?'}) ${when(c.exitedAt)}` : c.state}</td>
            <td>${c.changes ? `${c.changes.entries} entries, ${formatBytes(c.changes.size)}` : 'none yet'}</td>
            <td class="actions">
              <button type="button" class="resume" ?disabled=${this.working || c.state === 'running'} @click=${() => this.emit('container-resume', c.name)}>Resume</button>
              <button type="button" class="download" ?disabled=${this.working} @click=${() => this.downloadChanges(c)}>Download changes</button>
              <form class="row commit" @submit=${(e: Event) => (e.preventDefault(), this.commit(c, e.target as HTMLFormElement))}>
                <label class="visually-hidden" for="commit-${c.id}">New image name for ${c.name}</label>
                <input class="small" id="commit-${c.id}" name="image" placeholder="my-image:1" autocomplete="off" spellcheck="false" />
                <button type="submit" ?disabled=${this.working || c.state === 'running'}>Commit</button>
              </form>
              <span class="row">
                <label class="visually-hidden" for="target-${c.id}">Directory to upload into</label>
                <input class="small" id="target-${c.id}" value="/root" spellcheck="false" />
                <label class="button">Upload tar or files<input type="file" multiple class="upload-files" @change=${(e: Event) => this.upload(c, e.target as HTMLInputElement, false)} /></label>
                <label class="button">Upload folder<input type="file" webkitdirectory class="upload-folder" @change=${(e: Event) => this.upload(c, e.target as HTMLInputElement, true)} /></label>
              </span>
              <button type="button" class="remove" ?disabled=${this.working} @click=${() => this.removeContainer(c)}>Remove</button>
            </td>
          </tr>`,
        )}
      </tbody>
    </table>`
  }

  private renderImages() {
    if (this.images.length === 0) return html`<p class="muted">No images kept yet: commit a container to make one.</p>`
    return html`<table id="images">
      <thead><tr><th>Image</th><th>Platform</th><th>Size</th><th>Actions</th></tr></thead>
      <tbody>
        ${this.images.map(
          (i) => html`<tr data-name=${i.name}>
            <td><code>${i.name}</code><div class="muted">${i.origin} ${when(i.addedAt)}</div></td>
            <td>${i.platform}</td>
            <td>${formatBytes(i.size)}</td>
            <td class="actions">
              <button type="button" class="download" ?disabled=${this.working} @click=${() => this.downloadImage(i)}>Download</button>
              <button type="button" class="remove" ?disabled=${this.working} @click=${() => this.removeImage(i)}>Remove</button>
            </td>
          </tr>`,
        )}
      </tbody>
    </table>`
  }

  override render() {
    if (!this.store) return html`<p class="notice muted">${this.unavailable ?? 'Opening the browser’s store…'}</p>`
    return html`
      ${this.renderUsage()}
      ${this.error ? html`<div class="alert" role="alert">${this.error}</div>` : ''}
      ${this.note ? html`<div class="notice" role="status">${this.note}</div>` : ''}
      ${this.full && this.candidates.length
        ? html`<div class="notice" id="candidates"><strong>Make room:</strong> least recently used first.
            <ul>${this.candidates.map((c) => html`<li>${c.kind} <code>${c.name}</code> (frees ${formatBytes(c.bytes)}) <button type="button" @click=${() => this.removeCandidate(c)}>Remove</button></li>`)}</ul></div>`
        : ''}
      ${this.skipped.length
        ? html`<div class="notice" id="skipped">Skipped ${this.skipped.length} damaged record${this.skipped.length === 1 ? '' : 's'} (the rest is intact):
            <ul>${this.skipped.map((s) => html`<li><code>${s.store}/${s.key}</code>: ${s.reason}</li>`)}</ul></div>`
        : ''}
      <section><h3>Containers</h3>${this.renderContainers()}</section>
      <section><h3>Images kept in this browser</h3>${this.renderImages()}</section>
    `
  }
}
customElements.define('bp-containers', ContainersPanel)
