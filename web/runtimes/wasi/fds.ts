// File descriptors of a WASI run: the shim's Fd base class, implemented over a FsView
// (files and directories of the run's copy-on-write tree) and over the run's stdio.
// The shim's WASI class marshals fd_read/fd_write/fd_seek/… through these methods;
// wasi-host.ts handles the path_* calls itself.

import { Fd, wasi } from '@bjorn3/browser_wasi_shim'
import type { DirNode, FileNode } from '../../oci/rootfs.js'
import { nowSeconds, type FsView } from './fs-view.js'
import type { StdinReader } from './stdin-channel.js'

export const ALL_RIGHTS = (1n << 29n) - 1n
const SEEK_RIGHTS = BigInt(wasi.RIGHTS_FD_SEEK | wasi.RIGHTS_FD_TELL)

/** The rights that mean something on a regular file (what wasmtime reports for one). */
export const FILE_RIGHTS = BigInt(
  wasi.RIGHTS_FD_DATASYNC | wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_SEEK | wasi.RIGHTS_FD_FDSTAT_SET_FLAGS | wasi.RIGHTS_FD_SYNC |
    wasi.RIGHTS_FD_TELL | wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_ADVISE | wasi.RIGHTS_FD_ALLOCATE | wasi.RIGHTS_FD_FILESTAT_GET |
    wasi.RIGHTS_FD_FILESTAT_SET_SIZE | wasi.RIGHTS_FD_FILESTAT_SET_TIMES | wasi.RIGHTS_POLL_FD_READWRITE,
)

/**
 * The rights of a directory: the path_* calls, never FD_READ/FD_WRITE (a directory opened
 * for writing is EISDIR, so a program that reopens a directory with the rights it reports
 * must not ask for writing) and never FD_FILESTAT_SET_SIZE.
 */
export const DIR_RIGHTS = BigInt(
  wasi.RIGHTS_PATH_CREATE_DIRECTORY | wasi.RIGHTS_PATH_CREATE_FILE | wasi.RIGHTS_PATH_LINK_SOURCE | wasi.RIGHTS_PATH_LINK_TARGET |
    wasi.RIGHTS_PATH_OPEN | wasi.RIGHTS_FD_READDIR | wasi.RIGHTS_PATH_READLINK | wasi.RIGHTS_PATH_RENAME_SOURCE |
    wasi.RIGHTS_PATH_RENAME_TARGET | wasi.RIGHTS_PATH_SYMLINK | wasi.RIGHTS_PATH_REMOVE_DIRECTORY | wasi.RIGHTS_PATH_UNLINK_FILE |
    wasi.RIGHTS_PATH_FILESTAT_GET | wasi.RIGHTS_PATH_FILESTAT_SET_SIZE | wasi.RIGHTS_PATH_FILESTAT_SET_TIMES |
    wasi.RIGHTS_FD_FILESTAT_GET | wasi.RIGHTS_FD_FILESTAT_SET_TIMES | wasi.RIGHTS_FD_FDSTAT_SET_FLAGS,
)

/** What a directory hands down to what is opened through it. */
export const INHERITABLE_RIGHTS = FILE_RIGHTS | DIR_RIGHTS

/** Rights an fd holds; fd_fdstat_set_rights may only take some away. */
export interface HeldRights {
  rightsBase: bigint
  rightsInheriting: bigint
}

function shrinkRights(fd: HeldRights, base: bigint, inheriting: bigint): number {
  if ((base & ~fd.rightsBase) !== 0n || (inheriting & ~fd.rightsInheriting) !== 0n) return wasi.ERRNO_NOTCAPABLE
  fd.rightsBase = base
  fd.rightsInheriting = inheriting
  return 0
}

export function has(fd: HeldRights, right: number): boolean {
  return (fd.rightsBase & BigInt(right)) !== 0n
}

