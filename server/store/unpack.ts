// Unpacks one layer's tar stream into an empty directory, for use as an overlayfs lowerdir.
//
// Containment: nothing is ever written outside `dest`. The directory is private to this
// process (a fresh temp dir), so the unpacker keeps an exact in-memory record of every
// path it created — the same answers lstat would give, without a syscall or a realpath per
// entry. Every entry's parent is resolved component by component against that record:
//   - `..` in an entry path or hardlink target: the layer is refused (a hostile archive);
//   - a leading `/`: stripped (GNU tar does the same), so it lands inside the layer;
//   - a symlink met on the way (absolute or relative, even one climbing with `..`) is
//     followed as the container would see it: `/` means the layer root and `..` stops at
//     it, like a chroot. A write "through" an escaping symlink thus lands inside the layer;
//   - the final component is never followed: an existing symlink there is replaced, and
//     files are created with O_EXCL, which also refuses to follow one;
//   - hardlinks must name something this layer already holds (not a directory);
//   - char/block devices are skipped (and counted) unless the caller is root AND asked for
//     them; fifos are made; whiteouts become overlayfs whiteouts;
//   - xattrs that would steer overlayfs (`*.overlay.*`) are dropped; `user.*` only when
//     unprivileged; failures to set one are counted, not fatal.

import {
  chownSync,
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  chmodSync,
  writeSync,
  constants,
} from 'node:fs'
import type { TarStreamEntry } from '../../web/oci/tar.js'
import { applyXattrs, canMakeWhiteout, makeNodes, type NodeItem, type XattrItem } from './special-files.js'

export class UnpackError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UnpackError'
  }
}

export interface UnpackOptions {
  /** Running as root: chown entries, set trusted.* xattrs. */
  privileged: boolean
  /** Create char/block device nodes (only honoured when privileged). */
  allowDevices?: boolean
  /** Where setfattr's batch file may be written (outside `dest`). */
  scratchFile: string
  /** 'auto' (default): char 0/0 devices when mknod works, else xattr whiteouts. */
  whiteouts?: 'auto' | 'xattr'
}

export type WhiteoutMode = 'chardev' | 'xattr'

export interface UnpackSummary {
  entries: number
  files: number
  dirs: number
  symlinks: number
  hardlinks: number
  fifos: number
  devices: number
  devicesSkipped: number
  whiteouts: number
  opaqueDirs: number
  absolutePathsStripped: number
  bytes: number
  chown: boolean
  whiteoutMode: WhiteoutMode
  opaqueXattrs: string[]
  xattrsSet: number
  xattrsFailed: number
  xattrsRefused: number
}

type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'whiteout'
interface Node {
  kind: Kind
  target?: string
}

interface DirMeta {
  key: string
  mode: number
  uid: number
  gid: number
  mtime: number
}

const MAX_HOPS = 40
/** Read once (reading it means setting it back: not something to do per file). */
const UMASK = (() => {
  try {
    const u = process.umask(0o022)
    process.umask(u)
    return u
  } catch {
    return 0o777 // worker threads may not set it: then always fchmod
  }
})()
/** Files up to this size are read whole (a view, or one copy when split across chunks). */
const SMALL_FILE = 1 << 20

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0
  while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off)
}
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

/** Splits a member path; refuses `..`; strips a leading `/` (reported). */
function memberParts(path: string, what: string): { parts: string[]; absolute: boolean } {
  const absolute = path.startsWith('/')
  const parts: string[] = []
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue
    if (p === '..') {
      throw new UnpackError(`layer ${what} "${path}" contains "..": refusing this layer (a hostile or broken archive)`)
    }
    parts.push(p)
  }
  return { parts, absolute }
}

export class LayerUnpacker {
  private readonly nodes = new Map<string, Node>([['', { kind: 'dir' }]])
  /** Latest metadata per directory key; applied at the end. */
  private readonly dirMeta = new Map<string, DirMeta>()
  private readonly specialMeta: DirMeta[] = []
  private readonly xattrs: XattrItem[] = []
  private readonly specials: NodeItem[] = []
  private readonly opaque = new Set<string>()
  private chown: boolean
  readonly summary: UnpackSummary

