// The upload side of the distribution API (registry v2), over registry.ts's RegistryClient:
// the same auth, token cache and retries as pulls, with push scopes. Isomorphic: blob
// contents come from a caller-supplied stream, so the browser can push from IndexedDB and
// the CLI from the store's files.
//
// Blob uploads as the distribution spec describes them:
//   - HEAD /v2/R/blobs/D first: a blob the repository has is never sent again;
//   - cross-repo mount, POST /v2/R/blobs/uploads/?mount=D&from=OTHER: 201 = mounted without
//     sending a byte; 202 = the registry declined and opened an ordinary upload instead;
//   - monolithic, POST then one PUT LOCATION?digest=D with the whole blob, below the chunk
//     threshold (one round trip fewer, and the blob is small enough to hold in memory);
//   - chunked above it: PATCH LOCATION with `Content-Range: START-END` per chunk, following
//     each answer's new Location, then an empty PUT LOCATION?digest=D.
// Locations may be absolute or relative to the registry (distribution's `relativeurls`).

import type { Descriptor } from './manifest.js'
import { RegistryError, type RegistryClient } from './registry.js'

export interface BlobUploadProgress {
  digest: string
  sent: number
  total: number
}

export interface RegistryPusherOptions {
  /** Blobs at least this big go up in chunks (default 16 MiB). */
  chunkThreshold?: number
  /** PATCH size of a chunked upload (default 8 MiB). */
  chunkSize?: number
  onProgress?: (progress: BlobUploadProgress) => void
}

/** Where a blob's bytes come from; called once per upload attempt. */
export type BlobContent = () => AsyncIterable<Uint8Array>

export type MountOutcome = { mounted: true } | { mounted: false; session: string }

