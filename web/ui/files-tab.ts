// <bp-files-tab>: the Files tab. What the last terminal run changed, compared with the layers
// of the image it ran; the image's tree is read only when the tab is first opened.

import { css, html } from 'lit'
import { buildRootFs } from '../oci/image.js'
import type { RootFs } from '../oci/rootfs.js'
import { message, type RunResult } from './playground-session.js'
import { SessionElement, type PanelActions } from './session-element.js'
import './file-panel.js'

export class FilesTab extends SessionElement implements PanelActions {
  static override properties = { ...SessionElement.properties, imageFs: { state: true } }
  declare imageFs: RootFs | undefined
  /** The run whose image imageFs is. */
  private readFor: RunResult | undefined

  static override styles = css`
    :host { display: block; }
  `

  shown(): void {
    void this.readImage()
  }

  private async readImage(): Promise<void> {
    const s = this.session!
    const last = s.lastRun
    if (!last.files || !last.image || this.readFor === last) return
    this.readFor = last
    this.imageFs = undefined
    s.update({ progress: { label: 'Reading the image’s layers…', loaded: 0 } })
    try {
      const fs = await buildRootFs(last.image)
      if (this.readFor === last) this.imageFs = fs
    } catch (e) {
      s.update({ error: `Could not read the image’s layers to compare: ${message(e)}` })
    } finally {
      s.update({ progress: undefined })
    }
  }

  override render() {
    const last = this.session?.lastRun
    const image = this.readFor === last ? this.imageFs : undefined
    return html`<bp-file-panel .files=${last?.files} .image=${image} .unavailable=${last?.note ?? ''}></bp-file-panel>`
  }
}
customElements.define('bp-files-tab', FilesTab)
