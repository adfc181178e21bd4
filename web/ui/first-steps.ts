// <bp-first-steps>: what a newcomer sees before the first run, in place of an empty terminal:
// what to type and what Run does, one-click samples whose answers differ between runtimes,
// and the way to the lessons. A sample asks the app to run it ('sample-request').

import { LitElement, css, html } from 'lit'
import type { Sample } from './samples.js'
import { theme } from './theme.js'

export interface SampleRequest {
  sample: Sample
  /** Run it in every runtime that can take the image, side by side. */
  compare: boolean
}

const LESSONS = [
  { file: 'containers-vs-vms.html', title: 'Containers vs virtual machines' },
  { file: 'namespaces.html', title: 'Namespaces' },
  { file: 'cgroups.html', title: 'cgroups' },
  { file: 'images-and-layers.html', title: 'Images and layers' },
  { file: 'wasi.html', title: 'WebAssembly and WASI' },
]

export class FirstSteps extends LitElement {
  static override properties = { samples: { attribute: false }, imageName: {}, available: { attribute: false } }
  declare samples: readonly Sample[]
  /** The image on screen, for the hint about its own command. */
  declare imageName: string | undefined
  /** Which samples can run here (their image is in the catalog). */
  declare available: (s: Sample) => boolean

  static override styles = [
    theme,
    css`
      :host { display: block; border: 1px solid var(--bp-border); border-radius: var(--bp-radius); background: var(--bp-panel); padding: 1rem 1.25rem; }
      h2 { font-size: 1.1rem; margin: 0 0 0.5rem; }
      h3 { font-size: 1rem; margin: 1rem 0 0.5rem; }
      ol.how { margin: 0; padding-left: 1.25rem; display: grid; gap: 0.35rem; }
      ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.5rem; }
      li.sample { display: grid; grid-template-columns: 1fr auto; gap: 0.2rem 0.75rem; align-items: center; border-top: 1px solid var(--bp-border); padding-top: 0.5rem; }
      code { font-family: ui-monospace, monospace; font-size: 0.9rem; }
      .why { font-size: 0.9rem; grid-column: 1; }
      .actions { grid-column: 2; grid-row: 1 / span 2; display: flex; gap: 0.4rem; }
      ul.lessons { display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; }
      a { color: var(--bp-accent); }
    `,
  ]

  constructor() {
    super()
    this.samples = []
    this.imageName = undefined
    this.available = () => true
  }

  private request(sample: Sample, compare: boolean): void {
    this.dispatchEvent(new CustomEvent<SampleRequest>('sample-request', { detail: { sample, compare }, bubbles: true, composed: true }))
  }

  override render() {
    const image = this.imageName?.replace(/:latest$/, '')
    return html`
      <h2>Start here</h2>
      <ol class="how">
        <li>Pick an image and a runtime on the left${image ? html` (now: <strong>${image}</strong>)` : ''}.</li>
        <li>Type a command in the box above, such as <code>uname -a</code>, or leave it empty to run the image’s own command (a shell, for most).</li>
        <li>Press <strong>Run</strong>: the image runs in the runtime you picked — the <em>Emulated VM</em> boots a Linux kernel inside this tab, the <em>WASI worker</em> runs WebAssembly with no kernel, the <em>Native container</em> runs on the server, sharing its kernel — and its terminal appears here.</li>
        <li><strong>Compare</strong> runs one command in several runtimes side by side; <strong>Files</strong> shows what a run changed.</li>
      </ol>
      <h3>Try one</h3>
      <ul class="samples">
        ${this.samples.map((s) => {
          const ok = this.available(s)
          return html`<li class="sample" data-sample=${s.id}>
            <code>${s.image}${s.runtime ? ` (${s.runtime})` : ''}: ${s.cmd}</code>
            <span class="why muted">${s.why}</span>
            <span class="actions">
              <button type="button" class="primary" data-action="run" ?disabled=${!ok} title=${ok ? '' : `the ${s.image} image is not here`} @click=${() => this.request(s, false)}>Run</button>
              ${s.runtime ? '' : html`<button type="button" data-action="compare" ?disabled=${!ok} @click=${() => this.request(s, true)}>Compare</button>`}
            </span>
          </li>`
        })}
      </ul>
      <h3>New to containers?</h3>
      <p>Five short lessons, each checked step by step: <a href="lessons/" id="lessons-link">all lessons</a>.</p>
      <ul class="lessons">
        ${LESSONS.map((l) => html`<li><a href="lessons/${l.file}">${l.title}</a></li>`)}
      </ul>
    `
  }
}
customElements.define('bp-first-steps', FirstSteps)
