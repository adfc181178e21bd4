// A service worker that makes the page cross-origin isolated on static hosts that cannot set
// COOP/COEP headers (the browser runtimes need SharedArrayBuffer): it re-serves every response
// with those headers added. `boxplay serve` sends them itself; there the worker is installed
// as `coi-sw.js?mode=preview` for its other job only:
// the preview route: <scope>__preview/<run>/<port>/<path> is answered by the page that runs
// that guest (web/ui/preview-bridge.ts), which makes the request into the guest's port over
// its in-page LAN (web/net/). Protocol in web/preview-protocol.ts.

// Types only: a classic service worker cannot import, so nothing may become a shared chunk.
import type { PreviewReply, PreviewRequest } from './preview-protocol.js'

/** preview-protocol.ts's PREVIEW_SEGMENT (test/net-v86/lan.test.ts checks they agree). */
const PREVIEW_SEGMENT = '__preview'

interface FetchEventLike extends Event {
  request: Request
  respondWith(response: Promise<Response>): void
}
interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void
}
interface WindowClientLike {
  postMessage(message: unknown, transfer: Transferable[]): void
}
interface ServiceWorkerScope {
  addEventListener(type: 'install', listener: (e: ExtendableEventLike) => void): void
  addEventListener(type: 'activate', listener: (e: ExtendableEventLike) => void): void
  addEventListener(type: 'fetch', listener: (e: FetchEventLike) => void): void
  skipWaiting(): Promise<void>
  clients: { claim(): Promise<void>; matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowClientLike[]> }
  registration: { scope: string }
  location: Location
}

const scope = self as unknown as ServiceWorkerScope

scope.addEventListener('install', () => void scope.skipWaiting())
scope.addEventListener('activate', (e) => e.waitUntil(scope.clients.claim()))
/** How long to wait for the page that runs the guest; pages without previews never answer. */
const PREVIEW_TIMEOUT_MS = 20_000
const previewOnly = new URLSearchParams(scope.location.search).get('mode') === 'preview'

const isolation: [string, string][] = [
  ['Cross-Origin-Embedder-Policy', 'require-corp'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'cross-origin'],
]

function ask(client: WindowClientLike, message: PreviewRequest): Promise<PreviewReply> {
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = (e: MessageEvent<PreviewReply>) => resolve(e.data)
    client.postMessage(message, [channel.port2])
  })
}

async function preview(request: Request, runId: string, port: number, path: string): Promise<Response> {
  const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer()
  const message: PreviewRequest = { type: 'boxplay-preview', runId, port, method: request.method, path, headers: [...request.headers], ...(body ? { body } : {}) }
  const clients = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true })
  const reply = await new Promise<PreviewReply | undefined>((resolve) => {
    let pending = clients.length
    const timer = setTimeout(() => resolve(undefined), PREVIEW_TIMEOUT_MS)
    if (pending === 0) resolve(undefined)
    for (const c of clients) {
      void ask(c, message).then((r) => {
        if (r.handled) {
          clearTimeout(timer)
          resolve(r)
        } else if (--pending === 0) resolve(undefined)
      })
    }
  })
  const text = (status: number, words: string) => new Response(words, { status, headers: [['content-type', 'text/plain; charset=utf-8'], ...isolation] })
  if (!reply) return text(502, `No page of this site runs ${runId} any more: start the run again and reopen its preview.`)
  if (!reply.handled) return text(502, 'unreachable')
  if ('error' in reply) return text(502, reply.error)
  const headers = new Headers(reply.headers)
  for (const [k, v] of isolation) headers.set(k, v)
  // What a guest serves runs in an opaque origin, framed or in a tab of its own: it shares the
  // site's address, and must not reach the playground's pages, storage or server session.
  headers.set('Content-Security-Policy', 'sandbox allow-scripts allow-forms allow-popups')
  const nullBody = reply.status === 204 || reply.status === 304 || request.method === 'HEAD'
  return new Response(nullBody ? null : reply.body, { status: reply.status, statusText: reply.statusText, headers })
}

scope.addEventListener('fetch', (e) => {
  const request = e.request
  const url = new URL(request.url)
  const base = new URL(`${PREVIEW_SEGMENT}/`, scope.registration.scope)
  if (url.origin === base.origin && url.pathname.startsWith(base.pathname)) {
    const [runId = '', port = '', ...rest] = url.pathname.slice(base.pathname.length).split('/')
    e.respondWith(preview(request, decodeURIComponent(runId), Number(port), `/${rest.join('/')}${url.search}`))
    return
  }
  if (previewOnly) return
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