  constructor(
    private readonly dest: string,
    private readonly opts: UnpackOptions,
  ) {
    this.chown = opts.privileged
    this.summary = {
      entries: 0, files: 0, dirs: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0, devicesSkipped: 0,
      whiteouts: 0, opaqueDirs: 0, absolutePathsStripped: 0, bytes: 0, chown: opts.privileged,
      whiteoutMode: 'chardev', opaqueXattrs: [], xattrsSet: 0, xattrsFailed: 0, xattrsRefused: 0,
    }
  }

  private abs(key: string): string {
    return key === '' ? this.dest : `${this.dest}/${key}`
  }

  /**
   * Resolves directory components inside the layer, following symlinks chroot-style and
   * creating missing directories when `create`. Returns the physical key of the directory.
   */
  private resolveDir(parts: readonly string[], create: boolean, forPath: string): string {
    // Fast path: keys are physical paths, so a known directory key resolves to itself.
    const literal = parts.join('/')
    if (this.nodes.get(literal)?.kind === 'dir') return literal
    const resolved: string[] = []
    const queue = [...parts]
    let hops = 0
    while (queue.length > 0) {
      const comp = queue.shift()!
      if (comp === '' || comp === '.') continue
      if (comp === '..') {
        resolved.pop() // never above the layer root
        continue
      }
      const key = resolved.length === 0 ? comp : `${resolved.join('/')}/${comp}`
      const node = this.nodes.get(key)
      if (node === undefined || node.kind === 'whiteout') {
        if (!create) throw new UnpackError(`layer entry "${forPath}": "${key}" does not exist in this layer`)
        if (node?.kind === 'whiteout') this.nodes.delete(key)
        mkdirSync(this.abs(key), 0o755)
        this.nodes.set(key, { kind: 'dir' })
        resolved.push(comp)
      } else if (node.kind === 'dir') {
        resolved.push(comp)
      } else if (node.kind === 'symlink') {
        if (++hops > MAX_HOPS) throw new UnpackError(`layer entry "${forPath}": too many levels of symlinks`)
        const target = node.target!
        if (target.startsWith('/')) resolved.length = 0
        queue.unshift(...target.split('/'))
      } else {
        throw new UnpackError(`layer entry "${forPath}": "${key}" is not a directory, so nothing can be created below it`)
      }
    }
    return resolved.join('/')
  }

  /** Removes whatever is at `key` (a directory with its whole subtree). */
  private removeExisting(key: string, node: Node): void {
    if (node.kind === 'whiteout') {
      this.nodes.delete(key)
      return
    }
    if (node.kind === 'dir') {
      rmSync(this.abs(key), { recursive: true, force: true })
      const prefix = `${key}/`
      for (const k of [...this.nodes.keys()]) if (k.startsWith(prefix)) this.nodes.delete(k)
      this.opaque.delete(key)
    } else {
      unlinkSync(this.abs(key))
    }
    this.nodes.delete(key)
  }

  private wantXattrs(key: string, xattrs: Record<string, Uint8Array>): void {
    for (const name in xattrs) {
      // overlay's own attributes would let a layer forge whiteouts, redirects or metacopy.
      if (name.includes('.overlay.') || (!this.opts.privileged && !name.startsWith('user.'))) {
        this.summary.xattrsRefused++
        continue
      }
      this.xattrs.push({ path: key, name, value: xattrs[name]! })
    }
  }

  private doChown(fn: () => void): void {
    if (!this.chown) return
    try {
      fn()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM' && (e as NodeJS.ErrnoException).code !== 'EINVAL') throw e
      this.chown = false // e.g. root inside a user namespace without those ids mapped
      this.summary.chown = false
    }
  }

