// <boxplay-app>: the playground. Pick an image and a runtime, then use the tabs: a terminal on
// a run, runtimes compared side by side, what a run changed. This element only wires things:
// the state panels share is a PlaygroundSession, each tab is a panel of its own (panels.ts),
// and the page's address is always a deep link to what is on screen (?image=…&runtime=…&cmd=…).

import { LitElement, css, html } from 'lit'
import { html as staticHtml } from 'lit/static-html.js'
import { formatPlatform } from '../oci/platform.js'
import { pullImage } from '../runtimes/remote/pull.js'
import type { Progress } from '../runtimes/remote/sources.js'
import { RUNTIME_IDS, joinCommand, parseDeepLink, type RuntimeId } from './deep-link.js'
import { ImageCatalog } from './image-catalog.js'
import { detectEnv } from './page-env.js'
import { PANELS } from './panels.js'
import { PlaygroundSession, message } from './playground-session.js'
import { ensurePreviewWorker, startPreviewBridge } from './preview-bridge.js'
import { loadRuntimes, pendingChoice } from './runtime-choices.js'
import type { SampleRequest } from './first-steps.js'
import type { PanelActions } from './session-element.js'
import { theme } from './theme.js'
import './command-bar.js'
import './image-picker.js'
import './progress-line.js'
import './runtime-switch.js'

export class PlaygroundApp extends LitElement {
  readonly session = new PlaygroundSession()

  static override styles = [
    theme,
    css`
      :host { display: block; min-height: 100vh; background: var(--bp-bg); }
      header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1rem; padding: 0.75rem 1.25rem; border-bottom: 1px solid var(--bp-border); background: var(--bp-panel); }
      h1 { font-size: 1.25rem; margin: 0; }
      nav a { color: var(--bp-accent); font-weight: 600; }
      .tagline { font-size: 0.9rem; }
      .badge { font-size: 0.8rem; border: 1px solid var(--bp-border); border-radius: 999px; padding: 0.1rem 0.6rem; margin-left: auto; }
      .layout { display: grid; grid-template-columns: 20rem 1fr; gap: 1.25rem; padding: 1.25rem; max-width: 90rem; margin: 0 auto; }
      @media (max-width: 60rem) { .layout { grid-template-columns: 1fr; padding: 0.75rem; } }
      aside { display: grid; gap: 1.25rem; align-content: start; }
      main { display: grid; gap: 0.75rem; align-content: start; min-width: 0; }
      .alert { border: 1px solid var(--bp-danger); color: var(--bp-danger); border-radius: var(--bp-radius); padding: 0.6rem 0.8rem; background: color-mix(in srgb, var(--bp-danger) 8%, transparent); white-space: pre-wrap; }
      .notice { border: 1px solid var(--bp-border); border-radius: var(--bp-radius); padding: 0.6rem 0.8rem; font-size: 0.9rem; }
      [role='tablist'] { display: flex; gap: 0.25rem; border-bottom: 1px solid var(--bp-border); }
      [role='tab'] { border: 0; border-bottom: 3px solid transparent; border-radius: 0; background: none; }
      [role='tab'][aria-selected='true'] { border-bottom-color: var(--bp-accent); font-weight: 600; }
      .exit { font-size: 0.9rem; }
      [hidden] { display: none !important; }
    `,
  ]

  override connectedCallback(): void {
    super.connectedCallback()
    this.session.addEventListener('change', this.onChange)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.session.removeEventListener('change', this.onChange)
  }

  private readonly onChange = (): void => this.requestUpdate()

  override firstUpdated(): void {
    // The Ports panel's previews: the service worker asks this page, which asks the guest.
    startPreviewBridge((id) => {
      const address = this.session.lanAddress(id)
      return address ? { lan: this.session.lan, address } : undefined
    })
    ensurePreviewWorker(new URL('./coi-sw.js', document.baseURI)).catch((e: unknown) => console.info(`no preview worker: ${message(e)}`))
    void this.init()
  }

  private panel(id: string): (HTMLElement & PanelActions) | null {
    return this.renderRoot.querySelector<HTMLElement & PanelActions>(`#panel-${id} > *`)
  }

  private readonly onProgress: Progress = (p) => {
    this.session.update({ progress: { label: `Downloading ${p.what}…`, loaded: p.loaded, ...(p.total !== undefined ? { total: p.total } : {}) } })
  }

