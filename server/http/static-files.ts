// The playground's built files (vite's output). Public: they hold no secrets, and a page
// opened without the token still works for the browser runtimes and says how to connect.

import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { sendFile } from './file-response.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
}

/**
 * Pages may load code only from this server (plus WebAssembly compilation for the runtimes),
 * talk only to it, and never be framed: a page that can start containers must not run
 * someone else's script or be clickjacked.
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ')

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>boxplay</title>
<h1>The playground is not built</h1>
<p>The server is running, but the web app was not found. Run <code>npm run setup</code> (or
<code>npx vite build</code>) in the boxplay package, then reload this page.</p>`

export async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string | undefined, pathname: string): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  let rel: string
  try {
    rel = decodeURIComponent(pathname)
  } catch {
    return false
  }
  if (rel.includes('\0')) return false
  if (rel.endsWith('/')) rel += 'index.html'
  if (!root) {
    if (rel !== '/index.html') return false
    res.setHeader('Content-Type', 'text/html; charset=utf-8')
    res.end(NOT_BUILT)
    return true
  }
  const path = normalize(join(root, rel))
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) return false
  const st = await stat(path).catch(() => undefined)
  if (!st?.isFile()) {
    if (rel === '/index.html') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8')
      res.end(NOT_BUILT)
      return true
    }
    return false
  }
  if (path.endsWith('.html')) res.setHeader('Content-Security-Policy', PAGE_POLICY)
  await sendFile(req, res, {
    path,
    size: st.size,
    contentType: TYPES[extname(path)] ?? 'application/octet-stream',
    // vite names built assets by content hash; everything else may change between builds
    immutable: rel.startsWith('/assets/'),
  })
  return true
}