  async add(entry: TarStreamEntry): Promise<void> {
    this.summary.entries++
    const { parts, absolute } = memberParts(entry.path, 'entry')
    if (absolute) this.summary.absolutePathsStripped++
    if (parts.length === 0) {
      // "./": the layer root itself.
      if (entry.type === 'dir') this.dirMeta.set('', { key: '', mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime })
      return
    }
    const name = parts[parts.length - 1]!
    const parentKey = this.resolveDir(parts.slice(0, -1), true, entry.path)
    if (name.startsWith('.wh.')) {
      this.whiteout(parentKey, name, entry)
      return
    }
    const key = parentKey === '' ? name : `${parentKey}/${name}`
    const existing = this.nodes.get(key)
    const path = this.abs(key)
    switch (entry.type) {
      case 'dir': {
        if (existing?.kind !== 'dir') {
          if (existing) this.removeExisting(key, existing)
          mkdirSync(path, 0o755)
          this.nodes.set(key, { kind: 'dir' })
        }
        this.summary.dirs++
        this.dirMeta.set(key, { key, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime })
        this.wantXattrs(key, entry.xattrs)
        return
      }
      case 'file': {
        if (existing) this.removeExisting(key, existing)
        // Created with its final mode when the umask allows (saves an fchmod per file).
        const fd = openSync(path, WRITE_FLAGS, entry.mode & 0o777)
        try {
          if (entry.size <= SMALL_FILE) {
            // One await per file: much cheaper than an async iterator per entry.
            if (entry.size > 0) writeAll(fd, await entry.bytes())
          } else {
            for await (const chunk of entry.chunks()) writeAll(fd, chunk)
          }
          this.doChown(() => fchownSync(fd, entry.uid, entry.gid))
          // After chown, which clears setuid/setgid; needed when the umask masked bits.
          if ((entry.mode & ~UMASK) !== entry.mode || entry.mode & 0o7000) fchmodSync(fd, entry.mode)
          futimesSync(fd, entry.mtime, entry.mtime)
        } finally {
          closeSync(fd)
        }
        this.nodes.set(key, { kind: 'file' })
        this.summary.files++
        this.summary.bytes += entry.size
        this.wantXattrs(key, entry.xattrs)
        return
      }
      case 'symlink': {
        if (existing) this.removeExisting(key, existing)
        symlinkSync(entry.linkname, path)
        this.doChown(() => lchownSync(path, entry.uid, entry.gid))
        lutimesSync(path, entry.mtime, entry.mtime)
        this.nodes.set(key, { kind: 'symlink', target: entry.linkname })
        this.summary.symlinks++
        return
      }
      case 'hardlink': {
        const { parts: tparts } = memberParts(entry.linkname, 'hardlink target')
        if (tparts.length === 0) throw new UnpackError(`layer entry "${entry.path}" is a hardlink to the layer root`)
        const missing = () =>
          new UnpackError(`layer entry "${entry.path}" is a hardlink to "${entry.linkname}", which this layer does not contain: refusing this layer`)
        let tparent: string
        try {
          tparent = this.resolveDir(tparts.slice(0, -1), false, entry.path)
        } catch {
          throw missing()
        }
        const tkey = tparent === '' ? tparts[tparts.length - 1]! : `${tparent}/${tparts[tparts.length - 1]!}`
        const target = this.nodes.get(tkey)
        if (target === undefined || target.kind === 'whiteout') throw missing()
        if (target.kind === 'dir') throw new UnpackError(`layer entry "${entry.path}" is a hardlink to a directory: refusing this layer`)
        if (tkey === key) return
        if (existing) this.removeExisting(key, existing)
        linkSync(this.abs(tkey), path) // link(2) does not follow a symlink target: stays inside
        this.nodes.set(key, { ...target })
        this.summary.hardlinks++
        return
      }
      case 'fifo':
      case 'char':
      case 'block': {
        const device = entry.type !== 'fifo'
        if (device && !(this.opts.privileged && this.opts.allowDevices)) {
          this.summary.devicesSkipped++
          return
        }
        if (existing) this.removeExisting(key, existing)
        this.specials.push({
          path: key,
          type: entry.type === 'fifo' ? 'p' : entry.type === 'char' ? 'c' : 'b',
          major: entry.devmajor,
          minor: entry.devminor,
          mode: entry.mode,
        })
        this.nodes.set(key, { kind: 'other' })
        this.specialMeta.push({ key, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime })
        if (device) this.summary.devices++
        else this.summary.fifos++
        return
      }
    }
  }

