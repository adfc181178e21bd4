// OCI/AUFS whiteouts: how a layer deletes what lower layers put there.
//   dir/.wh.NAME       → dir/NAME is deleted
//   dir/.wh..wh..opq   → everything lower layers put in dir is hidden (this layer's entries stay)
// Other `.wh..wh.*` names are AUFS bookkeeping (e.g. `.wh..wh.plnk`) and are ignored.

export const WHITEOUT_PREFIX = '.wh.'
export const OPAQUE_WHITEOUT = '.wh..wh..opq'
const AUFS_META_PREFIX = '.wh..wh.'

export type Whiteout =
  | { kind: 'opaque' }
  | { kind: 'delete'; name: string }
  | { kind: 'aufs-meta' }

/** What a file name means as a whiteout, or undefined for an ordinary name. */
export function parseWhiteout(name: string): Whiteout | undefined {
  if (!name.startsWith(WHITEOUT_PREFIX)) return undefined
  if (name === OPAQUE_WHITEOUT) return { kind: 'opaque' }
  if (name.startsWith(AUFS_META_PREFIX)) return { kind: 'aufs-meta' }
  const target = name.slice(WHITEOUT_PREFIX.length)
  return target === '' || target === '.' || target === '..' ? { kind: 'aufs-meta' } : { kind: 'delete', name: target }
}
