// Change sets: what a run (or a build step) added, changed and deleted in an image's tree.
// A runtime reports one after a run (native: the overlay's upper dir; v86: a diff of the 9p
// tree against the image), the file panel shows one, and the layer writer
// (layer-writer.ts) turns one into an OCI layer. No DOM and no Node APIs: it runs everywhere.
//
// Entries are in pre-order (a directory before what is in it). A directory entry says the
// directory exists in the result with this metadata; `opaque` says nothing the lower tree
// had in it survives (overlayfs's opaque dir, OCI's `.wh..wh..opq`).

import { RootFs, splitPath, type DirNode, type FileData, type Meta, type Node } from './rootfs.js'

interface EntryBase extends Meta {
  /** Absolute path inside the image, e.g. `/etc/hosts`. */
  path: string
}

export type Change =
  | (EntryBase & { kind: 'file'; data: FileData })
  | (EntryBase & { kind: 'dir'; opaque?: boolean })
  | (EntryBase & { kind: 'symlink'; target: string })
  | { path: string; kind: 'deleted' }

export interface ChangeSet {
  entries: Change[]
}

/** The directory `parts` names, walked without following symlinks (change paths are real). */
function dirAt(fs: RootFs, parts: readonly string[]): DirNode {
  let dir = fs.root
  for (const part of parts) {
    const next: Node | undefined = dir.entries.get(part)
    if (next?.kind === 'dir') dir = next
    else {
      // The change set has a directory where the tree has nothing or something else.
      const made: DirNode = { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, entries: new Map() }
      dir.entries.set(part, made)
      dir = made
    }
  }
  return dir
}

/** Applies a change set to `fs` in place (overlay semantics) and returns it. */
export function applyChangeSet(fs: RootFs, changes: ChangeSet): RootFs {
  for (const entry of changes.entries) {
    const parts = splitPath(entry.path)
    const name = parts.pop()
    if (name === undefined) {
      if (entry.kind === 'dir') Object.assign(fs.root, { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime })
      continue
    }
    const parent = dirAt(fs, parts)
    if (entry.kind === 'deleted') {
      parent.entries.delete(name)
      continue
    }
    const meta: Meta = { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime }
    if (entry.kind === 'dir') {
      const existing = parent.entries.get(name)
      if (existing?.kind === 'dir') {
        Object.assign(existing, meta)
        if (entry.opaque) existing.entries.clear()
      } else parent.entries.set(name, { kind: 'dir', ...meta, entries: new Map() })
    } else if (entry.kind === 'symlink') {
      parent.entries.set(name, { kind: 'symlink', ...meta, target: entry.target })
    } else {
      parent.entries.set(name, { kind: 'file', ...meta, data: entry.data })
    }
  }
  return fs
}

/** Paths a runtime provides to every run (mounts and generated files), never part of a layer. */
export const RUNTIME_PROVIDED = ['/proc', '/sys', '/dev', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf'] as const

function under(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => path === p || path.startsWith(`${p}/`))
}

const sameMeta = (a: Meta, b: Meta): boolean => a.mode === b.mode && a.uid === b.uid && a.gid === b.gid

/**
 * The change set a build keeps from a run: without what the runtime itself put there
 * (RUNTIME_PROVIDED, as BuildKit drops its mounts), and without directories that only
 * carry a new mtime (overlayfs copies a directory up whenever something in it is touched;
 * a tree diff sees a changed mtime). Both runtimes' reports then agree on the same run.
 * `lower` is the tree the run started from.
 */
export function buildChanges(changes: ChangeSet, lower: RootFs): ChangeSet {
  const kept = changes.entries.filter((e) => !under(e.path, RUNTIME_PROVIDED))
  // A directory stays when it is new, its mode/owner changed, it is opaque, or something
  // below it stays. Walk from the end: children come after their directory in pre-order.
  const needed = new Set<string>()
  const out: Change[] = []
  for (let i = kept.length - 1; i >= 0; i--) {
    const e = kept[i]!
    let keep = true
    if (e.kind === 'dir' && !e.opaque && !needed.has(e.path)) {
      const old = lower.lookup(e.path, false)
      keep = old?.kind !== 'dir' || !sameMeta(old, e)
    }
    if (!keep) continue
    out.push(e)
    const parts = splitPath(e.path)
    for (let n = parts.length - 1; n > 0; n--) needed.add(`/${parts.slice(0, n).join('/')}`)
  }
  return { entries: out.reverse() }
}

/**
 * What changed from `lower` to `upper` (two trees, e.g. an image and a VM's filesystem after
 * a run), in pre-order and sorted by name: new and changed entries, deletions, and each
 * directory on the way to one of them. A directory whose kind changed replaces the lower one
 * whole (opaque). File bytes are compared, so an untouched file is never reported.
 */
export async function diffTrees(lower: RootFs, upper: RootFs): Promise<ChangeSet> {
  const entries: Change[] = []
  const visit = async (low: DirNode | undefined, up: DirNode, prefix: string): Promise<boolean> => {
    let changed = false
    const names = new Set([...up.entries.keys(), ...(low ? low.entries.keys() : [])])
    for (const name of [...names].sort()) {
      const path = `${prefix}/${name}`
      const a = low?.entries.get(name)
      const b = up.entries.get(name)
      if (b === undefined) {
        entries.push({ path, kind: 'deleted' })
        changed = true
        continue
      }
      const meta: Meta = { mode: b.mode, uid: b.uid, gid: b.gid, mtime: b.mtime }
      if (b.kind === 'dir') {
        const at = entries.length
        const lowerDir = a?.kind === 'dir' ? a : undefined
        // A new directory replacing a non-directory: the old entry goes, nothing to hide below.
        entries.push({ path, kind: 'dir', ...meta })
        const inner = await visit(lowerDir, b, path)
        const own = !lowerDir || !sameMeta(lowerDir, b)
        if (!inner && !own) entries.splice(at, 1)
        else changed = true
        continue
      }
      if (b.kind === 'symlink') {
        if (a?.kind === 'symlink' && a.target === b.target && sameMeta(a, b)) continue
        entries.push({ path, kind: 'symlink', ...meta, target: b.target })
        changed = true
        continue
      }
      if (a?.kind === 'file' && (a === b || (sameMeta(a, b) && (await sameBytes(a.data, b.data))))) continue
      entries.push({ path, kind: 'file', ...meta, data: b.data })
      changed = true
    }
    return changed
  }
  await visit(lower.root, upper.root, '')
  return { entries }
}

async function sameBytes(a: FileData, b: FileData): Promise<boolean> {
  if (a === b) return true
  const size = (d: FileData) => (d instanceof Uint8Array ? d.byteLength : d.size)
  if (size(a) !== size(b)) return false
  const [x, y] = await Promise.all([a instanceof Uint8Array ? a : a.load(), b instanceof Uint8Array ? b : b.load()])
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}
