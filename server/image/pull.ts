// `boxplay pull`: an image from a registry into the store. Every blob streams straight to a
// temp file in the store, hashed and counted on the way, and is renamed into blobs/ only when
// it matches its descriptor; the image name is added to index.json last. An interrupted pull
// therefore leaves no half blob and no name pointing at missing content, and a retry skips
// the blobs that did complete.
//
// Platforms: an index's manifests are all stored (they are small), but layers only for the
// chosen platforms: `--platform P` → just P; `--platform all` → every platform; by default
// every platform boxplay can run (linux/amd64, linux/386, wasi/wasm) that the image offers —
// boxplay's point is to run one image several ways, and those are the ones its runtimes take.

import { type Descriptor, type ImageIndex, imagePlatforms, isIndexMediaType, parseIndex, parseManifest, selectPlatform } from '../../web/oci/manifest.js'
import { type Platform, formatPlatform, platformMatches } from '../../web/oci/platform.js'
import { familiarName, parseReference } from '../../web/oci/reference.js'
import { type Credentials, RegistryClient, RegistryError } from '../../web/oci/registry.js'
import { DEFAULT_PLATFORM_ORDER } from '../../web/oci/image.js'
import type { Store } from '../store/store.js'
import type { TempDir } from '../store/temp.js'
import { dockerConfigCredentials } from './docker-config.js'
import { type Progress, createProgress } from './progress.js'
import { humanBytes } from './describe.js'

export interface PullOptions {
  /** One platform, or 'all'. Default: every platform boxplay runs that the image has. */
  platform?: Platform | 'all'
  /** Plain http. Default: on for 127.0.0.1, localhost and ::1 (as Docker does), else off. */
  insecure?: boolean
  creds?: Credentials
  /** Blob downloads in flight at once (default 3). */
  concurrency?: number
  progress?: Progress
  env?: NodeJS.ProcessEnv
  /** Give up on a blob (and retry it) when no data arrives for this long (default 30 s). */
  idleTimeoutMs?: number
}

export interface PullResult {
  name: string
  digest: string
  mediaType: string
  /** Platforms whose layers were fetched (or already present). */
  platforms: string[]
  blobsFetched: number
  bytesFetched: number
  blobsSkipped: number
}

export class PullError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PullError'
  }
}

export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '')
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** Which index entries get their layers pulled. */
export function choosePlatforms(index: ImageIndex, want: PullOptions['platform'], name: string): Descriptor[] {
  const runnable = imagePlatforms(index)
  if (want === 'all') return index.manifests.filter((m) => m.platform && runnable.some((p) => platformMatches(p, m.platform!)))
  if (want) return [selectPlatform(index, want, name)]
  const chosen: Descriptor[] = []
  for (const p of DEFAULT_PLATFORM_ORDER) {
    if (runnable.some((have) => platformMatches(p, have))) chosen.push(selectPlatform(index, p, name))
  }
  if (chosen.length === 0) {
    throw new PullError(
      `image ${name} offers ${runnable.map(formatPlatform).join(', ') || 'no platforms'}, none of which boxplay runs by default ` +
        `(${DEFAULT_PLATFORM_ORDER.map(formatPlatform).join(', ')}): choose one with --platform, or --platform all`,
    )
  }
  return chosen
}

export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed: unknown
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const item = items[next++]!
      try {
        await fn(item)
      } catch (e) {
        failed ??= e
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failed !== undefined) throw failed
}

