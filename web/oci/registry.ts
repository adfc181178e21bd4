// An OCI distribution (registry v2) client over fetch: pulls manifests and blobs, speaks
// Bearer-token and Basic auth, retries what is worth retrying, and says clearly what went
// wrong otherwise. Isomorphic: no Node APIs. Uploads (push) live in registry-push.ts and go
// through `request()` here, so both directions share one auth, token cache and retry loop.

import { DigestMismatch, digestOf, isDigest, parseDigest, verifyDigest } from './digest.js'
import type { ContentSource } from './image.js'
import { MANIFEST_ACCEPT } from './media-types.js'
import { sniffManifestMediaType } from './manifest.js'
import { DEFAULT_REGISTRY, type ImageReference, parseReference } from './reference.js'
import { concatBytes } from './bytes.js'

export interface Credentials {
  username: string
  password: string
}

export interface BlobProgress {
  digest: string
  received: number
  total: number | undefined
}

export interface RegistryClientOptions {
  /** host[:port] as in image references; `docker.io` is served by registry-1.docker.io. */
  registry: string
  /** Plain http instead of https (a local test registry). */
  insecure?: boolean
  /** Looked up when the registry asks for authentication; keyed by the registry name. */
  credentials?: (registryHost: string) => Credentials | undefined | Promise<Credentials | undefined>
  /** Attempts for network errors, 5xx and 429 (default 4), with exponential backoff. */
  attempts?: number
  /** First backoff delay in ms (default 250), doubled each retry. */
  backoffMs?: number
  /** Give up waiting for response headers after this long (default 30 s). */
  timeoutMs?: number
  /** Give up on a body that delivers nothing for this long (default 60 s). */
  idleTimeoutMs?: number
  onProgress?: (progress: BlobProgress) => void
  /** Defaults to globalThis.fetch. */
  fetch?: typeof globalThis.fetch
}

export type RegistryErrorCode = 'NOT_FOUND' | 'UNAUTHORIZED' | 'DENIED' | 'TOO_MANY_REQUESTS' | 'UNAVAILABLE' | 'NETWORK' | 'PROTOCOL'

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly code: RegistryErrorCode,
    readonly status?: number,
  ) {
    super(message)
    this.name = 'RegistryError'
  }
}

/** Manifests bigger than this are refused (the OCI spec suggests registries cap at 4 MiB). */
const MAX_MANIFEST_BYTES = 4 << 20

interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** Parses `Bearer realm="…",service="…",scope="…"` (and several challenges in one header). */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = []
  const re = /\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)|\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/y
  let pos = 0
  let current: Challenge | undefined
  while (pos < header.length) {
    re.lastIndex = pos
    const m = re.exec(header)
    if (!m || re.lastIndex === pos) break
    pos = re.lastIndex
    if (m[1] !== undefined) {
      current = { scheme: m[1].toLowerCase(), params: {} }
      challenges.push(current)
    } else if (current && m[2] !== undefined) {
      current.params[m[2].toLowerCase()] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '')
    }
  }
  return challenges
}

function basicAuth(c: Credentials): string {
  const bytes = new TextEncoder().encode(`${c.username}:${c.password}`)
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return `Basic ${btoa(bin)}`
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** reader.read(), but a stall longer than `idleMs` cancels the body and fails clearly. */
async function readWithIdleTimeout(reader: ReadableStreamDefaultReader<Uint8Array>, idleMs: number, what: string, received: number): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject first: cancelling settles the pending read (as done), which must not win the race.
      reject(new RegistryError(`${what}: download stalled (nothing for ${idleMs} ms after ${received} bytes); try again`, 'NETWORK'))
      reader.cancel().catch(() => {})
    }, idleMs)
  })
  try {
    return await Promise.race([reader.read(), stalled])
  } catch (e) {
    if (e instanceof RegistryError) throw e
    throw new RegistryError(`${what}: download failed after ${received} bytes (${(e as Error).message}); try again`, 'NETWORK')
  } finally {
    clearTimeout(timer)
  }
}

async function readCapped(res: Response, max: number, what: string, idleMs: number): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length') ?? NaN)
  if (length > max) {
    await res.body?.cancel().catch(() => {})
    throw new RegistryError(`${what} is ${length} bytes, over the ${max}-byte limit`, 'PROTOCOL')
  }
  if (!res.body) return new Uint8Array(0)
  const reader = res.body.getReader()
  const parts: Uint8Array[] = []
  let total = 0
  for (;;) {
    const next = await readWithIdleTimeout(reader, idleMs, what, total)
    if (next.done) break
    total += next.value.byteLength
    if (total > max) {
      await reader.cancel().catch(() => {})
      throw new RegistryError(`${what} is over the ${max}-byte limit`, 'PROTOCOL')
    }
    parts.push(next.value)
  }
  return concatBytes(parts, total)
}

