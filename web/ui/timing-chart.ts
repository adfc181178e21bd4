// <bp-timing-chart>: where each run's time went, one stacked bar per run on a shared scale,
// with the numbers in a table for screen readers and for copying.

import { LitElement, css, html } from 'lit'
import type { Phase } from '../runtimes/runtime.js'
import { theme } from './theme.js'

export interface TimingRow {
  label: string
  colour: string
  phases: readonly Phase[]
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f', '#ff9da7', '#bab0ac', '#1f77b4', '#8c564b']

export class TimingChart extends LitElement {
  static override properties = { rows: { attribute: false } }
  declare rows: TimingRow[]

  static override styles = [
    theme,
    css`
      :host { display: grid; gap: 0.5rem; }
      .row { display: grid; grid-template-columns: 11rem 1fr 5rem; gap: 0.5rem; align-items: center; }
      .bar { display: flex; height: 1.4rem; background: var(--bp-bg); border-radius: 4px; overflow: hidden; }
      .seg { height: 100%; min-width: 2px; }
      .total { text-align: right; font-variant-numeric: tabular-nums; }
      .legend { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; font-size: 0.85rem; }
      .legend i { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-right: 0.3rem; vertical-align: -0.1rem; }
      @media (max-width: 40rem) { .row { grid-template-columns: 7rem 1fr 4rem; } }
    `,
  ]

  constructor() {
    super()
    this.rows = []
  }

  override render() {
    const names = [...new Set(this.rows.flatMap((r) => r.phases.map((p) => p.name)))]
    const colour = (name: string) => PALETTE[names.indexOf(name) % PALETTE.length]
    const totals = this.rows.map((r) => r.phases.reduce((s, p) => s + p.ms, 0))
    const max = Math.max(1, ...totals)
    const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 1 : 0)} ms`)
    return html`
      <div class="legend" aria-hidden="true">${names.map((n) => html`<span><i style="background:${colour(n)}"></i>${n}</span>`)}</div>
      ${this.rows.map(
        (r, i) => html`<div class="row" aria-hidden="true">
          <span>${r.label}</span>
          <span class="bar">
            ${r.phases.map((p) => html`<span class="seg" title="${p.name}: ${ms(p.ms)}" style="width:${(p.ms / max) * 100}%;background:${colour(p.name)}"></span>`)}
          </span>
          <span class="total">${ms(totals[i]!)}</span>
        </div>`,
      )}
      <table class="visually-hidden">
        <caption>Time per phase</caption>
        <tr><th>run</th>${names.map((n) => html`<th>${n}</th>`)}<th>total</th></tr>
        ${this.rows.map(
          (r, i) => html`<tr><th>${r.label}</th>${names.map((n) => html`<td>${ms(r.phases.filter((p) => p.name === n).reduce((s, p) => s + p.ms, 0))}</td>`)}<td>${ms(totals[i]!)}</td></tr>`,
        )}
      </table>
    `
  }
}
customElements.define('bp-timing-chart', TimingChart)
