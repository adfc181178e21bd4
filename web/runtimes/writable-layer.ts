// A container's writable layer in the browser runtimes (v86, wasi), which build a run's
// filesystem as one in-memory tree: the files a container kept from its earlier runs are
// laid over a copy of the image's tree (the image's tree is shared by every run and never
// changed), and what a run changed is always measured against the image itself, so a
// container's change set holds everything it ever changed, as an overlay's upper dir does.
// No DOM and no Node APIs.

import { applyChangeSet, buildChanges, diffTrees, type ChangeSet } from '../oci/changes.js'
import { RootFs, type DirNode, type FileNode, type Node } from '../oci/rootfs.js'

/** A copy of the tree's directories and nodes; file contents are shared, hardlinks stay linked. */
export function copyTree(fs: RootFs): RootFs {
  const files = new Map<FileNode, FileNode>()
  const copyDir = (dir: DirNode): DirNode => {
    const out: DirNode = { kind: 'dir', mode: dir.mode, uid: dir.uid, gid: dir.gid, mtime: dir.mtime, entries: new Map() }
    for (const [name, node] of dir.entries) out.entries.set(name, copyNode(node))
    return out
  }
  const copyNode = (node: Node): Node => {
    if (node.kind === 'dir') return copyDir(node)
    if (node.kind === 'symlink') return { ...node }
    let copy = files.get(node)
    if (!copy) {
      copy = { ...node }
      files.set(node, copy)
    }
    return copy
  }
  return new RootFs(copyDir(fs.root))
}

/** The tree a container's run starts from: the image's, with the container's kept changes on top. */
export function treeWithChanges(image: RootFs, changes: ChangeSet | undefined): RootFs {
  if (!changes || changes.entries.length === 0) return image
  return applyChangeSet(copyTree(image), changes)
}

/**
 * What a run's files differ from its image by, as a container keeps it: the tree diff in the
 * canonical form builds use (without what the runtime itself provides, like /etc/hostname).
 * Untouched files share the image's contents, so they are never read to compare.
 */
export async function changesOverImage(image: RootFs, files: RootFs): Promise<ChangeSet> {
  return buildChanges(await diffTrees(image, files), image)
}

/** A run that reports its change set over its image (see changesOverImage). */
export interface RunWithChangeSet {
  changeSet(): Promise<ChangeSet>
}

export function hasChangeSet(run: object): run is RunWithChangeSet {
  return typeof (run as Partial<RunWithChangeSet>).changeSet === 'function'
}
