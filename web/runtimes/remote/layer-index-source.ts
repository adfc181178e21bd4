// Layer indexes and file contents over HTTP (web/oci/layer-index.ts), for the browser
// runtimes: from a `boxplay serve` (/api/layers/DIGEST/index, /api/content/sha256:HEX) or from
// a static OCI layout published with its lazy files beside it (lazy/HEX.json, content/HEX.gz).
// A layer without an index (404) is fetched whole; every content is verified by its hash.
// From a server, contents asked for together (a prefetch of what a command read last time)
// go in one batched request (/api/contents, web/oci/content-batch.ts); a lone read, as the
// guest blocks on one file, keeps its own URL, which every cache shares across images.

import { BATCH_SPLIT_BYTES, MAX_BATCH_CONTENTS, batchQuery, splitBatch } from '../../oci/content-batch.js'
import { type LayerIndex, type LayerIndexSource, parseLayerIndex, verifiedContent } from '../../oci/layer-index.js'
import type { LayerRef } from '../runtime.js'

export interface LayerIndexHttpOptions {
  /** Extra request headers, e.g. an Authorization bearer for a server on another origin. */
  headers?: Record<string, string>
  fetch?: typeof fetch
  /** Ask a server for contents requested together in batches (default true; a static layout never). */
  batch?: boolean
}

interface Wanted {
  sha256: string
  size: number
  resolve(bytes: Uint8Array): void
  reject(err: unknown): void
}

export class HttpLayerIndexSource implements LayerIndexSource {
  private readonly base: string
  /** Contents asked for in this turn of the event loop, sent together when it ends. */
  private queued: Wanted[] = []

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
    return verifiedContent(() => this.fetchContent(sha256, size), sha256, size)
  }

  /** The content's bytes as published (gzipped), alone or in a batch with others asked for now. */
  private fetchContent(sha256: string, size: number): Promise<Uint8Array> {
    if (this.kind !== 'server' || this.opts.batch === false) return this.single(sha256)
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) queueMicrotask(() => this.flush())
      this.queued.push({ sha256, size, resolve, reject })
    })
  }

  private async single(sha256: string): Promise<Uint8Array> {
    const url = this.url(this.kind === 'server' ? `api/content/sha256:${sha256}` : `content/${sha256}.gz`)
    const res = await this.get(url)
    if (!res.ok) throw new Error(`could not fetch file content ${sha256.slice(0, 12)} from ${url}: HTTP ${res.status}`)
    return new Uint8Array(await res.arrayBuffer())
  }

  /** Sends what was asked for together: one alone by its own URL, more in batches. */
  private flush(): void {
    const wanted = new Map<string, Wanted[]>()
    for (const w of this.queued.splice(0)) wanted.set(w.sha256, [...(wanted.get(w.sha256) ?? []), w])
    const groups: Wanted[][][] = []
    let group: Wanted[][] = []
    let bytes = 0
    for (const same of wanted.values()) {
      const size = same[0]!.size
      if (group.length > 0 && (group.length >= MAX_BATCH_CONTENTS || bytes + size > BATCH_SPLIT_BYTES)) {
        groups.push(group)
        group = []
        bytes = 0
      }
      group.push(same)
      bytes += size
    }
    if (group.length) groups.push(group)
    for (const g of groups) {
      const settle = (i: number, bytes: Promise<Uint8Array>) =>
        bytes.then((b) => g[i]!.forEach((w) => w.resolve(b)), (e: unknown) => g[i]!.forEach((w) => w.reject(e)))
      if (g.length === 1) {
        void settle(0, this.single(g[0]![0]!.sha256))
        continue
      }
      this.batch(g.map((same) => same[0]!.sha256)).then(
        (members) => members.forEach((m, i) => void settle(i, Promise.resolve(m))),
        // A batch that fails (an older server, one content missing): each on its own, so one
        // bad content fails only its own read.
        () => g.forEach((same, i) => void settle(i, this.single(same[0]!.sha256))),
      )
    }
  }

  private async batch(hexes: string[]): Promise<Uint8Array[]> {
    const sorted = [...hexes].sort()
    const url = this.url(`api/contents?${batchQuery(sorted)}`)
    const res = await this.get(url)
    if (!res.ok) throw new Error(`could not fetch ${hexes.length} file contents from ${url.slice(0, 120)}…: HTTP ${res.status}`)
    const members = splitBatch(new Uint8Array(await res.arrayBuffer()), sorted.length)
    const bySha = new Map(sorted.map((h, i) => [h, members[i]!]))
    return hexes.map((h) => bySha.get(h)!)
  }
}
