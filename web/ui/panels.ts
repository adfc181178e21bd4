// The playground's tabs, in order. A panel is a SessionElement in a file of its own; adding
// one is importing its file here and adding a line to PANELS.

import { unsafeStatic, type StaticValue } from 'lit/static-html.js'
import './build-panel.js'
import './compare-panel.js'
import './containers-tab.js'
import './files-tab.js'
import './ports-tab.js'
import './terminal-panel.js'

export interface PanelDef {
  /** Tab and panel ids (`tab-ID`, `panel-ID`) and the view name in the page's state. */
  id: string
  label: string
  /** The panel's custom element. */
  tag: StaticValue
  /** What the Run button says while the panel is open; without it, Run runs in the terminal. */
  action?: string
}

export const PANELS: readonly PanelDef[] = [
  { id: 'terminal', label: 'Terminal', tag: unsafeStatic('bp-terminal-panel'), action: 'Run' },
  { id: 'compare', label: 'Compare', tag: unsafeStatic('bp-compare-panel'), action: 'Compare' },
  { id: 'files', label: 'Files', tag: unsafeStatic('bp-files-tab') },
  { id: 'build', label: 'Build', tag: unsafeStatic('bp-build-panel') },
  { id: 'containers', label: 'Containers', tag: unsafeStatic('bp-containers-tab') },
  { id: 'ports', label: 'Ports', tag: unsafeStatic('bp-ports-tab') },
]