export async function pull(store: Store, refText: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(refText)
  const name = familiarName(ref)
  const env = opts.env ?? process.env
  const client = new RegistryClient({
    registry: ref.registry,
    insecure: opts.insecure ?? isLoopback(ref.registry),
    credentials: (host) => opts.creds ?? dockerConfigCredentials(host, env),
  })
  const progress = opts.progress ?? createProgress(process.stderr, false)
  const repo = ref.repository
  const top = await client.getManifest(repo, ref.reference)

  return store.withTemp(async (tmp) => {
    const required: string[] = [top.digest]
    await store.putBytes(tmp, top.bytes, { digest: top.digest })
    let manifests: { digest: string; mediaType: string; bytes: Uint8Array; platform?: Platform }[]
    const platforms: string[] = []
    if (isIndexMediaType(top.mediaType)) {
      const index = parseIndex(top.bytes, top.mediaType)
      const chosen = new Set(choosePlatforms(index, opts.platform, name).map((d) => d.digest))
      manifests = []
      for (const d of index.manifests) {
        // Every manifest of the index is kept (small); only chosen ones get their blobs.
        const m = await client.getManifest(repo, d.digest)
        await store.putBytes(tmp, m.bytes, { digest: d.digest, size: d.size })
        if (chosen.has(d.digest)) {
          manifests.push({ ...m, ...(d.platform ? { platform: d.platform } : {}) })
          required.push(d.digest)
          if (d.platform) platforms.push(formatPlatform(d.platform))
        }
      }
    } else {
      manifests = [top]
    }

    const blobs = new Map<string, Descriptor>()
    for (const m of manifests) {
      const manifest = parseManifest(m.bytes, m.mediaType)
      for (const d of [manifest.config, ...manifest.layers]) {
        blobs.set(d.digest, d)
        required.push(d.digest)
      }
    }
    const todo = [...blobs.values()].filter((d) => !store.hasBlob(d.digest))
    const result: PullResult = {
      name,
      digest: top.digest,
      mediaType: top.mediaType,
      platforms,
      blobsFetched: 0,
      bytesFetched: 0,
      blobsSkipped: blobs.size - todo.length,
    }
    for (const d of blobs.values()) {
      if (todo.includes(d)) continue
      progress.start(d.digest, d.digest.slice(7, 19), d.size)
      progress.done(d.digest, 'already exists')
    }
    await pool(todo, opts.concurrency ?? 3, async (d) => {
      await fetchBlob(store, client, tmp, repo, d, progress, opts.idleTimeoutMs ?? 30_000)
      result.blobsFetched++
      result.bytesFetched += d.size
    })
    if (platforms.length === 0) {
      // A single-platform image: its platform comes from its config.
      const manifest = parseManifest(manifests[0]!.bytes, manifests[0]!.mediaType)
      try {
        const cfg = JSON.parse(new TextDecoder().decode(await store.readBlob(manifest.config.digest))) as { os?: string; architecture?: string; variant?: string }
        if (cfg.os && cfg.architecture) platforms.push(formatPlatform({ os: cfg.os, architecture: cfg.architecture, ...(cfg.variant ? { variant: cfg.variant } : {}) }))
      } catch {
        // not a container config: no platform to report
      }
    }
    await store.setNames([{ name, descriptor: { mediaType: top.mediaType, digest: top.digest, size: top.bytes.byteLength } }], required)
    progress.finish()
    return result
  })
}

/** One blob, retried (from the start) when the connection drops mid-way. */
async function fetchBlob(store: Store, client: RegistryClient, tmp: TempDir, repo: string, d: Descriptor, progress: Progress, idleMs: number): Promise<void> {
  const label = d.digest.slice(7, 19)
  const attempts = 3
  for (let attempt = 1; ; attempt++) {
    progress.start(d.digest, label, d.size)
    try {
      const { stream } = await client.getBlob(repo, d.digest, d.size)
      await store.putBlob(tmp, withIdleTimeout(stream, idleMs, d.digest), { digest: d.digest, size: d.size }, (n) => progress.advance(d.digest, n))
      progress.done(d.digest, `pull complete (${humanBytes(d.size)})`)
      return
    } catch (e) {
      const retry = e instanceof RegistryError && e.code === 'NETWORK' && attempt < attempts
      if (!retry) {
        progress.done(d.digest, `failed: ${e instanceof Error ? e.message : String(e)}`)
        throw e
      }
      await new Promise((r) => setTimeout(r, 250 * attempt))
    }
  }
}

/**
 * Fails a download that stops delivering data. A dropped connection does not always surface
 * as an error from fetch's body stream (a paused socket may never see the close), and a
 * stalled server would otherwise hang the pull forever.
 */
async function* withIdleTimeout(source: AsyncIterable<Uint8Array>, ms: number, digest: string): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]()
  for (;;) {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RegistryError(`download of blob ${digest} stalled: no data for ${ms / 1000} s; try again`, 'NETWORK')),
        ms,
      )
    })
    let next: IteratorResult<Uint8Array>
    try {
      next = await Promise.race([it.next(), timeout])
    } catch (e) {
      void it.return?.(undefined)?.catch(() => undefined) // releases the connection when it can
      throw e
    } finally {
      clearTimeout(timer)
    }
    if (next.done) return
    yield next.value
  }
}

export { createProgress }
