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
 * The change set a build keeps from a run, in one canonical form whatever runtime reported
 * it, so native and v86 builds of the same step give the same layer:
 *   - without what the runtime itself put there (RUNTIME_PROVIDED, as BuildKit drops its
 *     mounts);
 *   - opaque directories spelt out as deletions of what the lower tree had there (overlayfs
 *     marks a removed-and-remade directory opaque; a tree diff sees deletions);
 *   - without files, links and directories equal to the lower tree's (mode, owner, bytes or
 *     target; mtimes aside): overlayfs copies up what is merely opened or touched, a tree diff
 *     does not see it. A directory stays when something below it stays.
 * `lower` is the tree the run started from.
 */
export async function buildChanges(changes: ChangeSet, lower: RootFs): Promise<ChangeSet> {
  const entries = changes.entries.filter((e) => !under(e.path, RUNTIME_PROVIDED))
  const paths = new Set(entries.map((e) => e.path))
  // Opaque directories → explicit deletions of the lower entries not made again.
  const expanded: Change[] = []
  const hidden = new Set<string>()
  for (const e of entries) {
    if (e.kind === 'dir' && (e.opaque || [...hidden].some((h) => e.path.startsWith(`${h}/`)))) {
      const old = lower.lookup(e.path, false)
      const { opaque: _opaque, ...plain } = e
      expanded.push(plain)
      if (old?.kind === 'dir') {
        hidden.add(e.path)
        for (const name of [...old.entries.keys()].sort()) {
          const child = `${e.path}/${name}`
          if (!paths.has(child)) expanded.push({ path: child, kind: 'deleted' })
        }
      }
      continue
    }
    expanded.push(e)
  }
  // Pre-order again: a deletion sorts among its siblings.
  expanded.sort((a, b) => comparePaths(a.path, b.path))
  const needed = new Set<string>()
  const out: Change[] = []
  for (let i = expanded.length - 1; i >= 0; i--) {
    const e = expanded[i]!
    const old = lower.lookup(e.path, false)
    let keep = true
    if (e.kind === 'deleted') keep = old !== undefined
    else if (e.kind === 'dir') keep = needed.has(e.path) || old?.kind !== 'dir' || !sameMeta(old, e)
    else if (e.kind === 'symlink') keep = !(old?.kind === 'symlink' && old.target === e.target && old.uid === e.uid && old.gid === e.gid)
    else keep = !(old?.kind === 'file' && sameMeta(old, e) && (await sameBytes(old.data, e.data)))
    if (!keep) continue
    out.push(e)
    const parts = splitPath(e.path)
    for (let n = parts.length - 1; n > 0; n--) needed.add(`/${parts.slice(0, n).join('/')}`)
  }
  return { entries: out.reverse() }
}

/** Pre-order comparison: component by component, so `/a/b` comes right after `/a`. */
function comparePaths(a: string, b: string): number {
  const x = splitPath(a)
  const y = splitPath(b)
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1
  }
  return x.length - y.length
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
        if (a?.kind === 'symlink' && a.target === b.target && a.uid === b.uid && a.gid === b.gid) continue
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
