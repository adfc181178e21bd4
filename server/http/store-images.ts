// The ImageService over boxplay's on-disk store: the same Store methods and image functions
// the CLI's commands call, so the API and the CLI cannot disagree.

import { stat } from 'node:fs/promises'
import { parsePlatform } from '../../web/oci/platform.js'
import { inspectImage, summarizeImage } from '../image/describe.js'
import type { Progress } from '../image/progress.js'
import { LayerContents } from '../image/layer-contents.js'
import type { Store } from '../store/store.js'
import { HttpError } from './errors.js'
import type { ImageService, PullOptions } from './image-service.js'

export interface StoreVerbs {
  /** Pulls into the store; resolves with the stored name. */
  pull?: (store: Store, ref: string, options: PullOptions) => Promise<string>
  /** Loads an archive into the store; resolves with the names added. */
  load?: (store: Store, path: string) => Promise<string[]>
}

/** The store helper's `pull` and `load`, as `boxplay pull` and `boxplay load` run them. */
export const defaultVerbs: Required<StoreVerbs> = {
  async pull(store, ref, options) {
    const { pull } = await import('../image/pull.js')
    const platform = options.platform === undefined ? undefined : options.platform === 'all' ? ('all' as const) : parsePlatform(options.platform)
    const result = await pull(store, ref, {
      ...(platform !== undefined ? { platform } : {}),
      ...(options.insecure !== undefined ? { insecure: options.insecure } : {}),
      progress: throttledProgress(options.onProgress),
    })
    return result.name
  },
  async load(store, path) {
    const { load } = await import('../image/load.js')
    return (await load(store, path)).images.map((i) => i.name ?? i.digest)
  },
}

/** Turns the CLI's per-blob progress into a few lines a second for the NDJSON stream. */
function throttledProgress(report: PullOptions['onProgress']): Progress {
  const blobs = new Map<string, { label: string; total: number | undefined; received: number; shown: number }>()
  return {
    start(id, label, total) {
      blobs.set(id, { label, total, received: 0, shown: 0 })
      report(`${label}: downloading`, 0, total)
    },
    advance(id, bytes) {
      const b = blobs.get(id)
      if (!b) return
      b.received += bytes
      const now = Date.now()
      if (now - b.shown >= 200) {
        b.shown = now
        report(`${b.label}: downloading`, b.received, b.total)
      }
    },
    done(id, note) {
      const b = blobs.get(id)
      report(`${b?.label ?? id}: ${note}`, b?.received, b?.total)
    },
    finish() {},
  }
}

export function storeImages(store: Store, verbs: StoreVerbs = defaultVerbs): ImageService {
  // Layer indexes and file contents for the browser runtimes, beside the store's blobs.
  const lazy = new LayerContents(store.home)
  return {
    async list() {
      const out = []
      for (const entry of await store.entries()) out.push(await summarizeImage(store, entry))
      return out.sort((a, b) => (a.name ?? '~').localeCompare(b.name ?? '~'))
    },
    async names() {
      return (await store.entries()).map((e) => e.name).filter((n): n is string => n !== undefined).sort()
    },
    async inspect(name) {
      return inspectImage(store, await store.get(name))
    },
    async pull(ref, options) {
      if (!verbs.pull) throw new HttpError(501, 'this server cannot pull images: use `boxplay pull` on its machine')
      return verbs.pull(store, ref, options)
    },
    async load(path) {
      if (!verbs.load) throw new HttpError(501, 'this server cannot load archives: use `boxplay load` on its machine')
      return verbs.load(store, path)
    },
    async remove(name) {
      await store.removeNames([name])
    },
    runImage: (name, platform) => store.runImage(name, platform),
    async build(options) {
      const { buildParsed } = await import('../build/build.js')
      return buildParsed(store, options)
    },
    manifest: (refOrDigest) => store.contentSource().manifest(refOrDigest),
    async blobFile(digest) {
      if (!store.hasBlob(digest)) return undefined
      const path = store.blobPath(digest)
      return { path, size: (await stat(path)).size }
    },
    async layerIndex(digest) {
      if (!store.hasBlob(digest)) return undefined
      try {
        return await lazy.index(digest, store.blobPath(digest))
      } catch (e) {
        throw new HttpError(400, `blob ${digest} cannot be indexed as a layer: ${(e as Error).message}`)
      }
    },
    content(hex) {
      return lazy.content(hex)
    },
  }
}
