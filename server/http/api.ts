// The JSON API under /api/ (the table of routes is in web/runtimes/remote/protocol.ts).

import { mkdtemp, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatPlatform, parsePlatform } from '../../web/oci/platform.js'
import { hasChanges } from '../../web/runtimes/remote/changes.js'
import type { PullEvent, RuntimeInfo } from '../../web/runtimes/remote/protocol.js'
import type { Runtime } from '../../web/runtimes/runtime.js'
import { readJson, saveBody } from './body.js'
import { HttpError, badRequest, messageOf, statusOf } from './errors.js'
import { createBuild } from './builds.js'
import { sendContentBatch } from './content-batch.js'
import { sendFile } from './file-response.js'
import type { ImageService } from './image-service.js'
import { parseRunRequest } from './run-request.js'
import type { RunRegistry } from './run-registry.js'

export interface ApiContext {
  images: ImageService
  runtimes: readonly Runtime[]
  runs: RunRegistry
  version: string
  allowOrigin: string | undefined
  maxBodyBytes: number
  maxUploadBytes: number
  /** Largest build context (POST /api/builds), read into memory. */
  maxContextBytes: number
}

const DIGEST = /^sha256:[a-f0-9]{64}$/

/** The platforms the UI may ask about; each runtime's supports() decides which it takes. */
const PLATFORMS = ['linux/386', 'linux/amd64', 'linux/arm64', 'linux/arm/v7', 'wasi/wasm'].map(parsePlatform)

const LABELS: Record<string, string> = { native: 'Native container', wasi: 'WASI', v86: 'Emulated VM' }

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('Content-Length', String(Buffer.byteLength(text)))
  res.end(text)
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw badRequest(`"${segment}" is not a valid URL-encoded name`)
  }
}

function methodNotAllowed(allowed: string): HttpError {
  return new HttpError(405, `method not allowed here: use ${allowed}`, { Allow: allowed })
}

