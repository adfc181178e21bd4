// The messages between the service worker's preview route (web/coi-sw.ts) and the page that
// runs the guests (web/ui/preview-bridge.ts), written once so the two cannot drift.
// URL shape: <scope>__preview/<run id>/<port>/<path>; the worker asks every window of the
// site, the one that runs <run id> makes the request into the guest and answers.

export const PREVIEW_SEGMENT = '__preview'

export interface PreviewRequest {
  type: 'boxplay-preview'
  runId: string
  port: number
  method: string
  /** Path and query inside the guest's server. */
  path: string
  headers: [string, string][]
  body?: ArrayBuffer
}

export type PreviewReply =
  | { handled: false }
  | { handled: true; status: number; statusText: string; headers: [string, string][]; body: ArrayBuffer }
  | { handled: true; error: string }

/** The URL a page opens to preview `port` of run `runId`, below `base` (the worker's scope). */
export function previewUrl(base: string | URL, runId: string, port: number, path = '/'): string {
  return new URL(`${PREVIEW_SEGMENT}/${encodeURIComponent(runId)}/${port}${path.startsWith('/') ? path : `/${path}`}`, base).href
}