  private async init(): Promise<void> {
    const s = this.session
    const link = parseDeepLink(location.search)
    try {
      s.update({ progress: { label: 'Looking for images and runtimes…', loaded: 0 } })
      s.env = await detectEnv()
      s.catalog = new ImageCatalog(s.env)
      s.catalog.onProgress(this.onProgress)
      s.update({ runtimes: RUNTIME_IDS.map(pendingChoice) })
      const loading = loadRuntimes(s.env)
      loading.forEach((p, i) => void p.then((c) => s.update({ runtimes: s.runtimes.map((r, j) => (j === i ? c : r)) })))
      await s.catalog.refresh()
      s.changed()
      if (link.cmd) s.command = joinCommand(link.cmd)
      await s.openStore()
      if (link.container) {
        // A kept container brings its own image and runtime.
        const record = await s.attach(link.container)
        await loading[RUNTIME_IDS.indexOf(record.runtime)]
        s.update({ busy: false })
        await this.runIn('terminal')
        return
      }
      if (link.name) s.newName = link.name
      // A newcomer starts on a real distribution (bash, ps, python3) where it is bundled.
      const wanted = link.image ?? ['debian', 'busybox'].find((n) => s.catalog!.find(n)) ?? s.catalog.entries[0]?.name
      if (!wanted) throw new Error('no images are available: the bundled images were not found (build them with `npm run setup`)')
      // A deep link waits only for the runtimes it names; the others fill in as they load.
      const named = link.compare ?? (link.runtime ? [link.runtime] : RUNTIME_IDS)
      await Promise.all(named.map((id) => loading[RUNTIME_IDS.indexOf(id)]))
      await s.selectImage(wanted, link.runtime ?? link.compare?.[0])
      s.update({ busy: false })
      if (link.build) {
        // Open the Build tab on the starter; nothing runs until the learner presses Build.
        s.buildStarter = link.build
        this.selectView('build')
      } else if (link.compare) {
        s.update({ compareIds: link.compare })
        await this.runIn('compare')
      } else if (link.image || link.runtime || link.cmd) {
        await this.runIn('terminal')
      }
    } catch (e) {
      s.update({ error: message(e) })
    } finally {
      s.update({ busy: false, ...(s.running ? {} : { progress: undefined }) })
    }
  }

  /** Opens a panel and runs its action. */
  private async runIn(id: string): Promise<void> {
    this.selectView(id, false)
    await this.updateComplete
    await this.panel(id)?.run?.()
  }

  /** The Run button: the open panel's action, or a run in the terminal when it has none. */
  private runRequested(): void {
    const open = PANELS.find((p) => p.id === this.session.view)
    void this.runIn(open?.action ? open.id : 'terminal')
  }

  /** A sample from the first screen: its image, its command, then Run (or Compare). */
  private async runSample({ sample, compare }: SampleRequest): Promise<void> {
    const s = this.session
    try {
      if (s.catalog?.find(sample.image)?.name !== s.imageName) await s.selectImage(sample.image, sample.runtime)
      else if (sample.runtime) s.selectRuntime(sample.runtime)
    } catch (e) {
      s.update({ error: message(e) })
      return
    }
    s.update({ command: sample.cmd, error: undefined })
    if (compare) {
      const able = RUNTIME_IDS.filter((id) => {
        const c = s.choice(id)
        return c !== undefined && 'platform' in s.fitFor(c)
      })
      s.update({ compareIds: able.length ? able : [...RUNTIME_IDS] })
    }
    await this.runIn(compare ? 'compare' : 'terminal')
  }

  private async pull(ref: string): Promise<void> {
    const s = this.session
    s.update({ error: undefined, busy: true, progress: { label: `Pulling ${ref}…`, loaded: 0 } })
    try {
      const done = await pullImage(ref, {
        onProgress: (event) => s.update({ progress: { label: `Pulling ${ref}: ${event.message}`, loaded: event.current ?? 0, ...(event.total !== undefined ? { total: event.total } : {}) } }),
      })
      await s.catalog!.refresh()
      await s.selectImage(done)
    } catch (e) {
      s.update({ error: message(e) })
    } finally {
      s.update({ busy: false, progress: undefined })
    }
  }

