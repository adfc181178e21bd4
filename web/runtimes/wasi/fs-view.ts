// A run's copy-on-write view of an image's RootFs. The image tree is never mutated: the
// first change to a directory's entries clones that directory (a shallow Map copy), the
// first change to a file's metadata clones its node, and the first write to its bytes
// copies them. `copies` maps each original node to this view's copy, and every lookup goes
// through it, so a hardlinked file copied under one name is seen copied under all of them.
// Errors are WASI errno numbers, never exceptions, because they go straight back to the guest.

import { wasi } from '@bjorn3/browser_wasi_shim'
import type { DirNode, FileNode, Meta, Node, SymlinkNode } from '../../oci/rootfs.js'

export type Errno = number

const MAX_SYMLINK_HOPS = 40

/** Inode numbers are per node object and shared by a node's copies, so they stay stable across COW. */
const inodes = new WeakMap<Node, bigint>()
let nextIno = 1n
export function inodeOf(node: Node): bigint {
  let ino = inodes.get(node)
  if (ino === undefined) {
    ino = nextIno++
    inodes.set(node, ino)
  }
  return ino
}

/** How many names each image file has (hardlinks), counted once per image tree. */
const baseLinkCounts = new WeakMap<DirNode, Map<FileNode, number>>()
function countLinks(root: DirNode): Map<FileNode, number> {
  let counts = baseLinkCounts.get(root)
  if (counts) return counts
  counts = new Map()
  const visit = (dir: DirNode): void => {
    for (const child of dir.entries.values()) {
      if (child.kind === 'file') counts!.set(child, (counts!.get(child) ?? 0) + 1)
      else if (child.kind === 'dir') visit(child)
    }
  }
  visit(root)
  baseLinkCounts.set(root, counts)
  return counts
}

export function nowSeconds(): number {
  return Date.now() / 1000
}

export interface Resolved {
  node: Node
  /** Components from the mount root to the node, after following symlinks. */
  path: string[]
}

export interface Stat {
  ino: bigint
  filetype: number
  nlink: bigint
  size: bigint
  atim: bigint
  mtim: bigint
  ctim: bigint
}

function secondsToNs(s: number): bigint {
  return BigInt(Math.round(s * 1e9))
}

export function filetypeOf(node: Node): number {
  switch (node.kind) {
    case 'file':
      return wasi.FILETYPE_REGULAR_FILE
    case 'dir':
      return wasi.FILETYPE_DIRECTORY
    case 'symlink':
      return wasi.FILETYPE_SYMBOLIC_LINK
  }
}

export class FsView {
  private readonly copies = new Map<Node, Node>()
  /** Nodes this view made or copied: safe to mutate in place. */
  private readonly owned = new WeakSet<Node>()
  /** Files whose bytes are private to this view, with spare capacity for appends. */
  private readonly buffers = new WeakMap<FileNode, Uint8Array>()
  private readonly linkDelta = new Map<FileNode, number>()
  /** Times in nanoseconds where a double of seconds would lose precision (utimensat sets exact ones). */
  private readonly atimes = new WeakMap<Node, bigint>()
  private readonly mtimes = new WeakMap<Node, bigint>()
  private readonly ctimes = new WeakMap<Node, bigint>()
  /** Link counts of the image's files (shared, read-only) and of this view's own files. */
  private readonly baseLinks: ReadonlyMap<FileNode, number>
  private readonly ownLinks = new Map<FileNode, number>()

  constructor(readonly base: DirNode) {
    this.baseLinks = countLinks(base)
  }

  get root(): DirNode {
    return this.cur(this.base) as DirNode
  }

  /** This view's version of a node. */
  cur<T extends Node>(node: T): T {
    return (this.copies.get(node) as T | undefined) ?? node
  }

  /** True when the view changed anything (used to skip exporting a delta). */
  get changed(): boolean {
    return this.copies.size > 0
  }

  isChanged(node: Node): boolean {
    return this.copies.has(node) || this.owned.has(node)
  }

  child(dir: DirNode, name: string): Node | undefined {
    const c = this.cur(dir).entries.get(name)
    return c === undefined ? undefined : this.cur(c)
  }

