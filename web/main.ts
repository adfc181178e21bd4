// The playground's entry: make the page cross-origin isolated (a service worker does it on
// static hosts that cannot send COOP/COEP), then start <boxplay-app>.

import './ui/app.js'

const RELOAD_FLAG = 'boxplay-coi-reload'

async function ensureIsolation(): Promise<void> {
  if (globalThis.crossOriginIsolated || !('serviceWorker' in navigator) || !window.isSecureContext) return
  const registration = await navigator.serviceWorker.register(new URL('./coi-sw.js', document.baseURI), { scope: './' })
  if (navigator.serviceWorker.controller) {
    // Controlled but still not isolated: the worker cannot help here; do not loop.
    sessionStorage.removeItem(RELOAD_FLAG)
    return
  }
  if (sessionStorage.getItem(RELOAD_FLAG)) return
  sessionStorage.setItem(RELOAD_FLAG, '1')
  await navigator.serviceWorker.ready
  if (registration.active) location.reload()
}

ensureIsolation().catch((e: unknown) => {
  console.warn('boxplay: could not install the cross-origin isolation service worker:', e)
})