  private async dropArchive(file: File): Promise<void> {
    const s = this.session
    s.update({ error: undefined, busy: true, progress: { label: `Opening ${file.name}…`, loaded: 0, total: file.size } })
    try {
      const names = await s.catalog!.addArchive(file)
      s.changed()
      if (names[0]) await s.selectImage(names[0])
    } catch (e) {
      s.update({ error: `Could not open ${file.name}: ${message(e)}` })
    } finally {
      s.update({ busy: false, progress: undefined })
    }
  }

  private selectView(id: string, announce = true): void {
    const s = this.session
    s.view = id
    s.syncUrl()
    s.changed()
    if (announce) void this.updateComplete.then(() => this.panel(id)?.shown?.())
  }

  private onTabKey(e: KeyboardEvent): void {
    const i = PANELS.findIndex((p) => p.id === this.session.view)
    const next = e.key === 'ArrowRight' ? (i + 1) % PANELS.length : e.key === 'ArrowLeft' ? (i + PANELS.length - 1) % PANELS.length : -1
    if (next < 0) return
    e.preventDefault()
    this.selectView(PANELS[next]!.id)
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`#tab-${PANELS[next]!.id}`)?.focus())
  }

  override render() {
    const s = this.session
    const env = s.env
    const open = PANELS.find((p) => p.id === s.view)
    return html`
      <header>
        <h1>boxplay</h1>
        <span class="tagline muted">one image, three ways to run it: a VM, a WebAssembly sandbox, a container</span>
        <nav><a href="lessons/" id="nav-lessons">Lessons</a></nav>
        <span class="badge" data-mode=${env?.mode ?? 'unknown'}>${env ? (env.mode === 'served' ? `boxplay serve${env.version ? ` ${env.version}` : ''}` : 'static playground') : 'connecting…'}</span>
      </header>
      <div class="layout" @sample-request=${(e: CustomEvent<SampleRequest>) => this.runSample(e.detail)}>
        <aside>
          <bp-image-picker
            .entries=${s.pickerEntries()}
            .selected=${s.imageName}
            .canPull=${env?.authorized ?? false}
            .busy=${s.busy}
            @image-change=${(e: CustomEvent<string>) => s.selectImage(e.detail).catch((err: unknown) => s.update({ error: message(err) }))}
            @pull-request=${(e: CustomEvent<string>) => this.pull(e.detail)}
            @archive-drop=${(e: CustomEvent<File>) => this.dropArchive(e.detail)}
          ></bp-image-picker>
          ${s.platforms.length ? html`<p class="muted" id="platforms">Platforms: ${s.platforms.map(formatPlatform).join(', ')}</p>` : ''}
          <bp-runtime-switch .options=${s.switchOptions()} .selected=${s.runtimeId} @runtime-change=${(e: CustomEvent<RuntimeId>) => s.selectRuntime(e.detail)}></bp-runtime-switch>
          ${env?.serverProblem ? html`<p class="notice muted">${env.serverProblem}</p>` : ''}
        </aside>
        <main>
          <bp-command-bar
            .session=${s}
            .action=${open?.action ?? 'Run'}
            .enabled=${s.view === 'compare' || s.canRun()}
            @run-request=${() => this.runRequested()}
          ></bp-command-bar>
          ${s.progress ? html`<bp-progress .label=${s.progress.label} .loaded=${s.progress.loaded} .total=${s.progress.total}></bp-progress>` : ''}
          ${s.error ? html`<div class="alert" role="alert">${s.error}</div>` : ''}
          ${s.exitNote ? html`<div class="exit muted" role="status">${s.exitNote}</div>` : ''}
          <div role="tablist" aria-label="Views" @keydown=${this.onTabKey}>
            ${PANELS.map(
              (p) => html`<button role="tab" id="tab-${p.id}" aria-controls="panel-${p.id}" aria-selected=${s.view === p.id} tabindex=${s.view === p.id ? 0 : -1} @click=${() => this.selectView(p.id)}>${p.label}</button>`,
            )}
          </div>
          ${PANELS.map(
            (p) => html`<section role="tabpanel" id="panel-${p.id}" aria-labelledby="tab-${p.id}" ?hidden=${s.view !== p.id}>${staticHtml`<${p.tag} .session=${s}></${p.tag}>`}</section>`,
          )}
        </main>
      </div>
    `
  }
}
customElements.define('boxplay-app', PlaygroundApp)
