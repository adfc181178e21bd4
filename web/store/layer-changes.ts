// A layer read back as a change set: the inverse of web/oci/layer-writer.ts, so a container's
// kept writable layer (stored as the OCI layer its commit and download use) can be laid over
// its image again when it is resumed. Whiteouts become deletions, an opaque marker makes its
// directory opaque. No DOM and no Node APIs.

import type { Change, ChangeSet } from '../oci/changes.js'
import { decompressBytes } from '../oci/compression.js'
import { splitPath } from '../oci/rootfs.js'
import { readTarSync } from '../oci/tar.js'
import { parseWhiteout } from '../oci/whiteout.js'

export class LayerChangesError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LayerChangesError'
  }
}

/** The change set of an (uncompressed) layer tar. Hardlinks become copies of their target's bytes. */
export function changesFromTar(tar: Uint8Array): ChangeSet {
  const entries: Change[] = []
  const byPath = new Map<string, Change>()
  const opaque = new Set<string>()
  for (const e of readTarSync(tar)) {
    const parts = splitPath(e.path)
    const name = parts.pop()
    if (name === undefined) continue
    const parent = parts.length ? `/${parts.join('/')}` : ''
    const meta = { mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: Math.floor(e.mtime) }
    const wh = parseWhiteout(name)
    let change: Change | undefined
    if (wh?.kind === 'opaque') {
      opaque.add(parent || '/')
      continue
    } else if (wh?.kind === 'delete') {
      change = { path: `${parent}/${wh.name}`, kind: 'deleted' }
    } else if (wh) {
      continue
    } else if (e.type === 'dir') {
      change = { path: `${parent}/${name}`, kind: 'dir', ...meta }
    } else if (e.type === 'file') {
      change = { path: `${parent}/${name}`, kind: 'file', ...meta, data: e.data }
    } else if (e.type === 'symlink') {
      change = { path: `${parent}/${name}`, kind: 'symlink', ...meta, target: e.linkname }
    } else if (e.type === 'hardlink') {
      const target = byPath.get(`/${splitPath(e.linkname).join('/')}`)
      if (target?.kind !== 'file') throw new LayerChangesError(`layer entry ${e.path} links to ${e.linkname}, which the layer does not hold before it`)
      change = { ...target, ...meta, path: `${parent}/${name}` }
    }
    // Device nodes and fifos have no change-set form (runtimes make /dev themselves).
    if (!change) continue
    byPath.set(change.path, change)
    entries.push(change)
  }
  for (const c of entries) if (c.kind === 'dir' && opaque.has(c.path)) c.opaque = true
  return { entries }
}

/** The change set of a stored layer blob (gzip or plain). */
export async function changesFromLayer(mediaType: string, blob: Uint8Array): Promise<ChangeSet> {
  return changesFromTar(await decompressBytes(mediaType, blob))
}
