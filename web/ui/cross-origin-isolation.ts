// Makes a page cross-origin isolated (the browser runtimes need SharedArrayBuffer) on static
// hosts that cannot send COOP/COEP: installs coi-sw.js, which re-serves every response with
// those headers, and reloads once so the page itself comes through it. A service worker only
// controls pages in its own folder and below, so the worker must sit beside the page.

const RELOAD_FLAG = 'boxplay-coi-reload'

export async function ensureCrossOriginIsolation(workerUrl: URL): Promise<void> {
  if (globalThis.crossOriginIsolated || !('serviceWorker' in navigator) || !window.isSecureContext) return
  const registration = await navigator.serviceWorker.register(workerUrl, { scope: './' })
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