export async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  const parts = url.pathname.split('/').slice(2) // ['', 'api', ...]
  const method = req.method ?? 'GET'
  const [head, second, third] = parts

  if (head === 'session' && parts.length === 1) {
    return sendJson(res, 200, { ok: true, version: ctx.version, allowOrigin: ctx.allowOrigin ?? null })
  }

  if (head === 'runtimes' && parts.length === 1) {
    if (method !== 'GET') throw methodNotAllowed('GET')
    const infos: RuntimeInfo[] = await Promise.all(
      ctx.runtimes.map(async (r) => {
        const a = await r.available().catch((e: unknown) => ({ ok: false as const, reason: messageOf(e) }))
        const info: RuntimeInfo = { kind: r.kind, label: LABELS[r.kind] ?? r.kind, ok: a.ok, platforms: PLATFORMS.filter((p) => r.supports(p)).map(formatPlatform) }
        if (!a.ok) info.reason = a.reason
        return info
      }),
    )
    return sendJson(res, 200, infos)
  }

  if (head === 'images') {
    if (parts.length === 1) {
      if (method !== 'GET') throw methodNotAllowed('GET')
      // ?brief: names only ({name}), without reading every image's manifests.
      if (url.searchParams.has('brief') && ctx.images.names) return sendJson(res, 200, (await ctx.images.names()).map((name) => ({ name })))
      return sendJson(res, 200, await ctx.images.list())
    }
    if (second === 'pull' && parts.length === 2) {
      if (method !== 'POST') throw methodNotAllowed('POST')
      return pull(req, res, ctx)
    }
    if (second === 'load' && parts.length === 2) {
      if (method !== 'POST') throw methodNotAllowed('POST')
      return load(req, res, ctx)
    }
    if (second !== undefined && parts.length === 2) {
      const name = decodeSegment(second)
      if (method === 'GET') return sendJson(res, 200, await ctx.images.inspect(name))
      if (method === 'DELETE') {
        await ctx.images.remove(name)
        return sendJson(res, 200, { removed: name })
      }
      throw methodNotAllowed('GET, DELETE')
    }
  }

  if (head === 'manifests' && second !== undefined && parts.length === 2) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET, HEAD')
    const m = await ctx.images.manifest(decodeSegment(second))
    res.setHeader('Content-Type', m.mediaType)
    res.setHeader('Docker-Content-Digest', m.digest)
    res.setHeader('Content-Length', String(m.bytes.byteLength))
    // A name can move to another manifest; a digest cannot.
    res.setHeader('Cache-Control', DIGEST.test(decodeSegment(second)) ? 'public, max-age=31536000, immutable' : 'no-cache')
    res.end(method === 'HEAD' ? undefined : m.bytes)
    return
  }

  if (head === 'blobs' && second !== undefined && parts.length === 2) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET, HEAD')
    const digest = decodeSegment(second)
    if (!DIGEST.test(digest)) throw badRequest(`"${digest}" is not a blob digest: expected sha256: and 64 hex digits`)
    const file = await ctx.images.blobFile(digest)
    if (!file) throw new HttpError(404, `blob ${digest} is not in the store`)
    return sendFile(req, res, { ...file, contentType: 'application/octet-stream', etag: digest, immutable: true })
  }

  if (head === 'layers' && second !== undefined && third === 'index' && parts.length === 3) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET, HEAD')
    const digest = decodeSegment(second)
    if (!DIGEST.test(digest)) throw badRequest(`"${digest}" is not a layer digest: expected sha256: and 64 hex digits`)
    const file = await ctx.images.layerIndex?.(digest)
    if (!file) throw new HttpError(404, `no index for layer ${digest}: the store lacks the blob or this server makes no indexes`)
    return sendFile(req, res, { ...file, contentType: 'application/json', etag: `index-${digest}`, immutable: true })
  }

  if (head === 'content' && second !== undefined && parts.length === 2) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET, HEAD')
    const digest = decodeSegment(second)
    if (!DIGEST.test(digest)) throw badRequest(`"${digest}" is not a content digest: expected sha256: and 64 hex digits`)
    const file = await ctx.images.content?.(digest.slice('sha256:'.length))
    if (!file) throw new HttpError(404, `no file content ${digest}: fetch its layer's index first (GET /api/layers/LAYER/index)`)
    // Gzipped as published; the client gunzips (no Content-Encoding: the bytes are the resource).
    return sendFile(req, res, { ...file, contentType: 'application/gzip', etag: `gz-${digest}`, immutable: true })
  }

  if (head === 'builds' && parts.length === 1) {
    if (method !== 'POST') throw methodNotAllowed('POST')
    return createBuild(req, res, url, ctx)
  }

  if (head === 'contents' && parts.length === 1) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET, HEAD')
    return sendContentBatch(req, res, url, ctx)
  }

  if (head === 'runs') {
    if (parts.length === 1) {
      if (method === 'GET') return sendJson(res, 200, ctx.runs.list())
      if (method === 'POST') {
        const request = parseRunRequest(await readJson(req, ctx.maxBodyBytes))
        const served = await ctx.runs.create(request)
        res.setHeader('Location', `/api/runs/${encodeURIComponent(served.id)}`)
        return sendJson(res, 201, served.info())
      }
      throw methodNotAllowed('GET, POST')
    }
    const id = decodeSegment(second!)
    if (parts.length === 2) {
      if (method === 'GET') return sendJson(res, 200, ctx.runs.get(id).info())
      if (method === 'DELETE') {
        ctx.runs.remove(id)
        return sendJson(res, 200, { removed: id })
      }
      throw methodNotAllowed('GET, DELETE')
    }
    if (third === 'kill' && parts.length === 3) {
      if (method !== 'POST') throw methodNotAllowed('POST')
      const body = req.headers['content-length'] === '0' || !req.headers['content-type'] ? {} : await readJson(req, ctx.maxBodyBytes)
      const signal = (body as { signal?: unknown }).signal
      if (signal !== undefined && (typeof signal !== 'string' || !/^(SIG)?[A-Z0-9]{2,10}$/.test(signal))) {
        throw badRequest('"signal" must be a signal name such as SIGTERM or SIGKILL')
      }
      const served = ctx.runs.get(id)
      if (!served.status) served.run.kill(signal ?? 'SIGKILL')
      return sendJson(res, 200, served.info())
    }
    if (third === 'files' && parts.length === 3) {
      if (method !== 'GET') throw methodNotAllowed('GET')
      const served = ctx.runs.get(id)
      if (!hasChanges(served.run)) throw new HttpError(404, `run ${id} (${served.runtime}) does not keep its files`)
      if (!served.status) throw new HttpError(409, `run ${id} is still running: its files can be read once it exits`)
      const changes = await served.run.changes().catch((e: unknown) => {
        throw new HttpError(410, `the files of run ${id} are gone: ${messageOf(e)}`)
      })
      return sendJson(res, 200, changes)
    }
    if (third === 'attach' && parts.length === 3) {
      throw new HttpError(426, 'attach is a WebSocket: connect with ws:// (Upgrade: websocket)', { Upgrade: 'websocket' })
    }
  }

  if (head === 'containers') {
    // The CLI's containers (server/containers/http.ts), under the same guards as every route.
    const { handleContainers, ContainerHttpError } = await import('../containers/http.js')
    const body = async () => (req.headers['content-length'] === '0' || !req.headers['content-type'] ? {} : readJson(req, ctx.maxBodyBytes))
    return handleContainers({ method, rest: parts.slice(1).map(decodeSegment), query: url.searchParams, body }, (status, value) => sendJson(res, status, value)).catch((e: unknown) => {
      throw e instanceof ContainerHttpError ? new HttpError(e.status, e.message) : e
    })
  }

  throw new HttpError(404, `no API endpoint ${method} ${url.pathname}`)
}

