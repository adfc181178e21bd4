// `boxplay tag SOURCE TARGET`: one more index.json name for a stored image. The target is
// checked as a reference before the store is touched, and the source must exist, so a bad
// call changes nothing.

import { isDigest } from '../../web/oci/digest.js'
import { storeNameFor } from '../store/names.js'
import type { Store } from '../store/store.js'

export class TagError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TagError'
  }
}

/** Names `target` after the image `source` resolves to; returns the stored name. */
export async function tagImage(store: Store, source: string, target: string): Promise<string> {
  let name: string
  try {
    name = storeNameFor(target)
  } catch (e) {
    throw new TagError(`cannot tag as "${target}": ${(e as Error).message}`)
  }
  if (name.includes('@') || isDigest(target)) throw new TagError(`cannot tag as "${target}": a target is NAME[:TAG], without a digest`)
  const entry = await store.get(source)
  const reached = await store.reach(entry.descriptor)
  // Only the blobs present must stay: platforms pulled without layers have none to keep.
  await store.setNames([{ name, descriptor: entry.descriptor }], [...reached.digests].filter((d) => d === entry.descriptor.digest || store.hasBlob(d)))
  return name
}
