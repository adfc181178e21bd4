// The image's RootFs as v86's 9p filesystem, and back.
//
// v86's FS (lib/filesystem.js) keeps metadata in JS and fetches base-file contents through a
// `storage` object by key. We give it the RootFs's own FileData as that storage: nothing is
// copied up front, a lazily-loaded file is fetched on first read and dropped when the guest
// closes it, and files the guest writes live in v86's `inodedata`. Reading back walks v86's
// inodes and reuses the image's FileData for everything the guest did not touch.

import { type DirNode, type FileData, type FileNode, type Node, RootFs, fileSize } from '../../oci/rootfs.js'
import type { ContentMemo } from './file-prefetch.js'

const S_IFMT = 0o170000
const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000
/** v86's inode status for "contents are in storage, not in inodedata". */
const STATUS_ON_STORAGE = 2

/** The parts of v86's FS inode we read (property names survive its minifier). */
export interface V86Inode {
  direntries: Map<string, number>
  mode: number
  uid: number
  gid: number
  mtime: number
  size: number
  status: number
  sha256sum: string
  symlink: string
}

/** The parts of v86's FS (emulator.fs9p) we use. */
export interface V86Fs {
  inodes: V86Inode[]
  inodedata: Record<number, Uint8Array>
  storage: V86FileStorage
  load_from_json(fs: Fs9pJson): void
}

/** v86's FileStorageInterface. */
export interface V86FileStorage {
  read(key: string, offset: number, count: number, fileSize: number): Promise<Uint8Array | null>
  cache(key: string, data: Uint8Array): Promise<void>
  uncache(key: string): void
}

/** fs2json version 3: [name, size, mtime, mode, uid, gid, children | storage key | symlink target]. */
type Fs9pEntry = [string, number, number, number, number, number, Fs9pEntry[] | string]
export interface Fs9pJson {
  version: 3
  size: number
  fsroot: Fs9pEntry[]
}

/** Serves file contents to v86 straight from the image's FileData, keyed per FileNode. */
export class RootFsStorage implements V86FileStorage {
  private readonly byKey = new Map<string, FileData>()
  private readonly keys = new Map<FileNode, string>()
  private readonly loaded = new Map<string, Promise<Uint8Array>>()
  private readonly pathOf = new Map<string, string>()
  private readonly readKeys = new Set<string>()

  /** `memo`: lazily-loaded contents kept beyond a close (and across runs), see file-prefetch.ts. */
  constructor(private readonly memo?: ContentMemo) {}

  /** One key per FileNode, so hardlinked names share contents (and a loaded copy). */
  keyFor(node: FileNode, path?: string): string {
    let key = this.keys.get(node)
    if (key === undefined) {
      key = `f${this.keys.size}`
      this.keys.set(node, key)
      this.byKey.set(key, node.data)
      if (path !== undefined) this.pathOf.set(key, path)
    }
    return key
  }

  /** Image paths of the lazily-loaded files the guest has read so far, in first-read order. */
  readPaths(): string[] {
    return [...this.readKeys].map((k) => this.pathOf.get(k)).filter((p): p is string => p !== undefined)
  }

  dataFor(key: string): FileData | undefined {
    return this.byKey.get(key)
  }

  async read(key: string, offset: number, count: number, size: number): Promise<Uint8Array | null> {
    const data = this.byKey.get(key)
    if (data === undefined) return null
    let bytes: Uint8Array
    if (data instanceof Uint8Array) {
      bytes = data
    } else {
      let loading = this.loaded.get(key)
      if (loading === undefined) {
        this.readKeys.add(key)
        loading = this.memo ? this.memo.load(data) : data.load()
        this.loaded.set(key, loading)
        loading.catch(() => this.loaded.delete(key)) // a failed fetch may succeed next time
      }
      bytes = await loading
    }
    // v86 asks for the whole file when the guest writes to it, then writes into what it got:
    // hand it a copy, or the guest would scribble on the image every other run shares.
    if (offset === 0 && count >= size) return bytes.slice(0, size)
    return bytes.subarray(offset, offset + count)
  }

