// What every panel of the playground shares: the page's environment, the image catalog, the
// runtimes, the chosen image/runtime/command, the progress line, the error, and the run on
// screen. Panels read it and call its verbs; it announces each change with a 'change' event,
// so a panel only has to subscribe (SessionElement does that) to stay current.
// It is also the one place that keeps the page's address a deep link to what is on screen.

import type { ResolvedImage } from '../oci/image.js'
import { formatPlatform, type Platform } from '../oci/platform.js'
import type { RootFs } from '../oci/rootfs.js'
import type { Run, RunSpec } from '../runtimes/runtime.js'
import { BrowserStore } from '../store/browser-store.js'
import type { ContainerRecord } from '../store/container-store.js'
import { parsePlatform } from '../oci/platform.js'
import { containerImage, createContainer, keepImageCopy, resumeContainer, settleOrphans, type SaveReport } from './container-session.js'
import type { V86RunNetwork } from '../runtimes/v86/network.js'
import { Lan } from '../net/lan.js'
import { RUNTIME_IDS, formatDeepLink, splitCommand, type RuntimeId } from './deep-link.js'
import type { ImageCatalog } from './image-catalog.js'
import type { PageEnv } from './page-env.js'
import { platformFor, type RuntimeChoice } from './runtime-choices.js'
import type { SwitchOption } from './runtime-switch.js'

export interface ProgressState {
  label: string
  loaded: number
  total?: number
}

/** What the last terminal run left behind, for the Files panel. */
export interface RunResult {
  files?: RootFs
  image?: ResolvedImage
  /** Why there are no files to show, when there are none. */
  note: string
}

const STARTING: Record<RuntimeId, string> = {
  v86: 'Booting the VM…',
  wasi: 'Starting the WebAssembly worker…',
  native: 'Starting the container on the server…',
}

/**
 * A cap on what the page keeps, below the browser's own quota, from localStorage
 * `boxplay.storeMaxBytes` (for a shared machine, and for the tests of the quota path).
 */
function storeCap(): { maxBytes?: number } {
  const cap = Number(globalThis.localStorage?.getItem('boxplay.storeMaxBytes') ?? '')
  return Number.isSafeInteger(cap) && cap > 0 ? { maxBytes: cap } : {}
}
/** The v86 runtime takes a LAN to join beside the spec (web/runtimes/v86/network.ts). */
type NetworkedRuntime = { start(spec: RunSpec, network: V86RunNetwork): Promise<Run> }

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

export class PlaygroundSession extends EventTarget {
  env: PageEnv | undefined
  catalog: ImageCatalog | undefined
  runtimes: RuntimeChoice[] = []
  imageName: string | undefined
  platforms: Platform[] = []
  runtimeId: RuntimeId | undefined
  command = ''
  /** The open panel's id. */
  view = 'terminal'
  /** The Build tab's starter (part of the deep link while that tab is open). */
  buildStarter: string | undefined
  /** The runtimes the Compare panel runs (part of the deep link). */
  compareIds: RuntimeId[] = [...RUNTIME_IDS]
  progress: ProgressState | undefined
  error: string | undefined
  exitNote: string | undefined
  running = false
  /** True while something (start-up, a pull, a dropped archive) holds the image choice. */
  busy = true
  lastRun: RunResult = { note: 'Run something to see its files.' }
  /** The browser's store of kept containers and images (web/store/), once open. */
  store: BrowserStore | undefined
  /** Why nothing can be kept, when the browser refuses a store. */
  storeProblem: string | undefined
  /** The name the next run is kept under, as a container (`&name=`). */
  newName = ''
  /** The kept container the terminal runs (`&container=`): its image, runtime and files. */
  attached: string | undefined

  /** The run Stop stops (also the one the Ports panel shows), and whether it is on the page's LAN. */
  held: { run: Run; onLan: boolean } | undefined
  /** v86 guests join the page's LAN, so the Ports panel can preview what they serve. */
  readonly lan = new Lan({ name: 'playground' })
  private readonly lanAddresses = new Map<string, string>()
  private guests = 0

  private run: Run | undefined
  private generation = 0

  /** Tells every subscribed panel to render again. */
  changed(): void {
    this.dispatchEvent(new Event('change'))
  }

  update(patch: Partial<Pick<PlaygroundSession, 'progress' | 'error' | 'exitNote' | 'running' | 'busy' | 'command' | 'lastRun' | 'view' | 'compareIds' | 'runtimeId' | 'runtimes' | 'newName'>>): void {
    Object.assign(this, patch)
    this.changed()
  }

  pickerEntries(): { name: string; origin: string }[] {
    return this.catalog?.entries.map((e) => ({ name: e.name, origin: e.origin })) ?? []
  }