export class RegistryPusher {
  private readonly scope: string

  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
    private readonly opts: RegistryPusherOptions = {},
  ) {
    this.scope = `repository:${repository}:pull,push`
  }

  /** Whether the repository already has the blob (HEAD). */
  async hasBlob(digest: string): Promise<boolean> {
    return (await this.client.headBlob(this.repository, digest, this.scope)) !== undefined
  }

  /**
   * Asks the registry to link a blob it holds in `from` into this repository. When it
   * declines (it lacks the blob there, or we may not read `from`), the upload session it
   * opened instead is returned for uploadBlob.
   */
  async mountBlob(digest: string, from: string): Promise<MountOutcome> {
    const url = `${this.uploadsUrl()}?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`
    const res = await this.client.request('POST', url, { scope: `${this.scope} repository:${from}:pull` }, `mount of blob ${digest} from ${from}`)
    await res.body?.cancel().catch(() => {})
    if (res.status === 201) return { mounted: true }
    return { mounted: false, session: this.location(res, `mount of blob ${digest}`) }
  }

  /** Uploads one blob, monolithic or chunked by size; `session` reuses a declined mount's upload. */
  async uploadBlob(d: Descriptor, content: BlobContent, session?: string): Promise<void> {
    const what = `upload of blob ${d.digest} to ${this.client.registry}/${this.repository}`
    let location = session ?? (await this.startUpload(what))
    const threshold = this.opts.chunkThreshold ?? 16 << 20
    if (d.size < threshold) {
      const bytes = await collect(content(), d.size, what)
      const res = await this.client.request(
        'PUT',
        withDigest(location, d.digest),
        { scope: this.scope, headers: { 'content-type': 'application/octet-stream' }, body: bytes },
        what,
      )
      await res.body?.cancel().catch(() => {})
      this.opts.onProgress?.({ digest: d.digest, sent: d.size, total: d.size })
      this.checkDigest(res, d.digest, what)
      return
    }
    const chunkSize = Math.max(1, this.opts.chunkSize ?? 8 << 20)
    let sent = 0
    for await (const chunk of rechunk(content(), chunkSize)) {
      const end = sent + chunk.byteLength - 1
      const res = await this.client.request(
        'PATCH',
        location,
        { scope: this.scope, headers: { 'content-type': 'application/octet-stream', 'content-range': `${sent}-${end}` }, body: chunk },
        `${what} (bytes ${sent}-${end})`,
      )
      await res.body?.cancel().catch(() => {})
      const range = res.headers.get('range')
      if (range && !new RegExp(`^(?:bytes=)?0-${end}$`).test(range)) {
        throw new RegistryError(`${what}: the registry holds bytes ${range} after a chunk ending at ${end}; try again`, 'PROTOCOL')
      }
      location = this.location(res, what)
      sent += chunk.byteLength
      this.opts.onProgress?.({ digest: d.digest, sent, total: d.size })
    }
    if (sent !== d.size) throw new RegistryError(`${what}: the blob has ${sent} bytes, not the ${d.size} its descriptor says`, 'PROTOCOL')
    const res = await this.client.request('PUT', withDigest(location, d.digest), { scope: this.scope }, what)
    await res.body?.cancel().catch(() => {})
    this.checkDigest(res, d.digest, what)
  }

  /** PUT /v2/R/manifests/REF; returns the digest the registry computed. */
  async putManifest(reference: string, mediaType: string, bytes: Uint8Array, expectedDigest: string): Promise<string> {
    const what = `manifest ${this.client.registry}/${this.repository}:${reference}`
    const res = await this.client.request(
      'PUT',
      `${this.client.base}${this.repository}/manifests/${reference}`,
      { scope: this.scope, headers: { 'content-type': mediaType }, body: bytes },
      what,
    )
    await res.body?.cancel().catch(() => {})
    this.checkDigest(res, expectedDigest, what)
    return res.headers.get('docker-content-digest') ?? expectedDigest
  }

  // -------------------------------------------------------------------------------------

  private uploadsUrl(): string {
    return `${this.client.base}${this.repository}/blobs/uploads/`
  }

  private async startUpload(what: string): Promise<string> {
    const res = await this.client.request('POST', this.uploadsUrl(), { scope: this.scope }, what)
    await res.body?.cancel().catch(() => {})
    return this.location(res, what)
  }

  /** The Location of an upload answer, made absolute against the registry. */
  private location(res: Response, what: string): string {
    const loc = res.headers.get('location')
    if (!loc) throw new RegistryError(`${what}: the registry answered HTTP ${res.status} without a Location for the upload`, 'PROTOCOL', res.status)
    return new URL(loc, this.client.base).toString()
  }

  private checkDigest(res: Response, digest: string, what: string): void {
    const got = res.headers.get('docker-content-digest')
    if (got && got !== digest) throw new RegistryError(`${what}: the registry stored it as ${got}, not ${digest}`, 'PROTOCOL')
  }
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location)
  url.searchParams.set('digest', digest)
  return url.toString()
}

async function collect(source: AsyncIterable<Uint8Array>, size: number, what: string): Promise<Uint8Array> {
  const out = new Uint8Array(size)
  let at = 0
  for await (const chunk of source) {
    if (at + chunk.byteLength > size) throw new RegistryError(`${what}: the blob is bigger than the ${size} bytes its descriptor says`, 'PROTOCOL')
    out.set(chunk, at)
    at += chunk.byteLength
  }
  if (at !== size) throw new RegistryError(`${what}: the blob has ${at} bytes, not the ${size} its descriptor says`, 'PROTOCOL')
  return out
}

/** Re-cuts a stream into pieces of exactly `size` bytes (the last may be shorter). */
async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size)
  let fill = 0
  for await (const chunk of source) {
    let at = 0
    while (at < chunk.byteLength) {
      const n = Math.min(size - fill, chunk.byteLength - at)
      buf.set(chunk.subarray(at, at + n), fill)
      fill += n
      at += n
      if (fill === size) {
        yield buf
        buf = new Uint8Array(size)
        fill = 0
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill)
}
