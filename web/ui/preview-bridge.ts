// The page's half of the preview: the service worker (web/coi-sw.ts) turns a request for
// <scope>__preview/<run>/<port>/<path> into a message to every window of the site; the page
// that runs that guest answers it here, by making the HTTP request into the guest's port over
// the run's LAN (web/net/http.ts through the LAN's host stack). Also installs the worker on
// hosts that make the page cross-origin isolated themselves (`boxplay serve`), in its
// preview-only mode.

import type { Lan } from '../net/lan.js'
import { httpExchange } from '../net/http.js'
import type { PreviewReply, PreviewRequest } from '../preview-protocol.js'

export interface PreviewTarget {
  lan: Lan
  address: string
}

/** Answers the worker's preview requests for the runs `find` knows; returns a stop function. */
export function startPreviewBridge(find: (runId: string) => PreviewTarget | undefined): () => void {
  if (!('serviceWorker' in navigator)) return () => {}
  const onMessage = (e: MessageEvent<PreviewRequest>) => {
    const msg = e.data
    const port = e.ports[0]
    if (msg?.type !== 'boxplay-preview' || !port) return
    const target = find(msg.runId)
    if (!target) return port.postMessage({ handled: false } satisfies PreviewReply)
    void answer(target, msg).then((reply) => port.postMessage(reply, 'body' in reply ? [reply.body] : []))
  }
  navigator.serviceWorker.addEventListener('message', onMessage)
  navigator.serviceWorker.startMessages()
  return () => navigator.serviceWorker.removeEventListener('message', onMessage)
}

async function answer(target: PreviewTarget, msg: PreviewRequest): Promise<PreviewReply> {
  try {
    const conn = target.lan.host().connect(target.address, msg.port)
    const res = await httpExchange(conn, `${target.address}:${msg.port}`, {
      method: msg.method,
      path: msg.path,
      headers: msg.headers,
      ...(msg.body ? { body: new Uint8Array(msg.body) } : {}),
    })
    const body = res.body.buffer.slice(res.body.byteOffset, res.body.byteOffset + res.body.byteLength) as ArrayBuffer
    return { handled: true, status: res.status, statusText: res.statusText, headers: res.headers, body }
  } catch (err) {
    return { handled: true, error: `the guest at ${target.address}:${msg.port} did not answer: ${err instanceof Error ? err.message : String(err)}` }
  }
}

/**
 * Makes sure a service worker with the preview route controls this folder. Where the page is
 * made isolated by the worker (static hosts), that worker already has the route; elsewhere
 * it is installed in its preview-only mode, which leaves every other request alone.
 */
export async function ensurePreviewWorker(workerUrl: URL): Promise<boolean> {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return false
  if (!navigator.serviceWorker.controller) {
    const url = new URL(workerUrl)
    if (globalThis.crossOriginIsolated) url.searchParams.set('mode', 'preview')
    await navigator.serviceWorker.register(url, { scope: './' })
  }
  await navigator.serviceWorker.ready
  return true
}
