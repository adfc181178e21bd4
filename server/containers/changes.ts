// A container's files: the image's layers plus one more, its changes, kept in its directory
// as an OCI layer (changes.tar.gz) written by the same layer writer as builds
// (web/oci/layer-writer.ts). Whatever runtime ran it, after each run the container's whole
// tree is compared with the image's, so the layer always holds the changes since the image
// (not since the last run): `diff` lists it, `commit` stores it as is, `start` runs on it,
// and `cp` reads and rewrites it.

import { createHash } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { applyChangeSet, buildChanges, diffTrees, type ChangeSet } from '../../web/oci/changes.js'
import { buildRootFs } from '../../web/oci/image.js'
import { writeLayer } from '../../web/oci/layer-writer.js'
import { OCI_LAYER_GZIP } from '../../web/oci/media-types.js'
import type { RootFs } from '../../web/oci/rootfs.js'
import type { RunImage } from '../../web/runtimes/runtime.js'
import { CHANGES_FILE, writeFileAtomic, type ContainerState } from './record.js'

export type StoredChanges = NonNullable<ContainerState['changes']>

/**
 * The image a container runs on: the image's layers and its changes layer on top. Its digest
 * is derived from both, so runtimes that cache trees by image digest (v86, wasi) never hand
 * a container the tree of its image or of an older state of itself.
 */
export function containerImage(base: RunImage, dir: string, changes: StoredChanges | undefined): RunImage {
  if (!changes) return base
  const digest = 'sha256:' + createHash('sha256').update(`${base.digest} ${changes.digest}`).digest('hex')
  return {
    ...base,
    digest,
    layers: [...base.layers, { digest: changes.digest, diffId: changes.diffId, mediaType: OCI_LAYER_GZIP, size: changes.size }],
    blob: async (d) => (d === changes.digest ? new Uint8Array(await fsp.readFile(join(dir, CHANGES_FILE))) : base.blob(d)),
  }
}

/** The container's tree: its image with its changes applied. */
export function containerTree(base: RunImage, dir: string, changes: StoredChanges | undefined): Promise<RootFs> {
  return buildRootFs(containerImage(base, dir, changes))
}

/** What the container changed in its image, canonical (see buildChanges), in pre-order. */
export async function containerChanges(base: RunImage, dir: string, changes: StoredChanges | undefined): Promise<ChangeSet> {
  if (!changes) return { entries: [] }
  const [image, tree] = await Promise.all([buildRootFs(base), containerTree(base, dir, changes)])
  return buildChanges(await diffTrees(image, tree), image)
}

/**
 * Keeps `tree` (the container's files after a run, or after `cp` into it) as the changes
 * layer; no changes at all leave no layer. Returns what state.json records of it.
 */
export async function saveTree(base: RunImage, dir: string, tree: RootFs): Promise<StoredChanges | undefined> {
  const image = await buildRootFs(base)
  const changes = await buildChanges(await diffTrees(image, tree), image)
  const path = join(dir, CHANGES_FILE)
  if (changes.entries.length === 0) {
    await fsp.rm(path, { force: true })
    return undefined
  }
  // Times are kept as they are (commit keeps them too): the clamp is only "not in the future".
  const layer = await writeLayer(changes, { epoch: Math.floor(Date.now() / 1000) + 1 })
  await writeFileAtomic(path, layer.blob)
  return { digest: layer.digest, diffId: layer.diffId, size: layer.size }
}

/** A native run reports only what it wrote on top of its lower tree: apply it to that tree. */
export async function treeAfterNativeRun(lower: RootFs, written: ChangeSet): Promise<RootFs> {
  return applyChangeSet(lower, await buildChanges(written, lower))
}
