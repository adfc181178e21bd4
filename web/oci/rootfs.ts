// RootFs: one image's layers merged into a single in-memory tree (whiteouts already
// applied). The browser runtimes (wasi, v86) build their filesystems from it, and the
// UI reads it to show what a run changed. No DOM and no Node APIs: it runs everywhere.

export interface Meta {
  /** Permission bits plus setuid/setgid/sticky (07777); the file type lives in `kind`. */
  mode: number
  uid: number
  gid: number
  /** Modification time, seconds since the epoch. */
  mtime: number
}

/**
 * A regular file's bytes. Usually a view into a decompressed layer (no copy), so an image
 * is not held twice; `load` lets a caller serve contents lazily (fetched on first read).
 */
export type FileData = Uint8Array | { readonly size: number; load(): Promise<Uint8Array> }

export interface FileNode extends Meta {
  kind: 'file'
  data: FileData
}

export interface DirNode extends Meta {
  kind: 'dir'
  entries: Map<string, Node>
}

export interface SymlinkNode extends Meta {
  kind: 'symlink'
  target: string
}

/** Hardlinks are one FileNode object reachable under several names. */
export type Node = FileNode | DirNode | SymlinkNode

export function fileSize(data: FileData): number {
  return data instanceof Uint8Array ? data.byteLength : data.size
}

export async function readFile(node: FileNode): Promise<Uint8Array> {
  return node.data instanceof Uint8Array ? node.data : await node.data.load()
}

export class RootFsError extends Error {
  constructor(
    message: string,
    readonly code: 'ENOENT' | 'ENOTDIR' | 'EEXIST' | 'EINVAL' | 'ELOOP',
  ) {
    super(message)
    this.name = 'RootFsError'
  }
}

const MAX_SYMLINK_HOPS = 40

/** Splits a path into clean components; `..` never climbs above the root. */
export function splitPath(path: string): string[] {
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return parts
}

export class RootFs {
  readonly root: DirNode

  constructor(root?: DirNode) {
    this.root = root ?? { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, entries: new Map() }
  }

  /**
   * Finds the node at `path`. Symlinks in the middle of the path are always followed,
   * resolved inside this tree (an absolute target means this tree's root, never the host's);
   * the last component is followed only when `follow` is true.
   */
  lookup(path: string, follow = true): Node | undefined {
    try {
      return this.resolve(splitPath(path), follow, 0)
    } catch (e) {
      if (e instanceof RootFsError) return undefined
      throw e
    }
  }

  /** Like lookup, but throws a RootFsError saying what is missing. */
  get(path: string, follow = true): Node {
    return this.resolve(splitPath(path), follow, 0)
  }

  /** The parent directory of `path` (symlinks followed) and the final name. */
  parentOf(path: string): { dir: DirNode; name: string } {
    const parts = splitPath(path)
    const name = parts.pop()
    if (name === undefined) throw new RootFsError(`"${path}" has no parent: it is the root`, 'EINVAL')
    const dir = this.resolve(parts, true, 0)
    if (dir.kind !== 'dir') throw new RootFsError(`"${parts.join('/')}" is not a directory`, 'ENOTDIR')
    return { dir, name }
  }

  /** Creates missing directories along `path` (like mkdir -p) and returns the last one. */
  mkdirp(path: string, meta: Partial<Meta> = {}): DirNode {
    let dir = this.root
    const walked: string[] = []
    for (const part of splitPath(path)) {
      walked.push(part)
      let next = dir.entries.get(part)
      if (next?.kind === 'symlink') next = this.resolve(walked, true, 0)
      if (next === undefined) {
        next = { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, ...meta, entries: new Map() }
        dir.entries.set(part, next)
      }
      if (next.kind !== 'dir') throw new RootFsError(`"/${walked.join('/')}" exists and is not a directory`, 'ENOTDIR')
      dir = next
    }
    return dir
  }

  /** Depth-first walk in sorted name order: deterministic, so digests built from it are too. */
  *walk(dir: DirNode = this.root, prefix = ''): Generator<[path: string, node: Node]> {
    for (const name of [...dir.entries.keys()].sort()) {
      const node = dir.entries.get(name)!
      const path = `${prefix}/${name}`
      yield [path, node]
      if (node.kind === 'dir') yield* this.walk(node, path)
    }
  }

  private resolve(parts: readonly string[], followLast: boolean, hops: number): Node {
    let node: Node = this.root
    const walked: string[] = []
    for (let i = 0; i < parts.length; i++) {
      if (node.kind !== 'dir') throw new RootFsError(`"/${walked.join('/')}" is not a directory`, 'ENOTDIR')
      const child: Node | undefined = node.entries.get(parts[i]!)
      if (child === undefined) throw new RootFsError(`"/${[...walked, parts[i]].join('/')}" does not exist`, 'ENOENT')
      const isLast = i === parts.length - 1
      if (child.kind === 'symlink' && (!isLast || followLast)) {
        if (hops >= MAX_SYMLINK_HOPS) throw new RootFsError(`too many symlinks resolving "/${parts.join('/')}"`, 'ELOOP')
        const base = child.target.startsWith('/') ? [] : walked
        const rest = parts.slice(i + 1)
        return this.resolve(splitPath([...base, child.target, ...rest].join('/')), followLast, hops + 1)
      }
      walked.push(parts[i]!)
      node = child
    }
    return node
  }
}
