// The lesson widget's bundle entry (built to dist/widget/boxplay-lesson.js). A page needs one
// <script type="module" src=".../boxplay-lesson.js"> and <boxplay-lesson> elements; the
// bundle finds its assets (guest/, images/, wasm, worker) next to itself, wherever the
// folder was copied. On a host that cannot send COOP/COEP, copy the folder's coi-sw.js beside
// the pages: the widget installs it so the wasi runtime gets SharedArrayBuffer.

import { ensureCrossOriginIsolation } from './ui/cross-origin-isolation.js'
import { defineLessonElements } from './ui/lesson/define.js'
import { setAssetBase } from './ui/lesson/runtimes.js'

// Order matters: the asset base first, then the elements (defining upgrades lessons already
// in the page, and they start loading their runtimes at once).
setAssetBase(import.meta.url)
defineLessonElements()
ensureCrossOriginIsolation(new URL('coi-sw.js', document.baseURI)).catch((e: unknown) => {
  console.warn('boxplay: this page is not cross-origin isolated, so the wasi runtime is unavailable; serve it with COOP/COEP or put the widget\'s coi-sw.js beside it:', e)
})

export { BoxplayLesson } from './ui/lesson/boxplay-lesson.js'
export { BoxplayStep } from './ui/lesson/boxplay-step.js'
export { BoxplayRun } from './ui/lesson/boxplay-run.js'
export { BoxplayCheck } from './ui/lesson/boxplay-check.js'
export { BoxplaySolution } from './ui/lesson/boxplay-solution.js'
