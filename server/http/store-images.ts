// The ImageService over boxplay's on-disk store: the same Store methods and image functions
// the CLI's commands call, so the API and the CLI cannot disagree.

import { stat } from 'node:fs/promises'
import { inspectImage, summarizeImage } from '../image/describe.js'
import type { Store } from '../store/store.js'
import { HttpError } from './errors.js'
import type { ImageService, PullOptions } from './image-service.js'

export interface StoreVerbs {
  /** Pulls into the store; resolves with the stored name. */
  pull?: (store: Store, ref: string, options: PullOptions) => Promise<string>
  /** Loads an archive into the store; resolves with the names added. */
  load?: (store: Store, path: string) => Promise<string[]>
}

export function storeImages(store: Store, verbs: StoreVerbs = {}): ImageService {
  return {
    async list() {
      const out = []
      for (const entry of await store.entries()) out.push(await summarizeImage(store, entry))
      return out.sort((a, b) => (a.name ?? '~').localeCompare(b.name ?? '~'))
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
    manifest: (refOrDigest) => store.contentSource().manifest(refOrDigest),
    async blobFile(digest) {
      if (!store.hasBlob(digest)) return undefined
      const path = store.blobPath(digest)
      return { path, size: (await stat(path)).size }
    },
  }
}
