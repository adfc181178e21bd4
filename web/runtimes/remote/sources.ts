// Image content over HTTP for the browser runtimes, two ways:
// - ServerSource: a `boxplay serve` store through /api/manifests and /api/blobs;
// - LayoutSource: an OCI image layout published as static files (index.json,
//   blobs/sha256/HEX), which is how the static playground ships its bundled images.
// Both verify every blob against its digest, and report download progress.

import { verifyDigest } from '../../oci/digest.js'
import type { ContentSource } from '../../oci/image.js'
import { sniffManifestMediaType } from '../../oci/manifest.js'
import { familiarName } from '../../oci/reference.js'
import { HttpLayerIndexSource } from './layer-index-source.js'

export type Progress = (p: { what: string; loaded: number; total?: number }) => void

export interface HttpSourceOptions {
  /** Extra request headers, e.g. an Authorization bearer for a server on another origin. */
  headers?: Record<string, string>
  onProgress?: Progress
  fetch?: typeof fetch
}

async function fetchBytes(url: string, what: string, opts: HttpSourceOptions): Promise<{ bytes: Uint8Array; response: Response }> {
  const doFetch = opts.fetch ?? globalThis.fetch
  let response: Response
  try {
    response = await doFetch(url, { headers: opts.headers ?? {}, credentials: 'same-origin' })
  } catch (e) {
    throw new Error(`could not fetch ${what} from ${url}: ${(e as Error).message} (is the server still running?)`)
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`
    try {
      const body = (await response.json()) as { error?: string }
      if (body.error) detail = body.error
    } catch {
      // not a JSON error body: keep the status line
    }
    throw Object.assign(new Error(`could not fetch ${what}: ${detail}`), { status: response.status })
  }
  const total = Number(response.headers.get('content-length') ?? '') || undefined
  if (!response.body || !opts.onProgress) return { bytes: new Uint8Array(await response.arrayBuffer()), response }
  const parts: Uint8Array[] = []
  let loaded = 0
  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    parts.push(value)
    loaded += value.byteLength
    opts.onProgress(total === undefined ? { what, loaded } : { what, loaded, total })
  }
  const bytes = new Uint8Array(loaded)
  let at = 0
  for (const p of parts) {
    bytes.set(p, at)
    at += p.byteLength
  }
  return { bytes, response }
}

export class ServerSource implements ContentSource {
  /** The server publishes layer indexes, so v86 can fetch only the files a run reads. */
  readonly layerIndexes: HttpLayerIndexSource

  constructor(
    private baseUrl: string,
    private opts: HttpSourceOptions = {},
  ) {
    this.layerIndexes = new HttpLayerIndexSource(baseUrl, 'server', opts.headers ? { headers: opts.headers } : {})
  }

  async manifest(refOrDigest: string): Promise<{ mediaType: string; bytes: Uint8Array; digest: string }> {
    const { bytes, response } = await fetchBytes(`${this.baseUrl}/api/manifests/${encodeURIComponent(refOrDigest)}`, `the manifest of ${refOrDigest}`, this.opts)
    const digest = response.headers.get('docker-content-digest')
    if (!digest) throw new Error(`the server sent the manifest of ${refOrDigest} without its digest`)
    return { mediaType: sniffManifestMediaType(bytes, response.headers.get('content-type') ?? undefined), bytes, digest }
  }

  async blob(digest: string): Promise<Uint8Array> {
    const { bytes } = await fetchBytes(`${this.baseUrl}/api/blobs/${digest}`, `blob ${digest.slice(7, 19)}`, this.opts)
    await verifyDigest(bytes, digest)
    return bytes
  }
}

interface LayoutIndex {
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[]
}

const REF_NAME = 'org.opencontainers.image.ref.name'

export class LayoutSource implements ContentSource {
  private index: Promise<LayoutIndex> | undefined
  /** lazy/ and content/ beside the layout, when the site was built with them (else whole layers). */
  readonly layerIndexes: HttpLayerIndexSource

  constructor(
    private baseUrl: string,
    private opts: HttpSourceOptions = {},
  ) {
    this.layerIndexes = new HttpLayerIndexSource(baseUrl, 'layout', opts.headers ? { headers: opts.headers } : {})
  }

  private readIndex(): Promise<LayoutIndex> {
    const { onProgress: _quiet, ...opts } = this.opts
    this.index ??= fetchBytes(`${this.baseUrl}/index.json`, 'the bundled images index', opts).then(
      ({ bytes }) => JSON.parse(new TextDecoder().decode(bytes)) as LayoutIndex,
    )
    return this.index
  }

  /** Image names in the layout, as its index.json annotates them. */
  async names(): Promise<string[]> {
    return (await this.readIndex()).manifests.map((m) => m.annotations?.[REF_NAME]).filter((n): n is string => typeof n === 'string')
  }

  async manifest(refOrDigest: string): Promise<{ mediaType: string; bytes: Uint8Array; digest: string }> {
    if (refOrDigest.startsWith('sha256:')) {
      const bytes = await this.blob(refOrDigest)
      return { mediaType: sniffManifestMediaType(bytes), bytes, digest: refOrDigest }
    }
    const index = await this.readIndex()
    const wanted = new Set([refOrDigest, refOrDigest.includes(':') ? refOrDigest : `${refOrDigest}:latest`])
    try {
      wanted.add(familiarName(refOrDigest))
    } catch {
      // not a reference the parser knows: match it as given
    }
    const desc = index.manifests.find((m) => wanted.has(m.annotations?.[REF_NAME] ?? ''))
    if (!desc) {
      const names = (await this.names()).join(', ')
      throw Object.assign(new Error(`image ${refOrDigest} is not among the bundled images (${names})`), { status: 404 })
    }
    const bytes = await this.blob(desc.digest)
    return { mediaType: desc.mediaType, bytes, digest: desc.digest }
  }

  async blob(digest: string): Promise<Uint8Array> {
    const hex = digest.replace(/^sha256:/, '')
    const { bytes } = await fetchBytes(`${this.baseUrl}/blobs/sha256/${hex}`, `blob ${hex.slice(0, 12)}`, this.opts)
    await verifyDigest(bytes, digest)
    return bytes
  }
}