  private whiteout(parentKey: string, name: string, entry: TarStreamEntry): void {
    if (name === '.wh..wh..opq') {
      this.opaque.add(parentKey)
      this.summary.opaqueDirs++
      return
    }
    const hidden = name.slice(4)
    if (hidden === '' || hidden === '.' || hidden === '..' || hidden.startsWith('.wh.')) {
      throw new UnpackError(`layer entry "${entry.path}" is not a valid whiteout: refusing this layer`)
    }
    const key = parentKey === '' ? hidden : `${parentKey}/${hidden}`
    const existing = this.nodes.get(key)
    if (existing) this.removeExisting(key, existing)
    this.nodes.set(key, { kind: 'whiteout' })
    this.summary.whiteouts++
  }

  /** Creates whiteouts, special files and xattrs, then directory metadata (deepest first). */
  finish(): UnpackSummary {
    const whiteouts = [...this.nodes].filter(([, n]) => n.kind === 'whiteout').map(([k]) => k)
    const s = this.summary
    if (whiteouts.length > 0) {
      if (this.opts.whiteouts !== 'xattr' && canMakeWhiteout(this.dest)) {
        makeNodes(this.dest, whiteouts.map((path) => ({ path, type: 'c', major: 0, minor: 0, mode: 0 })))
      } else {
        // overlayfs "xwhiteouts" (Linux 6.7+): an empty file marked by xattr, its directory marked too.
        s.whiteoutMode = 'xattr'
        const ns = this.opts.privileged ? 'trusted' : 'user'
        const dirs = new Set<string>()
        for (const key of whiteouts) {
          closeSync(openSync(this.abs(key), WRITE_FLAGS, 0o000))
          this.xattrs.push({ path: key, name: `${ns}.overlay.whiteout`, value: new Uint8Array(0) })
          dirs.add(key.includes('/') ? key.slice(0, key.lastIndexOf('/')) : '')
        }
        for (const d of dirs) {
          if (!this.opaque.has(d)) this.xattrs.push({ path: d === '' ? '.' : d, name: `${ns}.overlay.opaque`, value: new TextEncoder().encode('x') })
        }
      }
    }
    if (this.specials.length > 0) {
      makeNodes(this.dest, this.specials)
      for (const m of this.specialMeta) {
        this.doChown(() => chownSync(this.abs(m.key), m.uid, m.gid))
        utimesSync(this.abs(m.key), m.mtime, m.mtime)
      }
    }
    // Opaque directories: trusted.* for a root overlay mount, user.* for one in a user
    // namespace (userxattr); root writes both so either kind of mount reads the layer.
    s.opaqueXattrs = this.opts.privileged ? ['trusted.overlay.opaque', 'user.overlay.opaque'] : ['user.overlay.opaque']
    for (const d of this.opaque) {
      if (this.nodes.get(d)?.kind !== 'dir') continue
      for (const name of s.opaqueXattrs) this.xattrs.push({ path: d === '' ? '.' : d, name, value: new TextEncoder().encode('y') })
    }
    const x = applyXattrs(this.dest, this.xattrs, this.opts.scratchFile)
    s.xattrsSet = x.set
    s.xattrsFailed = x.failed
    // Directory metadata last: children changed their parents' mtimes, and a read-only mode
    // would have stopped us writing into them.
    for (const m of [...this.dirMeta.values()].reverse()) {
      if (this.nodes.get(m.key)?.kind !== 'dir') continue
      const p = this.abs(m.key)
      this.doChown(() => chownSync(p, m.uid, m.gid))
      chmodSync(p, m.mode)
      utimesSync(p, m.mtime, m.mtime)
    }
    if (!this.dirMeta.has('')) chmodSync(this.dest, 0o755)
    return s
  }
}

/** Unpacks a whole (uncompressed) tar entry stream into `dest`, which must be empty and private. */
export async function unpackEntries(
  entries: AsyncIterable<TarStreamEntry>,
  dest: string,
  opts: UnpackOptions,
): Promise<UnpackSummary> {
  const unpacker = new LayerUnpacker(dest, opts)
  for await (const entry of entries) await unpacker.add(entry)
  return unpacker.finish()
}
