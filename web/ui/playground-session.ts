// What every panel of the playground shares: the page's environment, the image catalog, the
// runtimes, the chosen image/runtime/command, the progress line, the error, and the run on
// screen. Panels read it and call its verbs; it announces each change with a 'change' event,
// so a panel only has to subscribe (SessionElement does that) to stay current.
// It is also the one place that keeps the page's address a deep link to what is on screen.

import type { ResolvedImage } from '../oci/image.js'
import { formatPlatform, type Platform } from '../oci/platform.js'
import type { RootFs } from '../oci/rootfs.js'
import type { Run, RunSpec } from '../runtimes/runtime.js'
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

  update(patch: Partial<Pick<PlaygroundSession, 'progress' | 'error' | 'exitNote' | 'running' | 'busy' | 'command' | 'lastRun' | 'view' | 'compareIds' | 'runtimeId' | 'runtimes'>>): void {
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
      ...(this.view === 'build' && this.buildStarter ? { build: this.buildStarter } : {}),
    })
    history.replaceState(null, '', `${location.pathname}${link}`)
  }
}
