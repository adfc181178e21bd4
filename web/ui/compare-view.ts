// <bp-compare>: the same command in two or three runtimes, side by side: the output of each,
// the chart of where the time went, and the facts the textbooks tabulate (kernel, PID 1,
// hostname, memory), measured live.

import { LitElement, css, html } from 'lit'
import type { ExitStatus, Phase } from '../runtimes/runtime.js'
import './timing-chart.js'
import { theme } from './theme.js'

export interface CompareColumn {
  id: string
  label: string
  state: 'waiting' | 'loading' | 'running' | 'exited' | 'failed' | 'unavailable'
  note?: string
  output: string
  status?: ExitStatus
  timings: readonly Phase[]
  facts: Readonly<Record<string, string | number>>
}

/** The facts the table leads with, under the names the runtimes give them. */
const KNOWN_FACTS: [label: string, keys: string[], format?: (v: string | number) => string][] = [
  ['Kernel (uname -r)', ['kernel', 'kernelRelease', 'uname']],
  ['PID 1', ['pid1', 'pid1Command', 'pid']],
  ['Hostname', ['hostname']],
  ['Memory', ['memoryPeakBytes', 'memoryPeak', 'memory'], (v) => (typeof v === 'number' ? `${(v / 1048576).toFixed(1)} MB peak` : v)],
  ['CPU time', ['cpuMs', 'cpuTimeMs', 'cpuTime'], (v) => (typeof v === 'number' ? `${v.toFixed(1)} ms` : v)],
  ['Isolation', ['isolation']],
]

export class CompareView extends LitElement {
  static override properties = { columns: { attribute: false }, command: {} }
  declare columns: CompareColumn[]
  declare command: string

  static override styles = [
    theme,
    css`
      :host { display: grid; gap: 1rem; }
      .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 0.75rem; }
      section { border: 1px solid var(--bp-border); border-radius: var(--bp-radius); background: var(--bp-panel); padding: 0.75rem; min-width: 0; }
      h3 { margin: 0 0 0.4rem; font-size: 1rem; }
      pre { background: var(--bp-term); color: #e8e8e8; padding: 0.5rem; border-radius: 6px; overflow: auto; max-height: 14rem; margin: 0.4rem 0 0; font-size: 0.85rem; white-space: pre-wrap; word-break: break-all; }
      table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
      th, td { text-align: left; border-bottom: 1px solid var(--bp-border); padding: 0.35rem 0.5rem; vertical-align: top; overflow-wrap: anywhere; }
      .state { font-size: 0.85rem; }
      th[scope='row'] { min-width: 8rem; }
      .lesson { margin: 0 0 0.6rem; }
      .table-wrap { overflow-x: auto; }
    `,
  ]

  constructor() {
    super()
    this.columns = []
    this.command = ''
  }

  private factRows(): [string, string[]][] {
    const rows: [string, string[]][] = []
    const used = new Set<string>()
    for (const [label, keys, format] of KNOWN_FACTS) {
      const values = this.columns.map((c) => {
        const key = keys.find((k) => c.facts[k] !== undefined)
        if (key === undefined) return '—'
        used.add(key)
        const v = c.facts[key]!
        // The native core reports PID 1 by its number on the host; inside, it is 1.
        if (key === 'pid1' && c.id === 'native' && typeof v === 'number') return `the command itself (host PID ${v})`
        return format ? format(v) : String(v)
      })
      if (values.some((v) => v !== '—')) rows.push([label, values])
    }
    const extra = [...new Set(this.columns.flatMap((c) => Object.keys(c.facts)))].filter((k) => !used.has(k))
    for (const key of extra) rows.push([key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase()), this.columns.map((c) => (c.facts[key] === undefined ? '—' : String(c.facts[key])))])
    rows.push(['Exit', this.columns.map((c) => (c.status ? `${c.status.code}${c.status.reason !== 'exited' ? ` (${c.status.reason})` : ''}` : '—'))])
    return rows
  }

  private stateText(c: CompareColumn): string {
    switch (c.state) {
      case 'waiting':
        return 'waiting'
      case 'loading':
        return c.note ?? 'loading the image…'
      case 'running':
        return 'running…'
      case 'exited':
        return c.status?.message ?? `exited with ${c.status?.code ?? '?'}`
      case 'failed':
      case 'unavailable':
        return c.note ?? c.state
    }
  }

  /** The table's lesson in a sentence, from what the runs reported. */
  private lesson(): string | undefined {
    const done = this.columns.filter((c) => c.state === 'exited')
    const kernelOf = (c: CompareColumn) => String(c.facts.kernel ?? c.facts.kernelRelease ?? '')
    const parts: string[] = []
    const vm = done.find((c) => c.id === 'v86' && kernelOf(c))
    const box = done.find((c) => c.id === 'native' && kernelOf(c))
    const wasm = done.find((c) => c.id === 'wasi')
    if (vm) parts.push(`The VM booted a kernel of its own (${kernelOf(vm)}).`)
    if (box) parts.push(`The container borrowed the server's kernel (${kernelOf(box)}): isolated by namespaces and cgroups, not by a second kernel.`)
    if (wasm) parts.push('The WebAssembly module had no kernel at all: the worker answered its WASI calls.')
    return parts.length >= 2 ? parts.join(' ') : undefined
  }

  override render() {
    const rows = this.factRows()
    const lesson = this.lesson()
    const finished = this.columns.filter((c) => c.timings.length > 0)
    return html`
      <div class="grid">
        ${this.columns.map(
          (c) => html`<section data-runtime=${c.id} data-state=${c.state} aria-busy=${c.state === 'running' || c.state === 'loading'}>
            <h3>${c.label}</h3>
            <div class="state ${c.state === 'failed' || c.state === 'unavailable' ? 'error' : 'muted'}" role="status">${this.stateText(c)}</div>
            ${c.output ? html`<pre aria-label="output of ${c.label}">${c.output}</pre>` : ''}
          </section>`,
        )}
      </div>
      ${finished.length
        ? html`<section aria-label="Where the time went">
            <h3>Where the time went</h3>
            <bp-timing-chart .rows=${finished.map((c) => ({ label: c.label, colour: `var(--bp-${c.id})`, phases: c.timings }))}></bp-timing-chart>
          </section>`
        : ''}
      <section class="table-wrap">
        <h3>What each run sees</h3>
        ${lesson ? html`<p class="lesson">${lesson}</p>` : ''}
        <table>
          <thead><tr><th scope="col"></th>${this.columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
          <tbody>${rows.map(([label, values]) => html`<tr><th scope="row">${label}</th>${values.map((v) => html`<td>${v}</td>`)}</tr>`)}</tbody>
        </table>
      </section>
    `
  }
}
customElements.define('bp-compare', CompareView)
