// <bp-build-panel>: the Build tab. A Dockerfile (from a starter or typed), context files added
// by drag and drop or a file input, then Build: in this page with RUN steps in the v86 VM (no
// server needed, page-build.ts) or on the boxplay server with RUN in a native container
// (server-build.ts), following the runtime switch as runs do. The log streams the CLI's lines
// (CACHED, times, digest); the result's layers are listed with what each step changed, and the
// image joins the catalog, to run in any runtime that takes it.

import { css, html } from 'lit'
import { BuildLog } from '../build/build-log.js'
import { applyDockerignore, type BuildContext, type ContextEntry } from '../build/context.js'
import { DockerfileError, parseDockerfile } from '../build/dockerfile.js'
import type { ResolvedImage } from '../oci/image.js'
import { parsePlatform } from '../oci/platform.js'
import type { Run } from '../runtimes/runtime.js'
import { STARTERS, type Starter } from './build-starters.js'
import { readDrop, readFileList, type PickedFile } from './dropped-files.js'
import { buildInPage } from './page-build.js'
import { message } from './playground-session.js'
import { buildOnServer } from './server-build.js'
import { SessionElement, type PanelActions } from './session-element.js'
import { theme } from './theme.js'
import './buffer-shim.js'
import './build-layers.js'

type ContextFile = PickedFile

/** A picked folder's files carry the folder's own name first: the folder is the context. */
function stripTop(files: PickedFile[]): PickedFile[] {
  const tops = new Set(files.map((f) => f.name.split('/')[0]))
  if (tops.size !== 1 || files.some((f) => !f.name.includes('/'))) return files
  return files.map((f) => ({ ...f, name: f.name.slice(f.name.indexOf('/') + 1) }))
}

const encoder = new TextEncoder()
const MAX_LOG_LINES = 5000
const PLATFORMS = [
  { id: 'linux/386', label: 'linux/386 (runs in the VM and natively)' },
  { id: 'linux/amd64', label: 'linux/amd64 (natively only)' },
]

export class BuildPanel extends SessionElement {
  static override properties = {
    ...SessionElement.properties,
    dockerfile: { state: true },
    files: { state: true },
    tag: { state: true },
    platform: { state: true },
    noCache: { state: true },
    log: { state: true },
    building: { state: true },
    result: { state: true },
    dragging: { state: true },
    failure: { state: true },
    starter: { state: true },
  }
  /** The starter picked last. */
  declare starter: string
  declare dockerfile: string
  declare files: ContextFile[]
  declare tag: string
  declare platform: string
  declare noCache: boolean
  declare log: string[]
  declare building: boolean
  declare result: { digest: string; name: string; where: 'page' | 'server'; image: ResolvedImage } | undefined
  declare dragging: boolean
  declare failure: string | undefined
  private stopBuild: (() => void) | undefined
  /** The layer digests of the build before this one, to show which layers a change made new. */
  private previous: readonly string[] | undefined

  static override styles = [
    theme,
    css`
      :host { display: grid; gap: 0.9rem; }
      .row { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; }
      .field { display: grid; gap: 0.3rem; }
      label { font-weight: 600; }
      textarea { font: 0.9rem/1.45 ui-monospace, monospace; width: 100%; min-height: 12rem; resize: vertical; border: 1px solid var(--bp-border); border-radius: var(--bp-radius); padding: 0.5rem; background: var(--bp-panel); color: var(--bp-text); tab-size: 4; }
      .drop { border: 2px dashed var(--bp-border); border-radius: var(--bp-radius); padding: 0.6rem 0.75rem; font-size: 0.9rem; display: grid; gap: 0.4rem; }
      .drop[data-dragging] { border-color: var(--bp-accent); background: color-mix(in srgb, var(--bp-accent) 10%, transparent); }
      .drop ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.3rem 0.75rem; }
      .drop li { font-family: ui-monospace, monospace; display: inline-flex; gap: 0.3rem; align-items: center; }
      .drop li button { min-height: 1.75rem; padding: 0 0.4rem; }
      .where { font-size: 0.9rem; }
      pre.log { margin: 0; background: var(--bp-term); color: #e6e6e3; border-radius: var(--bp-radius); padding: 0.6rem 0.75rem; max-height: 22rem; overflow: auto; font-size: 0.85rem; white-space: pre-wrap; word-break: break-all; }
      .failure { color: var(--bp-danger); white-space: pre-wrap; }
      .result { display: grid; gap: 0.5rem; }
      code { font-family: ui-monospace, monospace; word-break: break-all; }
      input[type='checkbox'] { min-height: 0; width: 1.1rem; height: 1.1rem; }
    `,
  ]

