// File descriptors of a WASI run: the shim's Fd base class, implemented over a FsView
// (files and directories of the run's copy-on-write tree) and over the run's stdio.
// The shim's WASI class marshals fd_read/fd_write/fd_seek/… through these methods;
// wasi-host.ts handles the path_* calls itself.

import { Fd, wasi } from '@bjorn3/browser_wasi_shim'
import type { DirNode, FileNode } from '../../oci/rootfs.js'
import { nowSeconds, type FsView } from './fs-view.js'
import type { StdinReader } from './stdin-channel.js'

export const ALL_RIGHTS = (1n << 30n) - 1n
const SEEK_RIGHTS = BigInt(wasi.RIGHTS_FD_SEEK | wasi.RIGHTS_FD_TELL)

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

export class FileFd extends Fd {
  position = 0
  constructor(
    readonly view: FsView,
    /** The node as first opened; the view maps it to its current copy. */
    readonly node: FileNode,
    readonly readable: boolean,
    readonly writable: boolean,
    public append: boolean,
  ) {
    super()
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    let rights = ALL_RIGHTS
    if (!this.readable) rights &= ~BigInt(wasi.RIGHTS_FD_READ)
    if (!this.writable) rights &= ~BigInt(wasi.RIGHTS_FD_WRITE)
    return { ret: 0, fdstat: fdstat(wasi.FILETYPE_REGULAR_FILE, this.append ? wasi.FDFLAGS_APPEND : 0, rights) }
  }

  override fd_fdstat_set_rights(): number {
    return 0 // rights only ever shrink, and this engine does not enforce them beyond read/write
  }

  override fd_fdstat_set_flags(flags: number): number {
    this.append = (flags & wasi.FDFLAGS_APPEND) !== 0
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
    return { ret: 0, offset: BigInt(this.position) }
  }

  override fd_filestat_set_size(size: bigint): number {
    if (!this.writable) return wasi.ERRNO_BADF
    this.view.setSize(this.node, Number(size))
    return 0
  }

  override fd_allocate(offset: bigint, len: bigint): number {
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

export class DirFd extends Fd {
  /** Names listed by the last fd_readdir from cookie 0, so later cookies index a stable list. */
  listing: { name: string; ino: bigint; type: number }[] | undefined
  constructor(
    readonly view: FsView,
    /** The root of the mount this directory lives in (`..` and absolute symlinks stop there). */
    readonly mountRoot: DirNode,
    /** Components from the mount root to this directory. */
    readonly path: readonly string[],
    readonly node: DirNode,
    /** Set for preopened directories: the guest path they are mapped at. */
    readonly preopenName?: string,
  ) {
    super()
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    return { ret: 0, fdstat: fdstat(wasi.FILETYPE_DIRECTORY, 0, ALL_RIGHTS) }
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

  override fd_seek(): { ret: number; offset: bigint } {
    return { ret: wasi.ERRNO_ISDIR, offset: 0n }
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