/** Streams NDJSON progress lines, then one `done` or `error` line. */
async function pull(req: IncomingMessage, res: ServerResponse, ctx: ApiContext): Promise<void> {
  const body = (await readJson(req, ctx.maxBodyBytes)) as Record<string, unknown> | null
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('send {"ref": "registry/name:tag"}')
  const { ref, platform, insecure } = body
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 1024) throw badRequest('"ref" must name an image, e.g. 127.0.0.1:5000/busybox:latest')
  if (platform !== undefined && typeof platform !== 'string') throw badRequest('"platform" must be a string such as linux/386')
  if (insecure !== undefined && typeof insecure !== 'boolean') throw badRequest('"insecure" must be true or false')
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/x-ndjson')
  res.setHeader('Cache-Control', 'no-store')
  const line = (e: PullEvent): void => {
    if (!res.writableEnded) res.write(JSON.stringify(e) + '\n')
  }
  try {
    const image = await ctx.images.pull(ref, {
      ...(platform !== undefined ? { platform } : {}),
      ...(insecure !== undefined ? { insecure } : {}),
      onProgress: (message, current, total) => line({ type: 'progress', message, ...(current !== undefined ? { current } : {}), ...(total !== undefined ? { total } : {}) }),
    })
    line({ type: 'done', image })
  } catch (e) {
    line({ type: 'error', error: messageOf(e) })
  }
  res.end()
}

async function load(req: IncomingMessage, res: ServerResponse, ctx: ApiContext): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'boxplay-upload-'))
  try {
    const file = join(dir, 'archive.tar')
    await saveBody(req, file, ctx.maxUploadBytes)
    const images = await ctx.images.load(file).catch((e: unknown) => {
      // Whatever the store says about a bad archive is the user's input problem.
      throw new HttpError(statusOf(e) === 500 ? 400 : statusOf(e), `could not load the archive: ${messageOf(e)}`)
    })
    sendJson(res, 200, { images })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
