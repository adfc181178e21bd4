// Headers on every response: cross-origin isolation (the browser runtimes need
// SharedArrayBuffer), no MIME sniffing, and CORS for exactly the --allow-origin origin.

import type { ServerResponse } from 'node:http'

export function securityHeaders(res: ServerResponse, allowOrigin: string | undefined): void {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp')
  // A lesson widget on the allowed origin embeds blobs from here; nobody else may.
  res.setHeader('Cross-Origin-Resource-Policy', allowOrigin ? 'cross-origin' : 'same-origin')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Referrer-Policy', 'no-referrer')
}

export function corsHeaders(res: ServerResponse, origin: string): void {
  res.setHeader('Access-Control-Allow-Origin', origin)
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, DELETE, OPTIONS')
  res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, range')
  res.setHeader('Access-Control-Expose-Headers', 'content-length, content-range, docker-content-digest, etag')
  res.setHeader('Access-Control-Max-Age', '600')
  res.setHeader('Vary', 'Origin')
}
