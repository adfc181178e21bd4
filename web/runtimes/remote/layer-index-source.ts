// Layer indexes and file contents over HTTP (web/oci/layer-index.ts), for the browser
// runtimes: from a `boxplay serve` (/api/layers/DIGEST/index, /api/content/sha256:HEX) or from
// a static OCI layout published with its lazy files beside it (lazy/HEX.json, content/HEX.gz).
// A layer without an index (404) is fetched whole; every content is verified by its hash.

import { type LayerIndex, type LayerIndexSource, parseLayerIndex, verifiedContent } from '../../oci/layer-index.js'
import type { LayerRef } from '../runtime.js'

export interface LayerIndexHttpOptions {
  /** Extra request headers, e.g. an Authorization bearer for a server on another origin. */
  headers?: Record<string, string>
  fetch?: typeof fetch
}

export class HttpLayerIndexSource implements LayerIndexSource {
  private readonly base: string

  /**
   * `kind` says how `baseUrl` lays out its files: a boxplay server, or a static OCI layout.
   * Like ServerSource, an empty base means this page's own origin.
   */
  constructor(
    baseUrl: string | URL,
    private readonly kind: 'server' | 'layout',
    private readonly opts: LayerIndexHttpOptions = {},
  ) {
    this.base = String(baseUrl).replace(/\/+$/, '')
  }

  private url(path: string): string {
    return `${this.base}/${path}`
  }

  private get(url: string): Promise<Response> {
    return (this.opts.fetch ?? globalThis.fetch)(url, { headers: this.opts.headers ?? {}, credentials: 'same-origin' })
  }

  async index(layer: LayerRef): Promise<LayerIndex | undefined> {
    const hex = layer.digest.replace(/^sha256:/, '')
    const url = this.url(this.kind === 'server' ? `api/layers/sha256:${hex}/index` : `lazy/${hex}.json`)
    let res: Response
    try {
      res = await this.get(url)
    } catch {
      return undefined // no index reachable: the caller fetches the whole layer instead
    }
    if (res.status === 404) return undefined
    if (!res.ok) throw new Error(`could not fetch the index of layer ${layer.digest} from ${url}: HTTP ${res.status}`)
    // A static host that answers unknown paths with its index.html has no index either.
    if (!/json/.test(res.headers.get('content-type') ?? '')) return undefined
    return parseLayerIndex(await res.json(), layer.digest)
  }

  content(sha256: string, size: number): Promise<Uint8Array> {
    const url = this.url(this.kind === 'server' ? `api/content/sha256:${sha256}` : `content/${sha256}.gz`)
    return verifiedContent(
      async () => {
        const res = await this.get(url)
        if (!res.ok) throw new Error(`could not fetch file content ${sha256.slice(0, 12)} from ${url}: HTTP ${res.status}`)
        return new Uint8Array(await res.arrayBuffer())
      },
      sha256,
      size,
    )
  }
}