function fdstat(filetype: number, flags: number, rights: bigint): wasi.Fdstat {
  const s = new wasi.Fdstat(filetype, flags)
  s.fs_rights_base = rights
  s.fs_rights_inherited = rights
  return s
}

/** Decodes fst_flags into seconds (or undefined to leave a time alone). */
export function timesFromFlags(atim: bigint, mtim: bigint, flags: number): { atime?: bigint; mtime?: bigint } | number {
  if ((flags & wasi.FSTFLAGS_ATIM) && (flags & wasi.FSTFLAGS_ATIM_NOW)) return wasi.ERRNO_INVAL
  if ((flags & wasi.FSTFLAGS_MTIM) && (flags & wasi.FSTFLAGS_MTIM_NOW)) return wasi.ERRNO_INVAL
  const now = BigInt(Math.round(nowSeconds() * 1e9))
  const out: { atime?: bigint; mtime?: bigint } = {}
  if (flags & wasi.FSTFLAGS_ATIM_NOW) out.atime = now
  else if (flags & wasi.FSTFLAGS_ATIM) out.atime = atim
  if (flags & wasi.FSTFLAGS_MTIM_NOW) out.mtime = now
  else if (flags & wasi.FSTFLAGS_MTIM) out.mtime = mtim
  return out
}

export class FileFd extends Fd implements HeldRights {
  position = 0
  rightsBase: bigint
  rightsInheriting = 0n
  /** Flags fd_fdstat_get reports; only APPEND changes behaviour (the others are no-ops on memory). */
  flags: number
  constructor(
    readonly view: FsView,
    /** The node as first opened; the view maps it to its current copy. */
    readonly node: FileNode,
    readable: boolean,
    writable: boolean,
    flags: number,
    /** The opening directory's inheriting rights: a file never holds more. */
    inherited: bigint = INHERITABLE_RIGHTS,
  ) {
    super()
    let rights = FILE_RIGHTS & inherited
    if (!readable) rights &= ~BigInt(wasi.RIGHTS_FD_READ)
    if (!writable) rights &= ~BigInt(wasi.RIGHTS_FD_WRITE)
    this.rightsBase = rights
    this.flags = flags
  }

  get readable(): boolean {
    return has(this, wasi.RIGHTS_FD_READ)
  }
  get writable(): boolean {
    return has(this, wasi.RIGHTS_FD_WRITE)
  }
  get append(): boolean {
    return (this.flags & wasi.FDFLAGS_APPEND) !== 0
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    const s = fdstat(wasi.FILETYPE_REGULAR_FILE, this.flags, this.rightsBase)
    s.fs_rights_inherited = this.rightsInheriting
    return { ret: 0, fdstat: s }
  }

  override fd_fdstat_set_rights(base: bigint, inheriting: bigint): number {
    return shrinkRights(this, base, inheriting)
  }

  override fd_fdstat_set_flags(flags: number): number {
    if (!has(this, wasi.RIGHTS_FD_FDSTAT_SET_FLAGS)) return wasi.ERRNO_NOTCAPABLE
    this.flags = flags
    return 0
  }

  override fd_read(size: number): { ret: number; data: Uint8Array } {
    if (!this.readable) return { ret: wasi.ERRNO_BADF, data: new Uint8Array() }
    const data = this.view.bytes(this.node).slice(this.position, this.position + size)
    this.position += data.byteLength
    return { ret: 0, data }
  }

