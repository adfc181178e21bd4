// `GET /api/contents?sha256=HEX,…`: several published file contents in one response, framed as
// web/oci/content-batch.ts says. Every member must be known (a 404 names the missing ones) and
// the whole stays under MAX_BATCH_BYTES (413), so a request cannot make the server read without
// bound. The files are streamed one after another from the publisher's directory.

import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { once } from 'node:events'
import { MAX_BATCH_BYTES, frameHeader, parseBatchQuery } from '../../web/oci/content-batch.js'
import type { ApiContext } from './api.js'
import { HttpError, badRequest } from './errors.js'

export async function sendContentBatch(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  const hexes = parseBatchQuery(url.searchParams.get('sha256'))
  if (!Array.isArray(hexes)) throw badRequest(hexes.error)
  const lookup = ctx.images.content
  if (!lookup) throw new HttpError(404, 'this server publishes no file contents (it makes no layer indexes)')
  const files = await Promise.all(hexes.map((hex) => lookup.call(ctx.images, hex)))
  const missing = hexes.filter((_, i) => !files[i])
  if (missing.length) {
    const named = missing.slice(0, 3).map((h) => `sha256:${h}`).join(', ')
    throw new HttpError(404, `no file content ${named}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}: fetch their layers' indexes first (GET /api/layers/LAYER/index)`)
  }
  const found = files as { path: string; size: number }[]
  const total = found.reduce((n, f) => n + 4 + f.size, 0)
  if (total > MAX_BATCH_BYTES) {
    throw new HttpError(413, `the batch would be ${total} bytes, over the ${MAX_BATCH_BYTES}-byte cap: ask for fewer contents at once`)
  }
  // The hashes name the bytes, so the response for this URL never changes.
  const etag = `batch-${createHash('sha256').update(hexes.join(',')).digest('hex').slice(0, 32)}`
  res.setHeader('Content-Type', 'application/vnd.boxplay.content-batch')
  res.setHeader('Cache-Control', 'public, max-age=31536000, immutable')
  res.setHeader('ETag', `"${etag}"`)
  const inm = req.headers['if-none-match']
  if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${etag}"`)) {
    res.statusCode = 304
    res.end()
    return
  }
  res.statusCode = 200
  res.setHeader('Content-Length', String(total))
  if (req.method === 'HEAD') return void res.end()
  for (const file of found) {
    if (!(await send(res, frameHeader(file.size)))) return
    if (file.size === 0) continue
    for await (const chunk of createReadStream(file.path, { start: 0, end: file.size - 1 })) {
      if (!(await send(res, chunk as Buffer))) return
    }
  }
  res.end()
}

/** Writes with backpressure; false once the client has gone (then the rest is not read). */
async function send(res: ServerResponse, chunk: Uint8Array): Promise<boolean> {
  if (res.destroyed) return false
  if (res.write(chunk)) return true
  const ac = new AbortController()
  try {
    await Promise.race([once(res, 'drain', { signal: ac.signal }), once(res, 'close', { signal: ac.signal })])
  } finally {
    ac.abort()
  }
  return !res.destroyed
}
