// Sends a file with HTTP caching and single byte-range support (the browser runtimes fetch
// large layers in parts). Content-addressed blobs are immutable, so caches may keep them forever.

import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'

export interface FileToSend {
  path: string
  size: number
  contentType: string
  etag?: string
  immutable?: boolean
}

/** Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined when absent or not satisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | undefined {
  if (!header) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid' // multi-range or garbage
  let start: number
  let end: number
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return 'invalid'
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  }
  if (start > end || start >= size) return 'invalid'
  return { start, end }
}

export async function sendFile(req: IncomingMessage, res: ServerResponse, file: FileToSend): Promise<void> {
  res.setHeader('Content-Type', file.contentType)
  res.setHeader('Accept-Ranges', 'bytes')
  res.setHeader('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
  if (file.etag) {
    res.setHeader('ETag', `"${file.etag}"`)
    const inm = req.headers['if-none-match']
    if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${file.etag}"`)) {
      res.statusCode = 304
      res.end()
      return
    }
  }
  const range = parseRange(req.headers.range, file.size)
  if (range === 'invalid') {
    res.statusCode = 416
    res.setHeader('Content-Range', `bytes */${file.size}`)
    res.end()
    return
  }
  const start = range?.start ?? 0
  const end = range?.end ?? file.size - 1
  res.statusCode = range ? 206 : 200
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${file.size}`)
  res.setHeader('Content-Length', String(Math.max(0, end - start + 1)))
  if (req.method === 'HEAD' || file.size === 0) {
    res.end()
    return
  }
  await pipeline(createReadStream(file.path, { start, end }), res)
}