  override fd_pread(size: number, offset: bigint): { ret: number; data: Uint8Array } {
    if (!this.readable) return { ret: wasi.ERRNO_BADF, data: new Uint8Array() }
    const at = Number(offset)
    return { ret: 0, data: this.view.bytes(this.node).slice(at, at + size) }
  }

  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    if (!this.writable) return { ret: wasi.ERRNO_BADF, nwritten: 0 }
    if (this.append) this.position = this.view.size(this.node)
    this.view.write(this.node, this.position, data)
    this.position += data.byteLength
    return { ret: 0, nwritten: data.byteLength }
  }

  override fd_pwrite(data: Uint8Array, offset: bigint): { ret: number; nwritten: number } {
    if (!this.writable) return { ret: wasi.ERRNO_BADF, nwritten: 0 }
    // POSIX leaves pwrite on an O_APPEND file to the system; Linux appends, and so do we.
    const at = this.append ? this.view.size(this.node) : Number(offset)
    this.view.write(this.node, at, data)
    return { ret: 0, nwritten: data.byteLength }
  }

  override fd_seek(offset: bigint, whence: number): { ret: number; offset: bigint } {
    if (!has(this, wasi.RIGHTS_FD_SEEK) && !(whence === wasi.WHENCE_CUR && offset === 0n && has(this, wasi.RIGHTS_FD_TELL))) {
      return { ret: wasi.ERRNO_NOTCAPABLE, offset: 0n }
    }
    let base: number
    switch (whence) {
      case wasi.WHENCE_SET:
        base = 0
        break
      case wasi.WHENCE_CUR:
        base = this.position
        break
      case wasi.WHENCE_END:
        base = this.view.size(this.node)
        break
      default:
        return { ret: wasi.ERRNO_INVAL, offset: BigInt(this.position) }
    }
    const next = base + Number(offset)
    if (next < 0) return { ret: wasi.ERRNO_INVAL, offset: BigInt(this.position) }
    this.position = next
    return { ret: 0, offset: BigInt(next) }
  }

  override fd_tell(): { ret: number; offset: bigint } {
    if (!has(this, wasi.RIGHTS_FD_TELL)) return { ret: wasi.ERRNO_NOTCAPABLE, offset: 0n }
    return { ret: 0, offset: BigInt(this.position) }
  }

  override fd_filestat_set_size(size: bigint): number {
    if (!has(this, wasi.RIGHTS_FD_FILESTAT_SET_SIZE)) return wasi.ERRNO_NOTCAPABLE
    if (!this.writable) return wasi.ERRNO_BADF
    this.view.setSize(this.node, Number(size))
    return 0
  }

  override fd_allocate(offset: bigint, len: bigint): number {
    if (!has(this, wasi.RIGHTS_FD_ALLOCATE)) return wasi.ERRNO_NOTCAPABLE
    if (!this.writable) return wasi.ERRNO_BADF
    const end = Number(offset + len)
    if (end > this.view.size(this.node)) this.view.setSize(this.node, end)
    return 0
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, flags: number): number {
    const t = timesFromFlags(atim, mtim, flags)
    if (typeof t === 'number') return t
    this.view.setTimes(this.node, t.atime, t.mtime)
    return 0
  }
}

export class DirFd extends Fd implements HeldRights {
  /** Names listed by the last fd_readdir from cookie 0, so later cookies index a stable list. */
  listing: { name: string; ino: bigint; type: number }[] | undefined
  rightsBase: bigint
  rightsInheriting: bigint
  constructor(
    readonly view: FsView,
    /** The root of the mount this directory lives in (`..` and absolute symlinks stop there). */
    readonly mountRoot: DirNode,
    /** Components from the mount root to this directory. */
    readonly path: readonly string[],
    readonly node: DirNode,
    /** Set for preopened directories: the guest path they are mapped at. */
    readonly preopenName?: string,
    /** The opening directory's inheriting rights (all of them for a preopen). */
    inherited: bigint = INHERITABLE_RIGHTS,
    /**
     * Paths through this fd stay below it, as in wasmtime: `..` above it, absolute paths and
     * absolute symlinks are NOTCAPABLE. Host directories are confined; an image's root is
     * a chroot instead (its absolute symlinks are its own).
     */
    readonly confined = false,
  ) {
    super()
    this.rightsBase = DIR_RIGHTS & inherited
    this.rightsInheriting = inherited
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    const s = fdstat(wasi.FILETYPE_DIRECTORY, 0, this.rightsBase)
    s.fs_rights_inherited = this.rightsInheriting
    return { ret: 0, fdstat: s }
  }

