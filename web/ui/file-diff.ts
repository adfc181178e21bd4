// What a run changed in its filesystem, compared with the image it started from. Cheap by
// design: a file counts as modified when its node differs in kind, size, mode, mtime or
// target, never by reading contents.

import { fileSize, type Node, type RootFs } from '../oci/rootfs.js'

export type Change = 'added' | 'modified' | 'deleted'

export interface ChangedPath {
  path: string
  change: Change
  kind: Node['kind']
}

function differs(a: Node, b: Node): boolean {
  if (a === b) return false
  if (a.kind !== b.kind || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return true
  if (a.kind === 'file' && b.kind === 'file') return a.data !== b.data && (fileSize(a.data) !== fileSize(b.data) || a.mtime !== b.mtime)
  if (a.kind === 'symlink' && b.kind === 'symlink') return a.target !== b.target
  return false
}

export function diffTrees(image: RootFs, run: RootFs, limit = 5000): ChangedPath[] {
  const changes: ChangedPath[] = []
  for (const [path, node] of run.walk()) {
    if (changes.length >= limit) return changes
    const before = image.lookup(path, false)
    if (!before) changes.push({ path, change: 'added', kind: node.kind })
    else if (differs(before, node) && node.kind !== 'dir') changes.push({ path, change: 'modified', kind: node.kind })
  }
  for (const [path, node] of image.walk()) {
    if (changes.length >= limit) break
    if (!run.lookup(path, false)) {
      // a deleted directory's children are implied
      if (!changes.some((c) => c.change === 'deleted' && path.startsWith(`${c.path}/`))) changes.push({ path, change: 'deleted', kind: node.kind })
    }
  }
  return changes
}