  /**
   * Resolves `parts` from `from` (components below the mount root `root`). Without `floor`,
   * `..` never climbs above the mount root and absolute symlink targets restart at it: a
   * chroot, as an image's root is. With `floor` (a depth), the walk is confined like a
   * capability: climbing above that depth or meeting an absolute symlink is NOTCAPABLE.
   */
  resolve(root: DirNode, from: readonly string[], parts: readonly string[], followLast: boolean, floor?: number): Resolved | Errno {
    let hops = 0
    let stack: string[] = []
    let todo = [...from, ...parts]
    let node: Node = this.cur(root)
    const restart = (): void => {
      stack = []
      node = this.cur(root)
    }
    restart()
    while (todo.length > 0) {
      const part = todo.shift()!
      if (part === '' || part === '.') continue
      if (node.kind !== 'dir') return wasi.ERRNO_NOTDIR
      if (part === '..') {
        if (floor !== undefined && stack.length <= floor) return wasi.ERRNO_NOTCAPABLE
        stack.pop()
        const back: Resolved | Errno = this.walkPlain(root, stack)
        if (typeof back === 'number') return back
        node = back.node
        continue
      }
      const child = this.child(node, part)
      if (child === undefined) return wasi.ERRNO_NOENT
      const isLast = todo.every((p) => p === '' || p === '.')
      if (child.kind === 'symlink' && (!isLast || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) return wasi.ERRNO_LOOP
        const target = child.target.split('/')
        if (child.target.startsWith('/')) {
          if (floor !== undefined) return wasi.ERRNO_NOTCAPABLE
          todo = [...target, ...todo]
          restart()
        } else {
          todo = [...target, ...todo]
        }
        continue
      }
      stack.push(part)
      node = child
    }
    return { node, path: stack }
  }

  /** Walks components that are known to be plain directories (no symlinks, no dots). */
  private walkPlain(root: DirNode, parts: readonly string[]): Resolved | Errno {
    let node: Node = this.cur(root)
    for (const part of parts) {
      if (node.kind !== 'dir') return wasi.ERRNO_NOTDIR
      const c = this.child(node, part)
      if (c === undefined) return wasi.ERRNO_NOENT
      node = c
    }
    return { node, path: [...parts] }
  }

  /**
   * The directory that holds the last component of `path` and that component's name, for
   * calls that create, remove or rename a name. A trailing slash demands a directory.
   */
  parent(
    root: DirNode,
    from: readonly string[],
    path: string,
    floor?: number,
  ): { dir: DirNode; dirPath: string[]; name: string; mustBeDir: boolean } | Errno {
    if (path === '') return wasi.ERRNO_NOENT
    const mustBeDir = path.endsWith('/')
    const parts = path.split('/').filter((p) => p !== '' && p !== '.')
    const name = parts.pop()
    if (name === undefined) return wasi.ERRNO_EXIST // the directory itself: "/" or "."
    if (name === '..') return wasi.ERRNO_INVAL
    const start = path.startsWith('/') ? [] : from
    const r = this.resolve(root, start, parts, true, floor)
    if (typeof r === 'number') return r
    if (r.node.kind !== 'dir') return wasi.ERRNO_NOTDIR
    return { dir: r.node, dirPath: r.path, name, mustBeDir }
  }

  // --- mutation, copy on write ---

  writableDir(dir: DirNode): DirNode {
    const current = this.cur(dir)
    if (this.owned.has(current)) return current
    const copy: DirNode = { ...current, entries: new Map(current.entries) }
    this.adopt(current, copy)
    return copy
  }

  /** A node whose metadata may change; its bytes are still shared until `writableBytes`. */
  writableNode<T extends Node>(node: T): T {
    const current = this.cur(node)
    if (this.owned.has(current)) return current
    const copy = (current.kind === 'dir' ? { ...current, entries: new Map(current.entries) } : { ...current }) as T
    this.adopt(current, copy)
    return copy
  }

  private adopt(original: Node, copy: Node): void {
    inodes.set(copy, inodeOf(original))
    this.copies.set(original, copy)
    this.owned.add(copy)
    for (const times of [this.atimes, this.mtimes, this.ctimes]) {
      const t = times.get(original)
      if (t !== undefined) times.set(copy, t)
    }
    if (original.kind === 'file') {
      const delta = this.linkDelta.get(original)
      if (delta !== undefined) this.linkDelta.set(copy as FileNode, delta)
      const base = this.ownLinks.get(original) ?? this.baseLinks.get(original)
      if (base !== undefined) this.ownLinks.set(copy as FileNode, base)
    }
  }