  override fd_fdstat_set_rights(base: bigint, inheriting: bigint): number {
    return shrinkRights(this, base, inheriting)
  }

  override fd_fdstat_set_flags(): number {
    return 0
  }

  override fd_prestat_get(): { ret: number; prestat: wasi.Prestat | null } {
    if (this.preopenName === undefined) return { ret: wasi.ERRNO_BADF, prestat: null }
    return { ret: 0, prestat: wasi.Prestat.dir(this.preopenName) }
  }

  override fd_read(): { ret: number; data: Uint8Array } {
    return { ret: wasi.ERRNO_ISDIR, data: new Uint8Array() }
  }

  override fd_pread(): { ret: number; data: Uint8Array } {
    return { ret: wasi.ERRNO_ISDIR, data: new Uint8Array() }
  }

  override fd_write(): { ret: number; nwritten: number } {
    return { ret: wasi.ERRNO_BADF, nwritten: 0 }
  }

  override fd_pwrite(): { ret: number; nwritten: number } {
    return { ret: wasi.ERRNO_BADF, nwritten: 0 }
  }

  override fd_seek(): { ret: number; offset: bigint } {
    return { ret: wasi.ERRNO_ISDIR, offset: 0n }
  }

  override fd_tell(): { ret: number; offset: bigint } {
    return { ret: wasi.ERRNO_ISDIR, offset: 0n }
  }

  override fd_allocate(): number {
    return wasi.ERRNO_BADF
  }

  override fd_filestat_set_size(): number {
    return wasi.ERRNO_ISDIR
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, flags: number): number {
    const t = timesFromFlags(atim, mtim, flags)
    if (typeof t === 'number') return t
    this.view.setTimes(this.node, t.atime, t.mtime)
    return 0
  }
}

/** Character-device-like stdio: a tty reports no seek rights, which is how wasi-libc's isatty() decides. */
function stdioStat(tty: boolean): wasi.Fdstat {
  return tty
    ? fdstat(wasi.FILETYPE_CHARACTER_DEVICE, 0, ALL_RIGHTS & ~SEEK_RIGHTS)
    : fdstat(wasi.FILETYPE_UNKNOWN, 0, ALL_RIGHTS & ~SEEK_RIGHTS)
}

export class StdinFd extends Fd {
  constructor(
    readonly reader: StdinReader | undefined,
    readonly tty: boolean,
  ) {
    super()
  }
  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    return { ret: 0, fdstat: stdioStat(this.tty) }
  }
  override fd_read(size: number): { ret: number; data: Uint8Array } {
    if (this.reader === undefined) return { ret: 0, data: new Uint8Array() }
    return { ret: 0, data: this.reader.read(size) }
  }
  override fd_seek(): { ret: number; offset: bigint } {
    return { ret: wasi.ERRNO_SPIPE, offset: 0n }
  }
  override fd_write(): { ret: number; nwritten: number } {
    return { ret: wasi.ERRNO_BADF, nwritten: 0 }
  }
  ready(): boolean {
    return this.reader === undefined || this.reader.ready()
  }
}

export class OutputFd extends Fd {
  constructor(
    private readonly sink: (data: Uint8Array) => void,
    readonly tty: boolean,
  ) {
    super()
  }
  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    return { ret: 0, fdstat: stdioStat(this.tty) }
  }
  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    const n = data.byteLength // read before the sink, which may transfer the buffer away
    this.sink(data)
    return { ret: 0, nwritten: n }
  }
  override fd_read(): { ret: number; data: Uint8Array } {
    return { ret: wasi.ERRNO_BADF, data: new Uint8Array() }
  }
  override fd_seek(): { ret: number; offset: bigint } {
    return { ret: wasi.ERRNO_SPIPE, offset: 0n }
  }
}
