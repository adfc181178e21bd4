// A service worker that makes the page cross-origin isolated on static hosts that cannot set
// COOP/COEP headers (the browser runtimes need SharedArrayBuffer): it re-serves every response
// with those headers added. `boxplay serve` sends them itself, so there it is never installed.

interface FetchEventLike extends Event {
  request: Request
  respondWith(response: Promise<Response>): void
}
interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void
}
interface ServiceWorkerScope {
  addEventListener(type: 'install', listener: (e: ExtendableEventLike) => void): void
  addEventListener(type: 'activate', listener: (e: ExtendableEventLike) => void): void
  addEventListener(type: 'fetch', listener: (e: FetchEventLike) => void): void
  skipWaiting(): Promise<void>
  clients: { claim(): Promise<void> }
}

const scope = self as unknown as ServiceWorkerScope

scope.addEventListener('install', () => void scope.skipWaiting())
scope.addEventListener('activate', (e) => e.waitUntil(scope.clients.claim()))
scope.addEventListener('fetch', (e) => {
  const request = e.request
  // Chrome throws on these when the request is not same-origin.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return
  e.respondWith(
    fetch(request).then((response) => {
      if (response.status === 0) return response // opaque: cannot be rewritten
      const headers = new Headers(response.headers)
      headers.set('Cross-Origin-Embedder-Policy', 'require-corp')
      headers.set('Cross-Origin-Opener-Policy', 'same-origin')
      headers.set('Cross-Origin-Resource-Policy', 'cross-origin')
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
    }),
  )
})

export {}