  constructor() {
    super()
    this.dockerfile = ''
    this.files = []
    this.tag = 'my-image:latest'
    this.platform = 'linux/386'
    this.noCache = false
    this.log = []
    this.building = false
    this.result = undefined
    this.dragging = false
    this.failure = undefined
    this.useStarter(STARTERS.find((s) => s.id === 'busybox') ?? STARTERS[0]!)
  }

  override willUpdate(changed: Map<string, unknown>): void {
    super.willUpdate(changed)
    // A deep link (?build=STARTER) names the starter to open on.
    const wanted = this.session?.buildStarter
    if (wanted !== this.seenStarter) {
      this.seenStarter = wanted
      const starter = STARTERS.find((s) => s.id === wanted)
      if (starter && starter.id !== this.starter) this.useStarter(starter)
    }
  }

  /** The session's starter when this panel last looked. */
  private seenStarter: string | undefined

  private useStarter(s: Starter): void {
    this.starter = s.id
    if (this.session) {
      this.session.buildStarter = s.id
      this.seenStarter = s.id
      this.session.syncUrl()
    }
    this.dockerfile = s.dockerfile
    this.files = Object.entries(s.files).map(([name, text]) => ({ name, bytes: encoder.encode(text) }))
  }

  private addFiles(picked: PickedFile[]): void {
    // A Dockerfile among them goes into the editor: the editor's text is the build's Dockerfile.
    const dockerfile = picked.find((f) => f.name === 'Dockerfile')
    if (dockerfile) this.dockerfile = new TextDecoder().decode(dockerfile.bytes)
    const added = picked.filter((f) => f !== dockerfile)
    const names = new Set(added.map((f) => f.name))
    this.files = [...this.files.filter((f) => !names.has(f.name)), ...added].sort((a, b) => (a.name < b.name ? -1 : 1))
  }

