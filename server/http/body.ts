// Request bodies, capped: JSON bodies are small, uploads go to a temp file.

import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { HttpError, badRequest } from './errors.js'

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body is larger than the server's limit of ${limit} bytes`)
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw tooLarge(limit)
  const type = req.headers['content-type'] ?? ''
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, 'send the request body as JSON with Content-Type: application/json')
  }
  const parts: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > limit) {
      req.destroy()
      throw tooLarge(limit)
    }
    parts.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown
  } catch {
    throw badRequest('request body is not valid JSON')
  }
}

/** Streams the body into `path`, refusing (and removing the file) past `limit` bytes. */
export async function saveBody(req: IncomingMessage, path: string, limit: number): Promise<number> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw tooLarge(limit)
  const out = createWriteStream(path, { mode: 0o600 })
  let size = 0
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.byteLength
      if (size > limit) {
        req.destroy()
        throw tooLarge(limit)
      }
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
    }
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject)
      out.end(() => resolve())
    })
  } catch (e) {
    out.destroy()
    await rm(path, { force: true })
    throw e
  }
  if (size === 0) throw badRequest('the upload is empty: send a docker-save or OCI archive tar as the body')
  return size
}
