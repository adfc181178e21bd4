// Applies one layer's tar entries to a RootFs, with overlay semantics: whiteouts delete,
// opaque markers hide lower contents, later entries replace earlier ones. File bodies are
// not copied: each FileNode.data is the entry's view into the decompressed layer.
// Paths are confined to the tree (`..` and absolute paths cannot climb out), and symlinks
// in parent paths resolve inside the tree, never on the host.

import { RootFs, RootFsError, fileSize, splitPath } from './rootfs.js'
import type { DirNode, FileData, FileNode, Node } from './rootfs.js'
import type { TarHeader } from './tar.js'
import { parseWhiteout } from './whiteout.js'

export interface ApplySummary {
  files: number
  dirs: number
  symlinks: number
  hardlinks: number
  /** `.wh.NAME` entries applied (including those naming nothing). */
  whiteouts: number
  opaqueDirs: number
  /** Device nodes and fifos: RootFs cannot hold them (runtimes make /dev themselves). */
  skippedSpecial: number
  /** Bytes of regular-file content added. */
  bytes: number
}

/**
 * One layer entry as applyLayer needs it: a tar header's essentials and, for regular files,
 * the body — in memory, or lazily loadable (a layer index, see layer-index.ts).
 */
export type LayerEntry = Pick<TarHeader, 'path' | 'type' | 'mode' | 'uid' | 'gid' | 'mtime' | 'linkname'> & { data: FileData }

export class ApplyLayerError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ApplyLayerError'
  }
}

function meta(e: LayerEntry): { mode: number; uid: number; gid: number; mtime: number } {
  return { mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: Math.floor(e.mtime) }
}

export function applyLayer(fs: RootFs, entries: Iterable<LayerEntry>): ApplySummary {
  const summary: ApplySummary = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, whiteouts: 0, opaqueDirs: 0, skippedSpecial: 0, bytes: 0 }
  // Nodes this layer created or walked through: an opaque marker keeps them, hides the rest.
  const touched = new Set<Node>([fs.root])
  const opaque: DirNode[] = []

  /** The directory holding `parts` (all but the last), created as needed, symlinks followed in-tree. */
  const parentDir = (parts: readonly string[], path: string): DirNode => {
    let dir = fs.root
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i]!
      let next = dir.entries.get(name)
      if (next?.kind === 'symlink') {
        try {
          next = fs.get(parts.slice(0, i + 1).join('/'))
        } catch (e) {
          if (!(e instanceof RootFsError)) throw e
          throw new ApplyLayerError(`layer entry "${path}": parent "${parts.slice(0, i + 1).join('/')}" is a symlink that cannot be resolved (${e.message})`)
        }
      }
      if (next === undefined) {
        next = { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, entries: new Map() }
        dir.entries.set(name, next)
      }
      if (next.kind !== 'dir') {
        throw new ApplyLayerError(`layer entry "${path}": "/${parts.slice(0, i + 1).join('/')}" is a ${next.kind}, not a directory`)
      }
      touched.add(next)
      dir = next
    }
    return dir
  }

  for (const entry of entries) {
    const parts = splitPath(entry.path)
    if (parts.length === 0) {
      // The root itself ("./"): only its metadata can change.
      if (entry.type === 'dir') Object.assign(fs.root, meta(entry))
      continue
    }
    const name = parts[parts.length - 1]!
    const whiteout = parseWhiteout(name)
    if (whiteout !== undefined) {
      if (whiteout.kind === 'aufs-meta') continue
      const dir = fs.lookup(parts.slice(0, -1).join('/'))
      if (whiteout.kind === 'delete') {
        summary.whiteouts++
        if (dir?.kind === 'dir') dir.entries.delete(whiteout.name)
      } else {
        summary.opaqueDirs++
        // Hide lower contents now (entries of this layer seen so far are kept) and note the
        // directory; later entries of this layer are added on top as usual.
        const target = dir?.kind === 'dir' ? dir : parentDir([...parts.slice(0, -1), name], entry.path)
        touched.add(target)
        opaque.push(target)
      }
      continue
    }

    const dir = parentDir(parts, entry.path)
    const existing = dir.entries.get(name)
    let node: Node
    switch (entry.type) {
      case 'dir':
        if (existing?.kind === 'dir') {
          Object.assign(existing, meta(entry)) // merge with the lower directory
          node = existing
        } else {
          node = { kind: 'dir', ...meta(entry), entries: new Map() }
        }
        summary.dirs++
        break
      case 'file':
        node = { kind: 'file', ...meta(entry), data: entry.data } satisfies FileNode
        summary.files++
        summary.bytes += fileSize(entry.data)
        break
      case 'symlink':
        node = { kind: 'symlink', ...meta(entry), target: entry.linkname }
        summary.symlinks++
        break
      case 'hardlink': {
        const linkParts = splitPath(entry.linkname)
        const target = linkParts.length === 0 ? undefined : fs.lookup(linkParts.join('/'), false)
        if (target === undefined) {
          throw new ApplyLayerError(`layer entry "${entry.path}" is a hardlink to "${entry.linkname}", which does not exist in this or a lower layer: the layer is corrupt`)
        }
        if (target.kind === 'dir') throw new ApplyLayerError(`layer entry "${entry.path}" is a hardlink to the directory "${entry.linkname}": not allowed`)
        // A hardlink is the same FileNode under another name; a hardlinked symlink gets a copy.
        node = target.kind === 'file' ? target : { ...target }
        summary.hardlinks++
        break
      }
      case 'char':
      case 'block':
      case 'fifo':
        summary.skippedSpecial++
        continue
    }
    dir.entries.set(name, node)
    touched.add(node)
  }

  for (const dir of opaque) prune(dir, touched)
  return summary
}

/** Removes what this layer did not put in `dir`, recursing into directories it kept. */
function prune(dir: DirNode, keep: ReadonlySet<Node>): void {
  for (const [name, child] of dir.entries) {
    if (!keep.has(child)) dir.entries.delete(name)
    else if (child.kind === 'dir') prune(child, keep)
  }
}