  /** Makes a file's bytes private with room for `minCapacity`, and returns the node to write. */
  writableBytes(file: FileNode, minCapacity: number): { node: FileNode; buffer: Uint8Array } {
    const node = this.writableNode(file)
    const size = this.size(node)
    let buffer = this.buffers.get(node)
    if (buffer === undefined || buffer.byteLength < minCapacity) {
      const grown = new Uint8Array(Math.max(minCapacity, buffer ? buffer.byteLength * 2 : size, 64))
      grown.set(this.bytes(node).subarray(0, size))
      buffer = grown
      this.buffers.set(node, buffer)
      node.data = buffer.subarray(0, size)
    }
    return { node, buffer }
  }

  bytes(file: FileNode): Uint8Array {
    const data = this.cur(file).data
    if (!(data instanceof Uint8Array)) {
      throw new Error('a lazily loaded file reached the wasi worker: load file contents before starting the run')
    }
    return data
  }

  size(file: FileNode): number {
    return this.bytes(file).byteLength
  }

  setSize(file: FileNode, size: number): FileNode {
    const { node, buffer } = this.writableBytes(file, size)
    const old = node.data as Uint8Array
    if (size > old.byteLength) buffer.fill(0, old.byteLength, size)
    node.data = buffer.subarray(0, size)
    this.touch(node)
    return node
  }

  /** Writes `data` at `offset` (growing the file with zeros as needed). */
  write(file: FileNode, offset: number, data: Uint8Array): FileNode {
    const end = offset + data.byteLength
    const { node, buffer } = this.writableBytes(file, end)
    const old = node.data as Uint8Array
    if (offset > old.byteLength) buffer.fill(0, old.byteLength, offset)
    buffer.set(data, offset)
    if (end > old.byteLength) node.data = buffer.subarray(0, end)
    this.touch(node)
    return node
  }

  /** Marks content change: mtime and ctime now. */
  touch(node: Node): void {
    const n = this.writableNode(node)
    this.keepAtime(n)
    n.mtime = nowSeconds()
    this.mtimes.delete(n)
    this.ctimes.set(n, secondsToNs(n.mtime))
  }

  /** Sets times given in nanoseconds (undefined leaves one alone); ctime becomes now. */
  setTimes(node: Node, atimeNs: bigint | undefined, mtimeNs: bigint | undefined): void {
    const n = this.writableNode(node)
    this.keepAtime(n)
    if (atimeNs !== undefined) this.atimes.set(n, atimeNs)
    if (mtimeNs !== undefined) {
      n.mtime = Number(mtimeNs) / 1e9
      this.mtimes.set(n, mtimeNs)
    }
    this.ctimes.set(n, secondsToNs(nowSeconds()))
  }

  /** An atime not set yet reads as the mtime: pin it before the mtime moves, so it stays. */
  private keepAtime(n: Node): void {
    if (!this.atimes.has(n)) this.atimes.set(n, this.mtimes.get(n) ?? secondsToNs(n.mtime))
  }

  link(dir: DirNode, name: string, node: Node): void {
    const d = this.writableDir(dir)
    d.entries.set(name, node)
    this.touch(d)
    if (node.kind === 'file') this.adjustLinks(node, +1)
  }

  unlink(dir: DirNode, name: string): Node | undefined {
    const d = this.writableDir(dir)
    const old = d.entries.get(name)
    if (old === undefined) return undefined
    d.entries.delete(name)
    this.touch(d)
    const current = this.cur(old)
    if (current.kind === 'file') this.adjustLinks(current, -1)
    return current
  }

  private adjustLinks(file: FileNode, by: number): void {
    const key = this.cur(file)
    this.linkDelta.set(key, (this.linkDelta.get(key) ?? 0) + by)
  }

  newFile(meta: Partial<Meta> = {}): FileNode {
    const node: FileNode = { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: nowSeconds(), ...meta, data: new Uint8Array(0) }
    this.owned.add(node)
    this.ownLinks.set(node, 0)
    return node
  }

