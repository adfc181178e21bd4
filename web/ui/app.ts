// <boxplay-app>: the playground. Pick an image and a runtime, get a terminal on a run of it;
// compare runtimes side by side; read what a run changed. The page's address is always a
// deep link to what is on screen (?image=…&runtime=…&cmd=…), so it can be shared.

import { LitElement, css, html } from 'lit'
import { buildRootFs, type ResolvedImage } from '../oci/image.js'
import { formatPlatform, type Platform } from '../oci/platform.js'
import type { RootFs } from '../oci/rootfs.js'
import { pullImage } from '../runtimes/remote/pull.js'
import type { Progress } from '../runtimes/remote/sources.js'
import type { Run, RunSpec } from '../runtimes/runtime.js'
import type { V86RunNetwork } from '../runtimes/v86/network.js'
import { Lan } from '../net/lan.js'
import { ensurePreviewWorker, startPreviewBridge } from './preview-bridge.js'
import type { CompareColumn } from './compare-view.js'
import { RUNTIME_IDS, formatDeepLink, joinCommand, parseDeepLink, splitCommand, type RuntimeId } from './deep-link.js'
import { ImageCatalog } from './image-catalog.js'
import { detectEnv, type PageEnv } from './page-env.js'
import { loadRuntimes, pendingChoice, platformFor, type RuntimeChoice } from './runtime-choices.js'
import type { SwitchOption } from './runtime-switch.js'
import type { TerminalView } from './terminal-view.js'
import { theme } from './theme.js'
import './compare-view.js'
import './file-panel.js'
import './ports-panel.js'
import './image-picker.js'
import './progress-line.js'
import './runtime-switch.js'
import './terminal-view.js'

type View = 'terminal' | 'compare' | 'files' | 'ports'
const VIEWS: { id: View; label: string }[] = [
  { id: 'terminal', label: 'Terminal' },
  { id: 'compare', label: 'Compare' },
  { id: 'files', label: 'Files' },
  { id: 'ports', label: 'Ports' },
]

/** The v86 runtime takes a LAN to join beside the spec (web/runtimes/v86/network.ts). */
type NetworkedRuntime = { start(spec: RunSpec, network: V86RunNetwork): Promise<Run> }

const STARTING: Record<RuntimeId, string> = {
  v86: 'Booting the VM…',
  wasi: 'Starting the WebAssembly worker…',
  native: 'Starting the container on the server…',
}

interface ProgressState {
  label: string
  loaded: number
  total?: number
}

/** Runs expose the filesystem they ended with through `files()`, when their runtime can. */
type WithFiles = Run & { files?: () => RootFs | Promise<RootFs> }