  /**
   * Starts a new piece of work that replaces the current one (a run, a comparison): the run on
   * screen is stopped, and the returned check says whether this work is still the current one.
   */
  begin(): () => boolean {
    const generation = ++this.generation
    this.run?.kill()
    return () => generation === this.generation
  }

  /** The run Stop stops. */
  hold(run: Run): void {
    this.run = run
    this.held = { run, onLan: this.lanAddresses.has(run.id) }
    this.changed()
  }

  /** Where a run of this page is on the LAN, for the preview (web/ui/preview-bridge.ts). */
  lanAddress(runId: string): string | undefined {
    return this.lanAddresses.get(runId)
  }

  stop(): void {
    this.run?.kill()
  }

  async selectImage(name: string, preferred?: RuntimeId): Promise<void> {
    // Another image is another run: the page lets go of a kept container.
    this.attached = undefined
    const catalog = this.catalog!
    const entry = catalog.find(name)
    if (!entry) {
      const known = catalog.entries.map((e) => e.name).join(', ') || 'none'
      throw new Error(`there is no image "${name}" here. Images: ${known}`)
    }
    this.imageName = entry.name
    this.update({ progress: { label: `Reading ${entry.name}…`, loaded: 0 } })
    const resolved = await catalog.resolve(entry.name)
    this.platforms = resolved.platforms
    this.progress = undefined
    const usable = (id: RuntimeId) => {
      const c = this.runtimes.find((r) => r.id === id)
      return c !== undefined && 'platform' in this.fitFor(c)
    }
    if (preferred) this.runtimeId = preferred
    else if (!this.runtimeId || !usable(this.runtimeId)) this.runtimeId = RUNTIME_IDS.find(usable) ?? this.runtimeId ?? 'v86'
    this.syncUrl()
    this.changed()
  }

  selectRuntime(id: RuntimeId): void {
    this.attached = undefined
    this.runtimeId = id
    this.syncUrl()
    this.changed()
  }

  choice(id: RuntimeId | undefined = this.runtimeId): RuntimeChoice | undefined {
    return this.runtimes.find((r) => r.id === id)
  }

  /** Why a runtime cannot run the chosen image, beyond its platforms. */
  fitFor(c: RuntimeChoice): ReturnType<typeof platformFor> {
    const origin = this.imageName ? this.catalog?.find(this.imageName)?.origin : undefined
    if (c.id === 'native' && this.attached) return { reason: 'this container is kept in your browser: the server cannot run it' }
    if (c.id === 'native' && origin === 'kept') return { reason: 'this image is kept in your browser and the server does not have it: download it (Containers tab) and `boxplay load` it there' }
    if (c.id === 'native' && origin === 'dropped') {
      return { reason: 'this image was opened in your browser and the server does not have it: add it there with `boxplay load`' }
    }
    if (c.id === 'native' && origin === 'built') {
      return { reason: 'this image was built in your browser and the server does not have it: build it on the server (Build tab, Native container) to run it there' }
    }
    return platformFor(c, this.platforms)
  }

  switchOptions(): SwitchOption[] {
    return this.runtimes.map((c) => {
      const fit = this.fitFor(c)
      return 'reason' in fit ? { id: c.id, label: c.label, blurb: c.blurb, disabledReason: fit.reason } : { id: c.id, label: c.label, blurb: c.blurb }
    })
  }

  canRun(): boolean {
    const selected = this.choice()
    return !this.busy && !!selected && !!this.imageName && 'platform' in this.fitFor(selected)
  }

  /** The command box as argv; undefined when empty (the image's own command). Throws on bad quoting. */
  commandWords(): string[] | undefined {
    return this.command.trim() ? splitCommand(this.command) : undefined
  }

  /** Resolves the image for one runtime and starts it, with progress for the slow parts. */
  async startOn(choice: RuntimeChoice, spec: Omit<RunSpec, 'image'>): Promise<{ run: Run; image: ResolvedImage }> {
    const fit = this.fitFor(choice)
    if ('reason' in fit) throw new Error(`${choice.label} cannot run ${this.imageName}: ${fit.reason}`)
    this.update({ progress: { label: `Fetching ${this.imageName} (${formatPlatform(fit.platform)})…`, loaded: 0 } })
    const image = await this.catalog!.resolve(this.imageName!, fit.platform)
    this.update({ progress: { label: STARTING[choice.id], loaded: 0 } })
    // v86 guests keep the hostname "boxplay"; on the LAN they are vm1, vm2, …
    const network = choice.id === 'v86' ? { lan: this.lan, name: `vm${++this.guests}` } : undefined
    const run = network
      ? await (choice.runtime as unknown as NetworkedRuntime).start({ image, hostname: 'boxplay', ...spec }, network)
      : await choice.runtime!.start({ image, ...spec })
    if (network) {
      this.lanAddresses.set(run.id, this.lan.lookup(network.name) ?? '')
      void run.exit.then(() => this.lanAddresses.delete(run.id))
    }
    return { run, image }
  }

