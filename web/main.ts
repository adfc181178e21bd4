// The playground's entry: make the page cross-origin isolated (a service worker does it on
// static hosts that cannot send COOP/COEP), then start <boxplay-app>.

import './ui/app.js'
import { ensureCrossOriginIsolation } from './ui/cross-origin-isolation.js'

ensureCrossOriginIsolation(new URL('./coi-sw.js', document.baseURI)).catch((e: unknown) => {
  console.warn('boxplay: could not install the cross-origin isolation service worker:', e)
})
