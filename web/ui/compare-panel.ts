// <bp-compare-panel>: the Compare tab. Run runs the command in each runtime ticked here, one
// after another, and <bp-compare> sets output, timings and facts side by side.

import { css, html } from 'lit'
import type { CompareColumn } from './compare-view.js'
import { RUNTIME_IDS } from './deep-link.js'
import { message } from './playground-session.js'
import type { RuntimeChoice } from './runtime-choices.js'
import { SessionElement, type PanelActions } from './session-element.js'
import { theme } from './theme.js'
import './compare-view.js'

export class ComparePanel extends SessionElement implements PanelActions {
  static override properties = { ...SessionElement.properties, columns: { state: true } }
  declare columns: CompareColumn[]

  static override styles = [
    theme,
    css`
      :host { display: block; }
      fieldset.pick { border: 0; padding: 0; margin: 0.5rem 0 0.75rem; display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; align-items: center; }
      fieldset.pick legend { float: left; font-weight: 600; margin-right: 0.5rem; }
      fieldset.pick label { display: inline-flex; gap: 0.4rem; align-items: center; min-height: 2.5rem; }
      fieldset.pick input { min-height: 0; width: 1.1rem; height: 1.1rem; }
    `,
  ]

  constructor() {
    super()
    this.columns = []
  }

  async run(): Promise<void> {
    const s = this.session!
    const ids = s.compareIds
    const current = s.begin()
    s.update({ error: undefined })
    let cmd: string[] | undefined
    try {
      cmd = s.commandWords()
    } catch (e) {
      s.update({ error: message(e) })
      return
    }
    if (ids.length === 0) {
      s.update({ error: 'Tick at least one runtime to compare.' })
      return
    }
    const choices = ids.map((id) => s.choice(id)).filter((c): c is RuntimeChoice => c !== undefined)
    this.columns = choices.map((c) => {
      const fit = s.fitFor(c)
      return { id: c.id, label: c.label, state: 'reason' in fit ? 'unavailable' : 'waiting', ...('reason' in fit ? { note: fit.reason } : {}), output: '', timings: [], facts: {} }
    })
    s.syncUrl()
    s.update({ running: true })
    const update = (i: number, patch: Partial<CompareColumn>) => {
      this.columns = this.columns.map((c, j) => (j === i ? { ...c, ...patch } : c))
    }
    // One after another, so no run's timings include another's work on the same cores.
    for (const [i, choice] of choices.entries()) {
      if (!current()) return
      if (this.columns[i]!.state === 'unavailable') continue
      update(i, { state: 'loading' })
      try {
        const { run } = await s.startOn(choice, cmd ? { cmd } : {})
        s.update({ progress: undefined })
        s.hold(run)
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
        s.update({ progress: undefined })
      }
    }
    if (current()) s.update({ running: false })
  }

  override render() {
    const s = this.session
    if (!s) return html``
    return html`
      <fieldset class="pick">
        <legend>Compare</legend>
        ${s.runtimes.map(
          (c) => html`<label
            ><input
              type="checkbox"
              name="compare"
              .value=${c.id}
              .checked=${s.compareIds.includes(c.id)}
              @change=${(e: Event) => {
                const on = (e.target as HTMLInputElement).checked
                s.compareIds = RUNTIME_IDS.filter((id) => (id === c.id ? on : s.compareIds.includes(id)))
                s.syncUrl()
                s.changed()
              }}
            />${c.label}</label
          >`,
        )}
      </fieldset>
      ${this.columns.length
        ? html`<bp-compare .columns=${this.columns}></bp-compare>`
        : html`<p class="muted">Runs the command above in the runtimes ticked here, one after another, and sets the results side by side. Press Compare.</p>`}
    `
  }
}
customElements.define('bp-compare-panel', ComparePanel)