  syncUrl(): void {
    let cmd: string[] | undefined
    try {
      cmd = this.commandWords()
    } catch {
      cmd = undefined
    }
    const link = formatDeepLink({
      ...(this.imageName ? { image: this.imageName.replace(/:latest$/, '') } : {}),
      ...(this.runtimeId ? { runtime: this.runtimeId } : {}),
      ...(cmd && this.view !== 'build' ? { cmd } : {}),
      ...(this.view === 'compare' ? { compare: this.compareIds } : {}),
      ...(this.attached ? { container: this.attached } : this.newName.trim() ? { name: this.newName.trim() } : {}),
      ...(this.view === 'build' && this.buildStarter ? { build: this.buildStarter } : {}),
    })
    history.replaceState(null, '', `${location.pathname}${link}`)
  }

  // ---- containers kept in the browser (container-session.ts, web/store/) ----

  /** Opens the browser's store; without one, the page still runs (nothing is kept). */
  async openStore(): Promise<void> {
    try {
      this.store = await BrowserStore.open(storeCap())
      await settleOrphans(this.store).catch(() => [])
      await this.refreshKeptImages()
    } catch (e) {
      this.storeProblem = `Nothing can be kept in this browser: ${message(e)}`
    }
    this.changed()
  }

  /** Committed images in the browser's store join the image picker. */
  async refreshKeptImages(): Promise<void> {
    if (!this.store || !this.catalog) return
    const { images } = await this.store.images.list()
    this.catalog.setKept(images.filter((i) => i.origin !== 'copied').map((i) => i.name), this.store.images.source())
    this.changed()
  }

  /** Points the page at a kept container: its image and runtime, its files on the next Run. */
  async attach(name: string): Promise<ContainerRecord> {
    if (!this.store) throw new Error(this.storeProblem ?? 'the browser’s store is not open')
    const record = await this.store.containers.get(name)
    this.attached = record.name
    this.newName = ''
    this.imageName = record.image.name
    this.platforms = [parsePlatform(record.image.platform)]
    this.runtimeId = record.runtime
    this.syncUrl()
    this.changed()
    return record
  }

  /** The next Run is a plain run again. */
  detach(): void {
    if (!this.attached) return
    this.attached = undefined
    this.syncUrl()
    this.changed()
  }

  /** The last save of a container's files, for the Containers tab ('save' events). */
  private readonly onSave = (report: SaveReport): void => {
    if (report.error) this.update({ error: `The files of container ${report.container} were not kept: ${report.error.message}` })
    this.dispatchEvent(new CustomEvent<SaveReport>('save', { detail: report }))
  }

  /** Whether the next terminal run is a container (a new one by name, or the attached one). */
  get keepsContainer(): boolean {
    return this.attached !== undefined || this.newName.trim() !== ''
  }

  /** Starts a run that is a container: a new one named `newName`, or the attached one again. */
  async startContainer(choice: RuntimeChoice, spec: Omit<RunSpec, 'image'>): Promise<{ run: Run; image: ResolvedImage }> {
    const store = this.store
    if (!store) throw new Error(this.storeProblem ?? 'the browser’s store is not open, so no container can be kept')
    if (choice.id === 'native') throw new Error('containers of the native runtime are kept by the server: use `boxplay run --name` there; the page keeps v86 and wasi containers')
    if (!choice.runtime || !choice.availability.ok) throw new Error(`${choice.label} is not available: ${choice.availability.ok ? 'not loaded' : choice.availability.reason}`)
    const options = { store, runtime: choice.runtime, runtimeId: choice.id, spec, onSave: this.onSave }
    if (this.attached) {
      const record = await store.containers.get(this.attached)
      this.update({ progress: { label: `Reading container ${record.name}…`, loaded: 0 } })
      const image = await containerImage(store, this.catalog, record)
      this.update({ progress: { label: STARTING[choice.id], loaded: 0 } })
      return { run: await resumeContainer(record, { ...options, image }), image }
    }
    const fit = this.fitFor(choice)
    if ('reason' in fit) throw new Error(`${choice.label} cannot run ${this.imageName}: ${fit.reason}`)
    const image = await this.catalog!.resolve(this.imageName!, fit.platform)
    this.update({ progress: { label: STARTING[choice.id], loaded: 0 } })
    const { record, run } = await createContainer(this.newName.trim(), { ...options, image })
    // A small image is copied in too, so the container outlives the server it came from.
    void keepImageCopy(store, this.catalog!, image).catch(() => {})
    this.attached = record.name
    this.newName = ''
    this.syncUrl()
    this.changed()
    return { run, image }
  }
}