  /** The context: the files plus the Dockerfile as `Dockerfile`, directories made for nested names. */
  private context(): BuildContext {
    const byPath = new Map<string, ContextEntry>()
    const add = (name: string, bytes: Uint8Array) => {
      const parts = name.split('/')
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/')
        if (!byPath.has(dir)) byPath.set(dir, { path: dir, kind: 'dir', mode: 0o755 })
      }
      byPath.set(name, { path: name, kind: 'file', mode: 0o644, data: bytes })
    }
    for (const f of this.files) add(f.name, f.bytes)
    add('Dockerfile', encoder.encode(this.dockerfile))
    const entries = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    const ignore = this.files.find((f) => f.name === '.dockerignore')
    return { entries: applyDockerignore(entries, ignore ? new TextDecoder().decode(ignore.bytes) : undefined) }
  }

  /** Where the build runs, from the runtime switch; or why it cannot. */
  private where(): { where: 'page' | 'server' } | { reason: string } {
    const s = this.session
    const choice = s?.choice()
    if (!choice) return { reason: 'Pick a runtime on the left.' }
    if (choice.id === 'wasi') return { reason: 'RUN steps need a Linux shell: pick the Emulated VM (builds in this page) or the Native container (builds on the server).' }
    if (!choice.availability.ok) return { reason: `${choice.label} is not available: ${choice.availability.reason}` }
    if (choice.id === 'native') return this.platform === 'linux/386' || this.platform === 'linux/amd64' ? { where: 'server' } : { reason: `the server builds linux images, not ${this.platform}` }
    if (this.platform !== 'linux/386') return { reason: 'The VM runs linux/386 only: pick that platform, or build on the server (Native container).' }
    return { where: 'page' }
  }

  private stop(): void {
    this.stopBuild?.()
  }

  private async build(): Promise<void> {
    const s = this.session!
    const where = this.where()
    if ('reason' in where) return
    this.failure = undefined
    if (this.result) this.previous = this.result.image.layers.map((l) => l.digest)
    this.result = undefined
    this.log = []
    const lines: string[] = []
    const push = (line: string) => {
      lines.push(line)
      // A chatty RUN could print without end: the page keeps the log's last lines.
      if (lines.length > MAX_LOG_LINES) lines.splice(0, lines.length - MAX_LOG_LINES, `[the first lines of the log are no longer shown]`)
      this.log = [...lines]
    }
    let dockerfile
    try {
      dockerfile = parseDockerfile(this.dockerfile, 'Dockerfile')
    } catch (e) {
      this.failure = e instanceof DockerfileError ? e.message : message(e)
      return
    }
    const name = this.tag.trim().includes(':') ? this.tag.trim() : `${this.tag.trim() || 'my-image'}:latest`
    this.building = true
    const started = Date.now()
    try {
      if (where.where === 'page') {
        const runtime = s.choice('v86')!.runtime!
        let step: Run | undefined
        let stopped = false
        this.stopBuild = () => {
          stopped = true
          step?.kill()
        }
        const log = new BuildLog(push)
        const built = await buildInPage({
          catalog: s.catalog!,
          runtime,
          dockerfile,
          context: this.context(),
          platform: parsePlatform(this.platform),
          noCache: this.noCache,
          onEvent: (e) => {
            if (stopped) throw new Error('the build was stopped')
            log.event(e)
          },
          onRun: (run) => (step = run),
        })
        log.done({ digest: built.digest, names: [name], cached: built.cached, steps: built.steps, ms: Date.now() - started })
        s.catalog!.addBuilt(name, built.source)
        this.result = { digest: built.digest, name, where: 'page', image: await s.catalog!.resolve(name) }
      } else {
        const built = await buildOnServer({
          context: this.context(),
          dockerfile: 'Dockerfile',
          tags: [name],
          platform: this.platform,
          noCache: this.noCache,
          onLine: (line) => push(line),
          onStop: (stop) => (this.stopBuild = stop),
        })
        await s.catalog!.refresh()
        this.result = { digest: built.digest, name, where: 'server', image: await s.catalog!.resolve(name, parsePlatform(this.platform)) }
      }
      s.changed()
    } catch (e) {
      this.failure = message(e)
    } finally {
      this.building = false
      this.stopBuild = undefined
      // Base layers fetched for the build reported progress through the catalog.
      s.update({ progress: undefined })
      // Builds finished so far, for tests and scripts that wait for the next one.
      this.dataset.builds = String(Number(this.dataset.builds ?? 0) + 1)
    }
  }

  /** Makes the result the playground's image, so Run (or Compare) runs it. */
  private async useResult(): Promise<void> {
    const s = this.session!
    const r = this.result
    if (!r) return
    try {
      await s.selectImage(r.name)
      s.update({ command: '', error: undefined })
    } catch (e) {
      s.update({ error: message(e) })
    }
  }

  override render() {
    const where = this.where()
    return html`
      <div class="row">
        <div class="field">
          <label for="starter">Start from</label>
          <select
            id="starter"
            @change=${(e: Event) => {
              const s = STARTERS.find((x) => x.id === (e.target as HTMLSelectElement).value)
              if (s) this.useStarter(s)
            }}
          >
            ${STARTERS.map((s) => html`<option value=${s.id} ?selected=${s.id === this.starter} ?disabled=${!this.session?.catalog?.find(s.image)}>${s.label}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="build-tag">Name</label>
          <input id="build-tag" .value=${this.tag} @input=${(e: Event) => (this.tag = (e.target as HTMLInputElement).value)} autocomplete="off" spellcheck="false" />
        </div>
        <div class="field">
          <label for="build-platform">Platform</label>
          <select id="build-platform" @change=${(e: Event) => (this.platform = (e.target as HTMLSelectElement).value)}>
            ${PLATFORMS.map((p) => html`<option value=${p.id} ?selected=${p.id === this.platform}>${p.label}</option>`)}
          </select>
        </div>
        <label><input type="checkbox" id="no-cache" .checked=${this.noCache} @change=${(e: Event) => (this.noCache = (e.target as HTMLInputElement).checked)} /> no cache</label>
      </div>
      <div class="field">
        <label for="dockerfile">Dockerfile</label>
        <textarea id="dockerfile" spellcheck="false" .value=${this.dockerfile} @input=${(e: Event) => (this.dockerfile = (e.target as HTMLTextAreaElement).value)}></textarea>
      </div>
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
          void readDrop(e.dataTransfer).then((files) => this.addFiles(files), (err: unknown) => (this.failure = `Could not read what was dropped: ${message(err)}`))
        }}
      >
        <span><strong>Context</strong> <span class="muted">— the files COPY can take: drop them here, or</span>
          <label class="visually-hidden" for="context-files">Add context files</label>
          <input id="context-files" type="file" multiple @change=${(e: Event) => void readFileList((e.target as HTMLInputElement).files).then((f) => this.addFiles(f))} />
          <label for="context-folder" class="muted">or a whole folder as the context:</label>
          <input id="context-folder" type="file" webkitdirectory @change=${(e: Event) => void readFileList((e.target as HTMLInputElement).files).then((f) => this.addFiles(stripTop(f)))} /></span>
        <ul aria-label="Context files">
          ${this.files.length === 0 ? html`<li class="muted">no files</li>` : ''}
          ${this.files.map(
            (f) => html`<li data-file=${f.name}>${f.name} <span class="muted">(${f.bytes.byteLength} B)</span>
              <button type="button" aria-label="Remove ${f.name}" @click=${() => (this.files = this.files.filter((x) => x !== f))}>×</button></li>`,
          )}
        </ul>
      </div>
      <div class="row">
        <button type="button" class="primary" id="build" ?disabled=${this.building || 'reason' in where} @click=${() => this.build()}>Build</button>
        <button type="button" id="build-stop" ?disabled=${!this.building} @click=${() => this.stop()}>Stop</button>
        <span class="where muted" id="build-where">${'reason' in where ? where.reason : where.where === 'page' ? 'Builds in this page: RUN steps run in the emulated VM, no server needed.' : 'Builds on the boxplay server: RUN steps run in a native container there.'}</span>
      </div>
      ${this.failure ? html`<div class="failure" role="alert" id="build-failure">${this.failure}</div>` : ''}
      ${this.log.length ? html`<pre class="log" role="log" id="build-log" aria-label="Build log">${this.log.join('\n')}</pre>` : ''}
      ${this.result
        ? html`<section class="result" aria-label="Built image">
            <div>Built <strong id="build-name">${this.result.name}</strong> ${this.result.where === 'page' ? 'in this page' : 'on the server'}: <code id="build-digest">${this.result.digest}</code></div>
            <div><button type="button" id="build-use" @click=${() => this.useResult()}>Use this image</button> <span class="muted">then Run it in the Terminal tab, or Compare it across runtimes.</span></div>
            <bp-build-layers .image=${this.result.image} .previous=${this.previous}></bp-build-layers>
          </section>`
        : ''}
    `
  }
}
customElements.define('bp-build-panel', BuildPanel)
