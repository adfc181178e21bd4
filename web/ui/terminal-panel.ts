// <bp-terminal-panel>: the Terminal tab. Run starts the chosen image in the chosen runtime
// with a real terminal on it; when the run ends, what it left (its files) goes to the session
// for the Files tab.

import { html } from 'lit'
import type { RootFs } from '../oci/rootfs.js'
import type { Run } from '../runtimes/runtime.js'
import { message } from './playground-session.js'
import type { RuntimeChoice } from './runtime-choices.js'
import { SessionElement, type PanelActions } from './session-element.js'
import type { TerminalView } from './terminal-view.js'
import { SAMPLES, type Sample } from './samples.js'
import './first-steps.js'
import './terminal-view.js'

/** Runs expose the filesystem they ended with through `files()`, when their runtime can. */
type WithFiles = Run & { files?: () => RootFs | Promise<RootFs> }

/** The focused element, looking inside shadow roots (document.activeElement stops at the host). */
function deepActiveElement(): Element | null {
  let active = document.activeElement
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
  return active
}

export class TerminalPanel extends SessionElement implements PanelActions {
  static override properties = { ...SessionElement.properties, started: { state: true } }
  /** Whether a run has started here: until then the first steps stand where the terminal will be. */
  declare started: boolean

  constructor() {
    super()
    this.started = false
  }

  // No shadow root of its own: the terminal stays in the app's shadow tree, where the bench
  // (test/bench/serve.ts) and the e2e helpers look for it.
  protected override createRenderRoot(): HTMLElement {
    return this
  }

  private get terminal(): TerminalView {
    return this.querySelector('bp-terminal') as TerminalView
  }

  shown(): void {
    void this.updateComplete.then(() => this.terminal.focusTerminal())
  }

  async run(): Promise<void> {
    const s = this.session!
    const current = s.begin()
    s.update({ error: undefined, exitNote: undefined })
    const choice = s.choice()
    if (!choice || !s.imageName) return
    let cmd: string[] | undefined
    try {
      cmd = s.commandWords()
    } catch (e) {
      s.update({ error: message(e) })
      return
    }
    s.syncUrl()
    s.update({ running: true, lastRun: { note: 'The run’s files appear here when it ends.' } })
    const first = !this.started
    this.started = true
    await this.updateComplete
    // A terminal shown for the first time fits itself to its box on the next frame: start the
    // run with that size, not xterm's default.
    if (first) await new Promise((resolve) => requestAnimationFrame(resolve))
    const terminal = this.terminal
    terminal.clear()
    // A run can take a while to start; if the learner has moved to another control meanwhile,
    // pulling the focus into the terminal would swallow their next keys.
    const focusBefore = deepActiveElement()
    try {
      const spec = { ...(cmd ? { cmd } : {}), tty: terminal.size, stdin: true }
      const { run, image } = s.keepsContainer ? await s.startContainer(choice, spec) : await s.startOn(choice, spec)
      if (!current()) {
        run.kill()
        return
      }
      s.hold(run)
      s.update({ progress: undefined })
      terminal.attach(run, { convertEol: true, focus: deepActiveElement() === focusBefore })
      const status = await run.exit
      if (!current()) return
      const how = status.reason === 'exited' ? `exited with code ${status.code}` : `${status.reason}${status.signal ? ` (${status.signal})` : ''}, code ${status.code}`
      s.update({ exitNote: `${choice.label}: ${how}${status.message ? ` — ${status.message}` : ''}` })
      terminal.note(`[${how}]`)
      s.update({ lastRun: { image, ...(await this.collectFiles(run as WithFiles, choice)) } })
    } catch (e) {
      if (current()) s.update({ error: message(e) })
    } finally {
      if (current()) s.update({ running: false, progress: undefined })
    }
  }

  private async collectFiles(run: WithFiles, choice: RuntimeChoice): Promise<{ files?: RootFs; note: string }> {
    if (typeof run.files !== 'function') {
      // Every runtime the playground offers has files() (native through the server, which
      // keeps a run's writable layer until it is read); a future one might not.
      return { note: `The ${choice.label} runtime does not expose its files.` }
    }
    try {
      return { files: await run.files(), note: '' }
    } catch (e) {
      return { note: `Could not read the run’s files: ${message(e)}` }
    }
  }

  override render() {
    const s = this.session
    return html`
      ${this.started
        ? ''
        : html`<bp-first-steps .samples=${SAMPLES} .imageName=${s?.imageName} .available=${(sample: Sample) => s?.catalog?.find(sample.image) !== undefined}></bp-first-steps>`}
      <div style=${this.started ? '' : 'display: none'}>
        <bp-terminal label="Terminal of the run" style="height: clamp(16rem, 55vh, 40rem)"></bp-terminal>
      </div>
    `
  }
}
customElements.define('bp-terminal-panel', TerminalPanel)