/** What one request may carry (`request()`); the body is sent again as is on a retry. */
export interface RegistryRequest {
  headers?: Record<string, string>
  body?: Uint8Array
  /**
   * Token scope(s) the request needs, space-separated (`repository:NAME:pull,push`);
   * undefined: the API root. Tokens are cached by this string.
   */
  scope?: string
}

export class RegistryClient {
  readonly registry: string
  /** `http(s)://HOST/v2/`: the base that repository paths and relative Locations resolve against. */
  readonly base: string
  private readonly opts: RegistryClientOptions
  private readonly fetchFn: typeof globalThis.fetch
  /** Bearer tokens by scope, with their expiry (ms since the epoch). */
  private readonly tokens = new Map<string, { token: string; expires: number }>()
  private basic: string | undefined

  constructor(opts: RegistryClientOptions) {
    this.opts = opts
    this.registry = opts.registry
    const host = opts.registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : opts.registry
    this.base = `${opts.insecure ? 'http' : 'https'}://${host}/v2/`
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis)
  }

  /** Checks the registry answers the v2 API (authentication errors count as alive). */
  async ping(): Promise<void> {
    const res = await this.request('GET', this.base, {}, 'the registry API')
    await res.body?.cancel()
  }

  async getManifest(repo: string, refOrDigest: string): Promise<{ mediaType: string; bytes: Uint8Array; digest: string }> {
    const what = `manifest ${this.registry}/${repo}${isDigest(refOrDigest) ? '@' : ':'}${refOrDigest}`
    const res = await this.request('GET', `${this.base}${repo}/manifests/${refOrDigest}`, { headers: { accept: MANIFEST_ACCEPT.join(', ') }, scope: pullScope(repo) }, what)
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES, what, this.idleMs())
    const digest = await digestOf(bytes)
    if (isDigest(refOrDigest) && digest !== refOrDigest) {
      throw new DigestMismatch(`registry sent a manifest for ${refOrDigest} whose digest is ${digest}: refusing it`, refOrDigest, digest)
    }
    const headerDigest = res.headers.get('docker-content-digest')
    if (headerDigest && isDigest(headerDigest) && headerDigest !== digest) {
      throw new DigestMismatch(`registry says ${what} is ${headerDigest} but its content hashes to ${digest}: refusing it`, headerDigest, digest)
    }
    const mediaType = sniffManifestMediaType(bytes, res.headers.get('content-type') ?? undefined)
    return { mediaType, bytes, digest }
  }

  /** Size of a blob, or undefined when the registry does not have it. */
  async headBlob(repo: string, digest: string, scope: string = pullScope(repo)): Promise<{ size: number } | undefined> {
    parseDigest(digest)
    try {
      const res = await this.request('HEAD', `${this.base}${repo}/blobs/${digest}`, { scope }, `blob ${digest}`)
      await res.body?.cancel()
      return { size: Number(res.headers.get('content-length') ?? 0) }
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'NOT_FOUND') return undefined
      throw e
    }
  }

  /**
   * A blob as a stream of chunks, following redirects (registries often send blobs from a
   * CDN). The stream is NOT verified (WebCrypto cannot hash incrementally): hash it as you
   * consume it, or use getBlobBytes. Ends with an error if fewer bytes arrive than announced.
   */
  async getBlob(repo: string, digest: string, expectedSize?: number): Promise<{ size: number | undefined; stream: AsyncIterable<Uint8Array> }> {
    parseDigest(digest)
    const what = `blob ${digest} of ${this.registry}/${repo}`
    const res = await this.request('GET', `${this.base}${repo}/blobs/${digest}`, { scope: pullScope(repo) }, what)
    const header = res.headers.get('content-length')
    const size = header !== null ? Number(header) : expectedSize
    if (expectedSize !== undefined && header !== null && Number(header) !== expectedSize) {
      await res.body?.cancel()
      throw new RegistryError(`${what} is ${header} bytes but the manifest says ${expectedSize}: refusing it`, 'PROTOCOL')
    }
    const body = res.body
    if (!body) throw new RegistryError(`${what}: the registry sent no body`, 'PROTOCOL')
    const onProgress = this.opts.onProgress
    const idleMs = this.idleMs()
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const reader = body!.getReader()
      let received = 0
      let done = false
      try {
        for (;;) {
          const next = await readWithIdleTimeout(reader, idleMs, what, received)
          if (next.done) break
          received += next.value.byteLength
          if (size !== undefined && received > size) throw new RegistryError(`${what}: more bytes arrived than announced (${size})`, 'PROTOCOL')
          onProgress?.({ digest, received, total: size })
          yield next.value
        }
        done = true
        if (size !== undefined && received !== size) {
          throw new RegistryError(`${what}: download ended after ${received} of ${size} bytes; try again`, 'NETWORK')
        }
      } finally {
        if (!done) await reader.cancel().catch(() => {})
        reader.releaseLock()
      }
    }
    return { size, stream: chunks() }
  }

  /** A whole blob in memory, verified against its digest. */
  async getBlobBytes(repo: string, digest: string, expectedSize?: number): Promise<Uint8Array> {
    const { size, stream } = await this.getBlob(repo, digest, expectedSize)
    const parts: Uint8Array[] = []
    let total = 0
    for await (const chunk of stream) {
      parts.push(chunk)
      total += chunk.byteLength
    }
    let bytes: Uint8Array
    if (parts.length === 1) bytes = parts[0]!
    else {
      bytes = new Uint8Array(size ?? total)
      let at = 0
      for (const p of parts) {
        bytes.set(p, at)
        at += p.byteLength
      }
    }
    await verifyDigest(bytes, digest, expectedSize)
    return bytes
  }

  /**
   * This registry as a ContentSource for resolveImage. `manifest()` takes a digest or a
   * reference (`name:tag` on this registry); blobs come from `repository` (the repository
   * of the reference the image was resolved by).
   */
  source(image: ImageReference | string): ContentSource {
    const ref = typeof image === 'string' ? parseReference(image) : image
    if (ref.registry !== this.registry) {
      throw new RegistryError(`image ${ref.toString()} is not on registry ${this.registry}`, 'PROTOCOL')
    }
    return {
      manifest: (refOrDigest) => {
        if (isDigest(refOrDigest)) return this.getManifest(ref.repository, refOrDigest)
        const r = parseReference(refOrDigest)
        if (r.registry !== this.registry) throw new RegistryError(`image ${r.toString()} is not on registry ${this.registry}`, 'PROTOCOL')
        return this.getManifest(r.repository, r.reference)
      },
      blob: (digest) => this.getBlobBytes(ref.repository, digest),
    }
  }

  // -------------------------------------------------------------------------------------

  private async credentials(): Promise<Credentials | undefined> {
    return await this.opts.credentials?.(this.registry)
  }

  private authHeader(scope: string): string | undefined {
    const token = this.tokens.get(scope)
    if (token && token.expires > Date.now()) return `Bearer ${token.token}`
    return this.basic
  }

  /**
   * One request with auth, retries and status mapping; resolves with a 2xx response. The
   * building block of every call here and of the uploads in registry-push.ts.
   */
  async request(method: string, url: string, req: RegistryRequest, what: string): Promise<Response> {
    let authenticated = false
    let hadCredentials = false
    const scope = req.scope ?? ''
    for (let attempt = 1; ; attempt++) {
      const h: Record<string, string> = { ...(req.headers ?? {}) }
      const auth = this.authHeader(scope)
      if (auth) h.authorization = auth
      let res: Response
      try {
        res = await this.fetchWithTimeout(url, { method, headers: h, redirect: 'follow', ...(req.body ? { body: req.body as Uint8Array<ArrayBuffer> } : {}) })
      } catch (e) {
        if (attempt < this.attempts()) {
          await sleep(this.backoff(attempt))
          continue
        }
        throw new RegistryError(
          `cannot reach registry ${this.registry} for ${what}: ${describeFetchError(e)}` +
            (this.opts.insecure ? '' : ' (a plain-http registry needs the insecure option)'),
          'NETWORK',
        )
      }
      if (res.ok) return res
      const detail = res.status === 401 ? '' : await errorDetail(res)
      if (res.status === 401) await res.body?.cancel().catch(() => {})
      if (res.status === 401 && !authenticated) {
        authenticated = true
        hadCredentials = await this.authenticate(res.headers.get('www-authenticate'), scope, what)
        attempt-- // an auth round is not a retry
        continue
      }
      if ((res.status === 429 || res.status >= 500) && attempt < this.attempts()) {
        const retryAfter = Number(res.headers.get('retry-after'))
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 10_000) : this.backoff(attempt))
        continue
      }
      throw this.statusError(res, what, hadCredentials, detail)
    }
  }

  private idleMs(): number {
    return this.opts.idleTimeoutMs ?? 60_000
  }

  private attempts(): number {
    return Math.max(1, this.opts.attempts ?? 4)
  }

  private backoff(attempt: number): number {
    return (this.opts.backoffMs ?? 250) * 2 ** (attempt - 1)
  }

  private async fetchWithTimeout(url: string, init: RequestInit): Promise<Response> {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new Error(`no response within ${this.opts.timeoutMs ?? 30_000} ms`)), this.opts.timeoutMs ?? 30_000)
    try {
      return await this.fetchFn(url, { ...init, signal: controller.signal })
    } finally {
      clearTimeout(timer) // headers arrived: the body may take as long as it needs
    }
  }

  /** Gets a token (or sets Basic auth) as the challenge asks; says whether credentials were used. */
  private async authenticate(header: string | null, scope: string, what: string): Promise<boolean> {
    const challenges = parseWwwAuthenticate(header ?? '')
    const creds = await this.credentials()
    const bearer = challenges.find((c) => c.scheme === 'bearer')
    if (bearer) {
      const realm = bearer.params.realm
      if (!realm) throw new RegistryError(`registry ${this.registry} asked for a token without saying where to get one`, 'PROTOCOL')
      const url = new URL(realm)
      if (bearer.params.service) url.searchParams.set('service', bearer.params.service)
      // What the registry asks for and what we will need next (a push after a HEAD), one
      // `scope=` parameter each, as Docker sends them: token servers split on parameters.
      const scopes = new Set([...(bearer.params.scope ?? '').split(/\s+/), ...scope.split(/\s+/)].filter(Boolean))
      for (const s of scopes) url.searchParams.append('scope', s)
      const h: Record<string, string> = {}
      if (creds) h.authorization = basicAuth(creds)
      let res: Response
      try {
        res = await this.fetchWithTimeout(url.toString(), { method: 'GET', headers: h })
      } catch (e) {
        throw new RegistryError(`cannot reach the token service ${url.origin} of ${this.registry}: ${describeFetchError(e)}`, 'NETWORK')
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {})
        throw new RegistryError(
          res.status === 401 || res.status === 403
            ? `registry ${this.registry} refused ${creds ? 'the given credentials' : 'anonymous access'} for ${what}` +
                (creds ? ': check the username and password' : ': log in with --creds USER:PASSWORD')
            : `token service of ${this.registry} answered HTTP ${res.status} for ${what}`,
          res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'DENIED' : 'PROTOCOL',
          res.status,
        )
      }
      const body = (await res.json()) as { token?: unknown; access_token?: unknown; expires_in?: unknown }
      const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined
      if (!token) throw new RegistryError(`token service of ${this.registry} sent no token`, 'PROTOCOL')
      const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60
      this.tokens.set(scope, { token, expires: Date.now() + expiresIn * 1000 - 5_000 })
      return creds !== undefined
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!creds) {
        throw new RegistryError(`registry ${this.registry} needs a login for ${what}: pass --creds USER:PASSWORD`, 'UNAUTHORIZED', 401)
      }
      this.basic = basicAuth(creds)
      return true
    }
    throw new RegistryError(`registry ${this.registry} refused ${what} (HTTP 401) without a usable authentication challenge`, 'UNAUTHORIZED', 401)
  }

  private statusError(res: Response, what: string, hadCredentials: boolean, detail: string): RegistryError {
    switch (res.status) {
      case 401:
        return new RegistryError(
          hadCredentials
            ? `registry ${this.registry} rejected the credentials for ${what}: check the username and password given with --creds`
            : `registry ${this.registry} needs a login for ${what}: pass --creds USER:PASSWORD`,
          'UNAUTHORIZED',
          401,
        )
      case 403:
        return new RegistryError(`registry ${this.registry} denies access to ${what}: check the name, or pass --creds with access`, 'DENIED', 403)
      case 404:
        return new RegistryError(
          what.startsWith('manifest')
            ? `${what.replace(/^manifest /, '')} was not found: check the image name and tag exist on ${this.registry}`
            : `${what} was not found on the registry`,
          'NOT_FOUND',
          404,
        )
      case 429:
        return new RegistryError(`registry ${this.registry} is rate-limiting us (HTTP 429) for ${what}: wait and try again, or log in with --creds`, 'TOO_MANY_REQUESTS', 429)
      default:
        return new RegistryError(
          `registry ${this.registry} answered HTTP ${res.status} for ${what}` + (detail ? ` (${detail})` : '') + (res.status >= 500 ? ' (it is failing; try again later)' : ''),
          res.status >= 500 ? 'UNAVAILABLE' : 'PROTOCOL',
          res.status,
        )
    }
  }
}

/** `repository:NAME:pull`, the scope of every read. */
export function pullScope(repo: string): string {
  return `repository:${repo}:pull`
}

/** The registry's own words from an error body (`{"errors":[{"code","message"}]}`), briefly. */
async function errorDetail(res: Response): Promise<string> {
  let text: string
  try {
    text = new TextDecoder().decode(await readCapped(res, 16 << 10, 'error body', 5_000))
  } catch {
    return ''
  }
  try {
    const doc = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }
    const parts = (doc.errors ?? []).map((e) => [e.code, e.message].filter((x) => typeof x === 'string').join(': ')).filter(Boolean)
    if (parts.length > 0) return parts.join('; ').slice(0, 300)
  } catch {
    // not JSON: fall through
  }
  return text.trim().slice(0, 200)
}

function describeFetchError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message
  }
  return String(e)
}