  newDir(meta: Partial<Meta> = {}): DirNode {
    const node: DirNode = { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: nowSeconds(), ...meta, entries: new Map() }
    this.owned.add(node)
    return node
  }

  newSymlink(target: string): SymlinkNode {
    const node: SymlinkNode = { kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: nowSeconds(), target }
    this.owned.add(node)
    return node
  }

  // --- reading metadata ---

  stat(node: Node): Stat {
    const n = this.cur(node)
    const mtim = this.mtimes.get(n) ?? secondsToNs(n.mtime)
    let nlink = 1n
    let size = 0n
    if (n.kind === 'file') {
      nlink = BigInt(Math.max(0, (this.ownLinks.get(n) ?? this.baseLinks.get(n) ?? 1) + (this.linkDelta.get(n) ?? 0)))
      size = BigInt(this.size(n))
    } else if (n.kind === 'dir') {
      let subdirs = 0
      for (const c of n.entries.values()) if (this.cur(c).kind === 'dir') subdirs++
      nlink = BigInt(2 + subdirs)
      size = 4096n
    } else {
      size = BigInt(new TextEncoder().encode(n.target).byteLength)
    }
    const at = this.atimes.get(n)
    const ct = this.ctimes.get(n)
    return {
      ino: inodeOf(n),
      filetype: filetypeOf(n),
      nlink,
      size,
      atim: at ?? mtim,
      mtim,
      ctim: ct ?? mtim,
    }
  }

  // --- exporting what changed ---

  /** The changes as a tree that shares nothing unchanged: see DeltaNode. */
  delta(): DeltaNode {
    if (!this.changed) return { kind: 'same', path: '/' }
    // Where each image node lives in the image: an unchanged node may have moved (rename).
    const basePaths = new Map<Node, string>([[this.base, '/']])
    const visit = (dir: DirNode, prefix: string): void => {
      for (const [name, child] of dir.entries) {
        const path = `${prefix}/${name}`
        if (!basePaths.has(child)) basePaths.set(child, path)
        if (child.kind === 'dir') visit(child, path)
      }
    }
    visit(this.base, '')
    return this.deltaOf(this.base, basePaths) ?? { kind: 'same', path: '/' }
  }

  private deltaOf(original: Node, basePaths: ReadonlyMap<Node, string>): DeltaNode | undefined {
    const node = this.cur(original)
    if (node.kind !== 'dir') return this.isChanged(node) ? node : undefined
    let anyChanged = this.isChanged(node)
    const entries = new Map<string, DeltaNode>()
    for (const [name, child] of node.entries) {
      const d = this.deltaOf(child, basePaths)
      const path = basePaths.get(child)
      if (d === undefined && path !== undefined) entries.set(name, { kind: 'same', path })
      else {
        anyChanged = true
        entries.set(name, d ?? this.cur(child))
      }
    }
    if (!anyChanged && basePaths.has(original)) return undefined
    return { kind: 'dir', mode: node.mode, uid: node.uid, gid: node.gid, mtime: node.mtime, entries }
  }
}

/**
 * A run's filesystem after exit, without the unchanged parts: `same` stands for the image's
 * node at that path. Structured-clonable, so a worker can send it back cheaply.
 */
export type DeltaNode =
  | { kind: 'same'; path: string }
  | FileNode
  | SymlinkNode
  | (Meta & { kind: 'dir'; entries: Map<string, DeltaNode> })

/** Rebuilds the full tree of a run from the image tree and a delta. */
export function applyDelta(base: DirNode, delta: DeltaNode, lookup: (path: string) => Node | undefined): Node {
  if (delta.kind === 'same') {
    const n = lookup(delta.path)
    if (n === undefined) throw new Error(`the run's filesystem refers to ${delta.path}, which the image does not have`)
    return n
  }
  if (delta.kind !== 'dir') return delta
  const entries = new Map<string, Node>()
  for (const [name, child] of delta.entries) entries.set(name, applyDelta(base, child, lookup))
  return { kind: 'dir', mode: delta.mode, uid: delta.uid, gid: delta.gid, mtime: delta.mtime, entries }
}