/** The focused element, looking inside shadow roots (document.activeElement stops at the host). */
function deepActiveElement(): Element | null {
  let active = document.activeElement
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
  return active
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

export class PlaygroundApp extends LitElement {
  static override properties = {
    env: { state: true },
    runtimes: { state: true },
    imageName: { state: true },
    platforms: { state: true },
    runtimeId: { state: true },
    command: { state: true },
    view: { state: true },
    progress: { state: true },
    error: { state: true },
    running: { state: true },
    columns: { state: true },
    files: { state: true },
    imageFs: { state: true },
    filesNote: { state: true },
    pickerEntries: { state: true },
    busy: { state: true },
    exitNote: { state: true },
    compareIds: { state: true },
    portsRun: { state: true },
  }
  /** The run the Ports panel shows, and whether it is on the page's LAN. */
  declare portsRun: { run: Run; onLan: boolean } | undefined
  /** v86 guests join the page's LAN, so the Ports panel can preview what they serve. */
  private readonly lan = new Lan({ name: 'playground' })
  private readonly lanAddresses = new Map<string, string>()
  private guests = 0
  declare env: PageEnv | undefined
  declare runtimes: RuntimeChoice[]
  declare imageName: string | undefined
  declare platforms: Platform[]
  declare runtimeId: RuntimeId | undefined
  declare command: string
  declare view: View
  declare progress: ProgressState | undefined
  declare error: string | undefined
  declare running: boolean
  declare columns: CompareColumn[]
  declare files: RootFs | undefined
  declare imageFs: RootFs | undefined
  declare filesNote: string
  declare pickerEntries: { name: string; origin: string }[]
  declare busy: boolean
  declare exitNote: string | undefined
  /** The runtimes the Compare button runs. */
  declare compareIds: RuntimeId[]

  private catalog: ImageCatalog | undefined
  private run: Run | undefined
  private runImage: ResolvedImage | undefined
  private generation = 0

  static override styles = [
    theme,
    css`
      :host { display: block; min-height: 100vh; background: var(--bp-bg); }
      header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1rem; padding: 0.75rem 1.25rem; border-bottom: 1px solid var(--bp-border); background: var(--bp-panel); }
      h1 { font-size: 1.25rem; margin: 0; }
      .tagline { font-size: 0.9rem; }
      .badge { font-size: 0.8rem; border: 1px solid var(--bp-border); border-radius: 999px; padding: 0.1rem 0.6rem; margin-left: auto; }
      .layout { display: grid; grid-template-columns: 20rem 1fr; gap: 1.25rem; padding: 1.25rem; max-width: 90rem; margin: 0 auto; }
      @media (max-width: 60rem) { .layout { grid-template-columns: 1fr; padding: 0.75rem; } }
      aside { display: grid; gap: 1.25rem; align-content: start; }
      main { display: grid; gap: 0.75rem; align-content: start; min-width: 0; }
      form.command { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; }
      form.command .field { flex: 1 1 16rem; display: grid; gap: 0.3rem; }
      form.command label { font-weight: 600; }
      form.command input { font-family: ui-monospace, monospace; }
      .alert { border: 1px solid var(--bp-danger); color: var(--bp-danger); border-radius: var(--bp-radius); padding: 0.6rem 0.8rem; background: color-mix(in srgb, var(--bp-danger) 8%, transparent); white-space: pre-wrap; }
      .notice { border: 1px solid var(--bp-border); border-radius: var(--bp-radius); padding: 0.6rem 0.8rem; font-size: 0.9rem; }
      [role='tablist'] { display: flex; gap: 0.25rem; border-bottom: 1px solid var(--bp-border); }
      [role='tab'] { border: 0; border-bottom: 3px solid transparent; border-radius: 0; background: none; }
      [role='tab'][aria-selected='true'] { border-bottom-color: var(--bp-accent); font-weight: 600; }
      bp-terminal { height: clamp(16rem, 55vh, 40rem); }
      .exit { font-size: 0.9rem; }
      [hidden] { display: none !important; }
      fieldset.pick { border: 0; padding: 0; margin: 0.5rem 0 0.75rem; display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; align-items: center; }
      fieldset.pick legend { float: left; font-weight: 600; margin-right: 0.5rem; }
      fieldset.pick label { display: inline-flex; gap: 0.4rem; align-items: center; min-height: 2.5rem; }
      fieldset.pick input { min-height: 0; width: 1.1rem; height: 1.1rem; }
    `,
  ]

  constructor() {
    super()
    this.env = undefined
    this.runtimes = []
    this.imageName = undefined
    this.platforms = []
    this.runtimeId = undefined
    this.command = ''
    this.view = 'terminal'
    this.progress = undefined
    this.error = undefined
    this.running = false
    this.columns = []
    this.files = undefined
    this.imageFs = undefined
    this.filesNote = 'Run something to see its files.'
    this.pickerEntries = []
    this.busy = true
    this.exitNote = undefined
    this.compareIds = [...RUNTIME_IDS]
    this.portsRun = undefined
  }

  override firstUpdated(): void {
    startPreviewBridge((id) => {
      const address = this.lanAddresses.get(id)
      return address ? { lan: this.lan, address } : undefined
    })
    ensurePreviewWorker(new URL('./coi-sw.js', document.baseURI)).catch((e: unknown) => console.info(`no preview worker: ${message(e)}`))
    void this.init()
  }

  private get terminal(): TerminalView {
    return this.renderRoot.querySelector('bp-terminal') as TerminalView
  }

  private readonly onProgress: Progress = (p) => {
    this.progress = { label: `Downloading ${p.what}…`, loaded: p.loaded, ...(p.total !== undefined ? { total: p.total } : {}) }
  }

  private async init(): Promise<void> {
    const link = parseDeepLink(location.search)
    try {
      this.progress = { label: 'Looking for images and runtimes…', loaded: 0 }
      this.env = await detectEnv()
      this.catalog = new ImageCatalog(this.env)
      this.catalog.onProgress(this.onProgress)
      this.runtimes = RUNTIME_IDS.map(pendingChoice)
      const loading = loadRuntimes(this.env)
      loading.forEach((p, i) => void p.then((c) => (this.runtimes = this.runtimes.map((r, j) => (j === i ? c : r)))))
      await this.catalog.refresh()
      this.pickerEntries = this.catalog.entries.map((e) => ({ name: e.name, origin: e.origin }))
      if (link.cmd) this.command = joinCommand(link.cmd)
      const wanted = link.image ?? (this.catalog.find('busybox') ? 'busybox' : this.catalog.entries[0]?.name)
      if (!wanted) throw new Error('no images are available: the bundled images were not found (build them with `npm run setup`)')
      // A deep link waits only for the runtimes it names; the others fill in as they load.
      const named = link.compare ?? (link.runtime ? [link.runtime] : RUNTIME_IDS)
      await Promise.all(named.map((id) => loading[RUNTIME_IDS.indexOf(id)]))
      await this.selectImage(wanted, link.runtime ?? link.compare?.[0])
      this.busy = false
      if (link.compare) {
        this.view = 'compare'
        this.compareIds = link.compare
        await this.compare(link.compare)
      } else if (link.image || link.runtime || link.cmd) {
        await this.start()
      }
    } catch (e) {
      this.error = message(e)
    } finally {
      this.busy = false
      if (!this.running) this.progress = undefined
    }
  }

  private async selectImage(name: string, preferred?: RuntimeId): Promise<void> {
    const entry = this.catalog!.find(name)
    if (!entry) {
      const known = this.catalog!.entries.map((e) => e.name).join(', ') || 'none'
      throw new Error(`there is no image "${name}" here. Images: ${known}`)
    }
    this.imageName = entry.name
    this.progress = { label: `Reading ${entry.name}…`, loaded: 0 }
    const resolved = await this.catalog!.resolve(entry.name)
    this.platforms = resolved.platforms
    this.progress = undefined
    const usable = (id: RuntimeId) => {
      const c = this.runtimes.find((r) => r.id === id)
      return c !== undefined && 'platform' in this.fitFor(c)
    }
    if (preferred) this.runtimeId = preferred
    else if (!this.runtimeId || !usable(this.runtimeId)) this.runtimeId = RUNTIME_IDS.find(usable) ?? this.runtimeId ?? 'v86'
    this.syncUrl()
  }

  private syncUrl(): void {
    const link = formatDeepLink({
      ...(this.imageName ? { image: this.imageName.replace(/:latest$/, '') } : {}),
      ...(this.runtimeId ? { runtime: this.runtimeId } : {}),
      ...(this.command.trim() ? { cmd: this.parseCommand() ?? [] } : {}),
      ...(this.view === 'compare' ? { compare: this.compareIds } : {}),
    })
    history.replaceState(null, '', `${location.pathname}${link}`)
  }

  private parseCommand(): string[] | undefined {
    try {
      const words = splitCommand(this.command)
      return words.length ? words : undefined
    } catch {
      return undefined
    }
  }

  /** Why a runtime cannot run the chosen image, beyond its platforms. */
  private fitFor(c: RuntimeChoice): ReturnType<typeof platformFor> {
    if (c.id === 'native' && this.imageName && this.catalog?.find(this.imageName)?.origin === 'dropped') {
      return { reason: 'this image was opened in your browser and the server does not have it: add it there with `boxplay load`' }
    }
    return platformFor(c, this.platforms)
  }

  private switchOptions(): SwitchOption[] {
    return this.runtimes.map((c) => {
      const fit = this.fitFor(c)
      return 'reason' in fit ? { id: c.id, label: c.label, blurb: c.blurb, disabledReason: fit.reason } : { id: c.id, label: c.label, blurb: c.blurb }
    })
  }

  /** Resolves the image for one runtime and starts it, with progress for the slow parts. */
  private async startOn(choice: RuntimeChoice, spec: Omit<RunSpec, 'image'>): Promise<{ run: Run; image: ResolvedImage }> {
    const fit = this.fitFor(choice)
    if ('reason' in fit) throw new Error(`${choice.label} cannot run ${this.imageName}: ${fit.reason}`)
    this.progress = { label: `Fetching ${this.imageName} (${formatPlatform(fit.platform)})…`, loaded: 0 }
    const image = await this.catalog!.resolve(this.imageName!, fit.platform)
    this.progress = { label: STARTING[choice.id], loaded: 0 }
    // v86 guests keep the hostname "boxplay"; on the LAN they are vm1, vm2, …
    const network = choice.id === 'v86' ? { lan: this.lan, name: `vm${++this.guests}` } : undefined
    const run = network ? await (choice.runtime as unknown as NetworkedRuntime).start({ image, hostname: 'boxplay', ...spec }, network) : await choice.runtime!.start({ image, ...spec })
    if (network) {
      this.lanAddresses.set(run.id, this.lan.lookup(network.name) ?? '')
      void run.exit.then(() => this.lanAddresses.delete(run.id))
    }
    return { run, image }
  }

  private async start(): Promise<void> {
    const generation = ++this.generation
    this.run?.kill()
    this.error = undefined
    this.exitNote = undefined
    this.view = 'terminal'
    const choice = this.runtimes.find((r) => r.id === this.runtimeId)
    if (!choice || !this.imageName) return
    let cmd: string[] | undefined
    try {
      cmd = this.command.trim() ? splitCommand(this.command) : undefined
    } catch (e) {
      this.error = message(e)
      return
    }
    this.syncUrl()
    this.running = true
    this.files = undefined
    this.imageFs = undefined
    this.filesNote = 'The run’s files appear here when it ends.'
    await this.updateComplete
    const terminal = this.terminal
    terminal.clear()
    // A run can take a while to start; if the learner has moved to another control meanwhile,
    // pulling the focus into the terminal would swallow their next keys.
    const focusBefore = deepActiveElement()
    try {
      const { run, image } = await this.startOn(choice, { ...(cmd ? { cmd } : {}), tty: terminal.size, stdin: true })
      if (generation !== this.generation) {
        run.kill()
        return
      }
      this.run = run
      this.runImage = image
      this.portsRun = { run, onLan: this.lanAddresses.has(run.id) }
      this.progress = undefined
      terminal.attach(run, { convertEol: true, focus: deepActiveElement() === focusBefore })
      const status = await run.exit
      if (generation !== this.generation) return
      const how = status.reason === 'exited' ? `exited with code ${status.code}` : `${status.reason}${status.signal ? ` (${status.signal})` : ''}, code ${status.code}`
      this.exitNote = `${choice.label}: ${how}${status.message ? ` — ${status.message}` : ''}`
      terminal.note(`[${how}]`)
      await this.collectFiles(run as WithFiles, choice)
    } catch (e) {
      if (generation === this.generation) this.error = message(e)
    } finally {
      if (generation === this.generation) {
        this.running = false
        this.progress = undefined
      }
    }
  }

  private async collectFiles(run: WithFiles, choice: RuntimeChoice): Promise<void> {
    if (typeof run.files !== 'function') {
      // Every runtime the playground offers has files() (native through the server, which
      // keeps a run's writable layer until it is read); a future one might not.
      this.filesNote = `The ${choice.label} runtime does not expose its files.`
      return
    }
    try {
      this.files = await run.files()
    } catch (e) {
      this.filesNote = `Could not read the run’s files: ${message(e)}`
    }
  }

  private async showFiles(): Promise<void> {
    if (this.files && !this.imageFs && this.runImage) {
      this.progress = { label: 'Reading the image’s layers…', loaded: 0 }
      try {
        this.imageFs = await buildRootFs(this.runImage)
      } catch (e) {
        this.error = `Could not read the image’s layers to compare: ${message(e)}`
      } finally {
        this.progress = undefined
      }
    }
  }

  private stop(): void {
    this.run?.kill()
  }

  private async compare(ids: RuntimeId[] = [...RUNTIME_IDS]): Promise<void> {
    const generation = ++this.generation
    this.run?.kill()
    this.error = undefined
    this.view = 'compare'
    let cmd: string[] | undefined
    try {
      cmd = this.command.trim() ? splitCommand(this.command) : undefined
    } catch (e) {
      this.error = message(e)
      return
    }
    if (ids.length === 0) {
      this.error = 'Tick at least one runtime to compare.'
      return
    }
    const choices = ids.map((id) => this.runtimes.find((r) => r.id === id)).filter((c): c is RuntimeChoice => c !== undefined)
    this.columns = choices.map((c) => {
      const fit = this.fitFor(c)
      return { id: c.id, label: c.label, state: 'reason' in fit ? 'unavailable' : 'waiting', ...('reason' in fit ? { note: fit.reason } : {}), output: '', timings: [], facts: {} }
    })
    this.syncUrl()
    this.running = true
    const update = (i: number, patch: Partial<CompareColumn>) => {
      this.columns = this.columns.map((c, j) => (j === i ? { ...c, ...patch } : c))
    }
    // One after another, so no run's timings include another's work on the same cores.
    for (const [i, choice] of choices.entries()) {
      if (generation !== this.generation) return
      if (this.columns[i]!.state === 'unavailable') continue
      update(i, { state: 'loading' })
      try {
        const { run } = await this.startOn(choice, cmd ? { cmd } : {})
        this.progress = undefined
        this.run = run
        update(i, { state: 'running' })
        const decoder = new TextDecoder()
        let output = ''
        run.onOutput((chunk) => {
          output += decoder.decode(chunk.data, { stream: true })
          update(i, { output: output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') })
        })
        const status = await run.exit
        update(i, { state: 'exited', status, timings: [...run.timings], facts: { ...run.facts } })
      } catch (e) {
        update(i, { state: 'failed', note: message(e) })
      } finally {
        this.progress = undefined
      }
    }
    if (generation === this.generation) this.running = false
  }

  private async pull(ref: string): Promise<void> {
    this.error = undefined
    this.busy = true
    this.progress = { label: `Pulling ${ref}…`, loaded: 0 }
    try {
      const done = await pullImage(ref, {
        onProgress: (event) => {
          this.progress = { label: `Pulling ${ref}: ${event.message}`, loaded: event.current ?? 0, ...(event.total !== undefined ? { total: event.total } : {}) }
        },
      })
      await this.catalog!.refresh()
      this.pickerEntries = this.catalog!.entries.map((e) => ({ name: e.name, origin: e.origin }))
      await this.selectImage(done)
    } catch (e) {
      this.error = message(e)
    } finally {
      this.busy = false
      this.progress = undefined
    }
  }

  private async dropArchive(file: File): Promise<void> {
    this.error = undefined
    this.busy = true
    this.progress = { label: `Opening ${file.name}…`, loaded: 0, total: file.size }
    try {
      const names = await this.catalog!.addArchive(file)
      this.pickerEntries = this.catalog!.entries.map((e) => ({ name: e.name, origin: e.origin }))
      if (names[0]) await this.selectImage(names[0])
    } catch (e) {
      this.error = `Could not open ${file.name}: ${message(e)}`
    } finally {
      this.busy = false
      this.progress = undefined
    }
  }

  private selectView(view: View): void {
    this.view = view
    this.syncUrl()
    if (view === 'files') void this.showFiles()
    if (view === 'terminal') void this.updateComplete.then(() => this.terminal.focusTerminal())
  }

  private onTabKey(e: KeyboardEvent): void {
    const i = VIEWS.findIndex((v) => v.id === this.view)
    const next = e.key === 'ArrowRight' ? (i + 1) % VIEWS.length : e.key === 'ArrowLeft' ? (i + VIEWS.length - 1) % VIEWS.length : -1
    if (next < 0) return
    e.preventDefault()
    this.selectView(VIEWS[next]!.id)
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`#tab-${VIEWS[next]!.id}`)?.focus())
  }

  private async copyLink(): Promise<void> {
    const url = `${location.origin}${location.pathname}${location.search}`
    try {
      await navigator.clipboard.writeText(url)
      this.exitNote = 'Link copied.'
    } catch {
      this.exitNote = `Link: ${url}`
    }
  }

  override render() {
    const env = this.env
    const selected = this.runtimes.find((r) => r.id === this.runtimeId)
    const canRun = !this.busy && !!selected && !!this.imageName && 'platform' in this.fitFor(selected)
    return html`
      <header>
        <h1>boxplay</h1>
        <span class="tagline muted">one image, three ways to run it: a VM, a WebAssembly sandbox, a container</span>
        <span class="badge" data-mode=${env?.mode ?? 'unknown'}>${env ? (env.mode === 'served' ? `boxplay serve${env.version ? ` ${env.version}` : ''}` : 'static playground') : 'connecting…'}</span>
      </header>
      <div class="layout">
        <aside>
          <bp-image-picker
            .entries=${this.pickerEntries}
            .selected=${this.imageName}
            .canPull=${env?.authorized ?? false}
            .busy=${this.busy}
            @image-change=${(e: CustomEvent<string>) => this.selectImage(e.detail).catch((err: unknown) => (this.error = message(err)))}
            @pull-request=${(e: CustomEvent<string>) => this.pull(e.detail)}
            @archive-drop=${(e: CustomEvent<File>) => this.dropArchive(e.detail)}
          ></bp-image-picker>
          ${this.platforms.length ? html`<p class="muted" id="platforms">Platforms: ${this.platforms.map(formatPlatform).join(', ')}</p>` : ''}
          <bp-runtime-switch
            .options=${this.switchOptions()}
            .selected=${this.runtimeId}
            @runtime-change=${(e: CustomEvent<RuntimeId>) => {
              this.runtimeId = e.detail
              this.syncUrl()
            }}
          ></bp-runtime-switch>
          ${env?.serverProblem ? html`<p class="notice muted">${env.serverProblem}</p>` : ''}
        </aside>
        <main>
          <form
            class="command"
            @submit=${(e: Event) => {
              e.preventDefault()
              void (this.view === 'compare' ? this.compare(this.compareIds) : this.start())
            }}
          >
            <div class="field">
              <label for="cmd">Command <span class="muted">(empty: the image’s own)</span></label>
              <input id="cmd" name="cmd" .value=${this.command} @input=${(e: Event) => (this.command = (e.target as HTMLInputElement).value)} placeholder="uname -a" autocomplete="off" spellcheck="false" />
            </div>
            <button class="primary" id="run" type="submit" ?disabled=${!canRun && this.view !== 'compare'}>${this.view === 'compare' ? 'Compare' : 'Run'}</button>
            <button type="button" id="stop" ?disabled=${!this.running} @click=${() => this.stop()}>Stop</button>
            <button type="button" id="share" @click=${() => this.copyLink()}>Copy link</button>
          </form>
          ${this.progress ? html`<bp-progress .label=${this.progress.label} .loaded=${this.progress.loaded} .total=${this.progress.total}></bp-progress>` : ''}
          ${this.error ? html`<div class="alert" role="alert">${this.error}</div>` : ''}
          ${this.exitNote ? html`<div class="exit muted" role="status">${this.exitNote}</div>` : ''}
          <div role="tablist" aria-label="Views" @keydown=${this.onTabKey}>
            ${VIEWS.map(
              (v) => html`<button role="tab" id="tab-${v.id}" aria-controls="panel-${v.id}" aria-selected=${this.view === v.id} tabindex=${this.view === v.id ? 0 : -1} @click=${() => this.selectView(v.id)}>${v.label}</button>`,
            )}
          </div>
          <section role="tabpanel" id="panel-terminal" aria-labelledby="tab-terminal" ?hidden=${this.view !== 'terminal'}>
            <bp-terminal label="Terminal of the run"></bp-terminal>
          </section>
          <section role="tabpanel" id="panel-compare" aria-labelledby="tab-compare" ?hidden=${this.view !== 'compare'}>
            <fieldset class="pick">
              <legend>Compare</legend>
              ${this.runtimes.map(
                (c) => html`<label
                  ><input
                    type="checkbox"
                    name="compare"
                    .value=${c.id}
                    .checked=${this.compareIds.includes(c.id)}
                    @change=${(e: Event) => {
                      const on = (e.target as HTMLInputElement).checked
                      this.compareIds = RUNTIME_IDS.filter((id) => (id === c.id ? on : this.compareIds.includes(id)))
                      this.syncUrl()
                    }}
                  />${c.label}</label
                >`,
              )}
            </fieldset>
            ${this.columns.length
              ? html`<bp-compare .columns=${this.columns}></bp-compare>`
              : html`<p class="muted">Runs the command above in the runtimes ticked here, one after another, and sets the results side by side. Press Compare.</p>`}
          </section>
          <section role="tabpanel" id="panel-files" aria-labelledby="tab-files" ?hidden=${this.view !== 'files'}>
            <bp-file-panel .files=${this.files} .image=${this.imageFs} .unavailable=${this.filesNote}></bp-file-panel>
          </section>
          <section role="tabpanel" id="panel-ports" aria-labelledby="tab-ports" ?hidden=${this.view !== 'ports'}>
            <bp-ports-panel .run=${this.portsRun?.run} .previewable=${this.portsRun?.onLan ?? false}></bp-ports-panel>
          </section>
        </main>
      </div>
    `
  }
}
customElements.define('boxplay-app', PlaygroundApp)