  async cache(): Promise<void> {}

  /** The guest closed the file: drop a lazily-loaded copy, the source still has it. */
  uncache(key: string): void {
    this.loaded.delete(key)
  }
}

/** The image's tree as v86's JSON, registering each file's contents with `storage`. */
export function toFs9pJson(root: RootFs, storage: RootFsStorage): Fs9pJson {
  let size = 0
  const entries = (dir: DirNode, at: string): Fs9pEntry[] => {
    const out: Fs9pEntry[] = []
    for (const name of [...dir.entries.keys()].sort()) {
      const node = dir.entries.get(name)!
      const head = [name, 0, node.mtime, node.mode & 0o7777, node.uid, node.gid] as const
      switch (node.kind) {
        case 'dir':
          out.push([head[0], 0, head[2], head[3] | S_IFDIR, head[4], head[5], entries(node, `${at}${name}/`)])
          break
        case 'file': {
          const bytes = fileSize(node.data)
          size += bytes
          out.push([head[0], bytes, head[2], head[3] | S_IFREG, head[4], head[5], storage.keyFor(node, `${at}${name}`)])
          break
        }
        case 'symlink':
          out.push([head[0], node.target.length, head[2], head[3] | S_IFLNK, head[4], head[5], node.target])
          break
      }
    }
    return out
  }
  return { version: 3, size, fsroot: entries(root.root, '/') }
}

/** Loads the image into an (empty) v86 FS; the root directory takes the image root's metadata. */
export function loadImage(fs: V86Fs, root: RootFs, memo?: ContentMemo): RootFsStorage {
  const storage = new RootFsStorage(memo)
  fs.storage = storage
  fs.load_from_json(toFs9pJson(root, storage))
  const top = fs.inodes[0]
  if (top) {
    top.mode = S_IFDIR | (root.root.mode & 0o7777)
    top.uid = root.root.uid
    top.gid = root.root.gid
    top.mtime = root.root.mtime
  }
  return storage
}

/**
 * The guest's view of the filesystem now, as a RootFs. Untouched files share the image's
 * FileData; written ones are copied out of v86 so later guest writes cannot change them.
 * Names that share a v86 inode (hardlinks) share one FileNode.
 */
export function readBack(fs: V86Fs, storage: RootFsStorage): RootFs {
  const files = new Map<number, FileNode>()
  const meta = (inode: V86Inode) => ({ mode: inode.mode & 0o7777, uid: inode.uid, gid: inode.gid, mtime: inode.mtime })
  const visit = (index: number, seen: Set<number>): DirNode => {
    const inode = fs.inodes[index]!
    const dir: DirNode = { kind: 'dir', ...meta(inode), entries: new Map() }
    for (const [name, child] of inode.direntries) {
      if (name === '.' || name === '..') continue
      const node = fs.inodes[child]
      if (!node) continue
      const type = node.mode & S_IFMT
      let out: Node | undefined
      if (type === S_IFDIR) {
        if (seen.has(child)) continue // a directory cycle would be v86's bug; don't loop on it
        out = visit(child, new Set([...seen, child]))
      } else if (type === S_IFLNK) {
        out = { kind: 'symlink', ...meta(node), target: node.symlink }
      } else if (type === S_IFREG) {
        out = files.get(child)
        if (!out) {
          const written = fs.inodedata[child]
          const base = node.status === STATUS_ON_STORAGE ? storage.dataFor(node.sha256sum) : undefined
          const data: FileData = written ? written.slice(0, node.size) : (base ?? new Uint8Array(node.size))
          out = { kind: 'file', ...meta(node), data }
          files.set(child, out)
        }
      }
      // Device nodes, fifos and sockets the guest made have no RootFs form: left out.
      if (out) dir.entries.set(name, out)
    }
    return dir
  }
  return new RootFs(visit(0, new Set([0])))
}
