// The WASI preview1 imports of a run: the shim's WASI class (argument marshalling for the
// fd_* calls, fd table, start/proc_exit), with the calls it gets wrong replaced: every
// path_* call (symlinks, POSIX errors, rename, links), fd_readdir cookies, filestat layout
// (the shim writes the timestamps at wrong offsets), poll_oneoff (several subscriptions,
// correct clock flags, stdin readiness, sleeping in Atomics.wait instead of spinning),
// UTF-8 argument sizes, CPU clocks, and the sock_* calls on preopened listening sockets
// (socket-fds.ts; errno instead of the shim's throws on anything else).
// Rights live on the fds (fds.ts); paths through a confined fd (a host directory) stay
// below it, as wasmtime confines preopens. README.md lists every difference and its reason.

import { WASI, wasi, type Fd } from '@bjorn3/browser_wasi_shim'
import type { DirNode, Node } from '../../oci/rootfs.js'
import { DirFd, FileFd, OutputFd, StdinFd, has, timesFromFlags } from './fds.js'
import type { FsView, Stat } from './fs-view.js'
import { ListenerFd, RIFLAGS_RECV_PEEK, RIFLAGS_RECV_WAITALL, SocketFd, type SocketChannel } from './socket-fds.js'
import type { StopWatcher } from './stop-signal.js'

type Imports = Record<string, (...args: never[]) => unknown>

/** lookupflags: follow a symlink in the last component (the shim does not export it). */
const LOOKUP_SYMLINK_FOLLOW = 1

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

export class WasiHost extends WASI {
  private readonly startedAt = performance.now()

  constructor(
    args: string[],
    env: string[],
    fds: Fd[],
    private readonly stop: StopWatcher,
    /** The run's socket channel when it was given listeners. */
    private readonly sockets?: SocketChannel,
  ) {
    super(args, env, fds, { debug: false })
    Object.assign(this.wasiImport, this.overrides(this.wasiImport.fd_read as Imports[string], this.wasiImport.fd_write as Imports[string]))
    // Every call first honours a stop request: the run ends with its files (stop-signal.ts).
    this.wasiImport = stop.guard(this.wasiImport)
  }

  private get memory(): WebAssembly.Memory {
    return this.inst.exports.memory
  }
  private view(): DataView {
    return new DataView(this.memory.buffer)
  }
  private bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer)
  }
  private str(ptr: number, len: number): string {
    return textDecoder.decode(this.bytes().subarray(ptr, ptr + len))
  }
  private dirFd(fd: number): DirFd | number {
    const f = this.fds[fd]
    if (f === undefined) return wasi.ERRNO_BADF
    if (!(f instanceof DirFd)) return wasi.ERRNO_NOTDIR
    return f
  }

  private writeFilestat(ptr: number, s: Stat): void {
    const v = this.view()
    v.setBigUint64(ptr, 0n, true) // dev
    v.setBigUint64(ptr + 8, s.ino, true)
    v.setUint8(ptr + 16, s.filetype)
    v.setBigUint64(ptr + 24, s.nlink, true)
    v.setBigUint64(ptr + 32, s.size, true)
    v.setBigUint64(ptr + 40, s.atim, true)
    v.setBigUint64(ptr + 48, s.mtim, true)
    v.setBigUint64(ptr + 56, s.ctim, true)
  }

  /** How deep `..` may climb from `dir`: nowhere above it when its tree is confined. */
  private floor(dir: DirFd): number | undefined {
    return dir.confined ? dir.path.length : undefined
  }

  private lookup(dir: DirFd, path: string, follow: boolean): { node: Node; path: string[] } | number {
    if (path === '') return wasi.ERRNO_NOENT
    if (dir.confined && path.startsWith('/')) return wasi.ERRNO_NOTCAPABLE
    const parts = path.split('/')
    const start = path.startsWith('/') ? [] : dir.path
    const r = dir.view.resolve(dir.mountRoot, start, parts, follow, this.floor(dir))
    if (typeof r === 'number') return r
    if (path.endsWith('/') && r.node.kind !== 'dir') return wasi.ERRNO_NOTDIR
    return r
  }

  /** The directory holding the last component of `path`, for calls that add or remove a name. */
  private parentIn(dir: DirFd, path: string): ReturnType<FsView['parent']> {
    if (dir.confined && path.startsWith('/')) return wasi.ERRNO_NOTCAPABLE
    return dir.view.parent(dir.mountRoot, dir.path, path, this.floor(dir))
  }

  /** Reads iovecs: [buf, len] pairs. */
  private iovecs(ptr: number, count: number): [number, number][] {
    const v = this.view()
    const out: [number, number][] = []
    for (let i = 0; i < count; i++) out.push([v.getUint32(ptr + i * 8, true), v.getUint32(ptr + i * 8 + 4, true)])
    return out
  }

  /** recv into iovecs as one read (the shim reads each iovec separately, which would block again on the second). */
  private recvInto(s: SocketFd, iovsPtr: number, iovsLen: number, peek: boolean, waitAll: boolean): { ret: number; n: number } {
    const iovs = this.iovecs(iovsPtr, iovsLen)
    const total = iovs.reduce((n, [, len]) => n + len, 0)
    const { ret, data } = s.recv(total, peek, waitAll)
    if (ret !== 0) return { ret, n: 0 }
    const b = this.bytes()
    let at = 0
    for (const [buf, len] of iovs) {
      if (at >= data.byteLength) break
      const k = Math.min(len, data.byteLength - at)
      b.set(data.subarray(at, at + k), buf)
      at += k
    }
    return { ret: 0, n: data.byteLength }
  }

  /** send of iovecs as one message. */
  private sendFrom(s: SocketFd, iovsPtr: number, iovsLen: number): { ret: number; n: number } {
    const iovs = this.iovecs(iovsPtr, iovsLen)
    const total = iovs.reduce((n, [, len]) => n + len, 0)
    const data = new Uint8Array(total)
    const b = this.bytes()
    let at = 0
    for (const [buf, len] of iovs) {
      data.set(b.subarray(buf, buf + len), at)
      at += len
    }
    const { ret, nwritten } = s.send(data)
    return { ret, n: nwritten }
  }

  private overrides(shimFdRead: Imports[string], shimFdWrite: Imports[string]): Imports {
    const self = this
    const monotonicNs = (): bigint => BigInt(Math.round(performance.now() * 1e6))
    const realtimeNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))
    const cpuNs = (): bigint => BigInt(Math.round((performance.now() - self.startedAt) * 1e6))
    const clockNow = (id: number): bigint | undefined => {
      switch (id) {
        case wasi.CLOCKID_REALTIME:
          return realtimeNs()
        case wasi.CLOCKID_MONOTONIC:
          return monotonicNs()
        case wasi.CLOCKID_PROCESS_CPUTIME_ID:
        case wasi.CLOCKID_THREAD_CPUTIME_ID:
          // A worker runs one program on one thread: its wall time is the best CPU-time estimate.
          return cpuNs()
        default:
          return undefined
      }
    }
    /** A connection's fd, or the errno a sock_* call on `fd` gets. */
    const connection = (fd: number): SocketFd | number => {
      const f = self.fds[fd]
      if (f === undefined) return wasi.ERRNO_BADF
      if (f instanceof SocketFd) return f
      return f instanceof ListenerFd ? wasi.ERRNO_NOTCONN : wasi.ERRNO_NOTSOCK
    }

    // Only runs with sockets pay for the check: a socket's read is one recv over all iovecs.
    const socketIo: Imports = {
      fd_read(fd: number, iovsPtr: number, iovsLen: number, nreadPtr: number): number {
        const s = self.fds[fd]
        if (!(s instanceof SocketFd)) return shimFdRead(...([fd, iovsPtr, iovsLen, nreadPtr] as never[])) as number
        const { ret, n } = self.recvInto(s, iovsPtr, iovsLen, false, false)
        if (ret === 0) self.view().setUint32(nreadPtr, n, true)
        return ret
      },
      fd_write(fd: number, iovsPtr: number, iovsLen: number, nwrittenPtr: number): number {
        const s = self.fds[fd]
        if (!(s instanceof SocketFd)) return shimFdWrite(...([fd, iovsPtr, iovsLen, nwrittenPtr] as never[])) as number
        const { ret, n } = self.sendFrom(s, iovsPtr, iovsLen)
        if (ret === 0) self.view().setUint32(nwrittenPtr, n, true)
        return ret
      },
    }

    return {
      args_sizes_get(argc: number, argvBufSize: number): number {
        const v = self.view()
        v.setUint32(argc, self.args.length, true)
        v.setUint32(argvBufSize, self.args.reduce((n, a) => n + textEncoder.encode(a).byteLength + 1, 0), true)
        return 0
      },
      args_get(argv: number, argvBuf: number): number {
        const v = self.view()
        const b = self.bytes()
        for (const arg of self.args) {
          v.setUint32(argv, argvBuf, true)
          argv += 4
          const e = textEncoder.encode(arg)
          b.set(e, argvBuf)
          b[argvBuf + e.byteLength] = 0
          argvBuf += e.byteLength + 1
        }
        return 0
      },
      clock_res_get(id: number, resPtr: number): number {
        if (clockNow(id) === undefined) return wasi.ERRNO_INVAL
        self.view().setBigUint64(resPtr, 1000n, true)
        return 0
      },
      clock_time_get(id: number, _precision: bigint, timePtr: number): number {
        const t = clockNow(id)
        if (t === undefined) return wasi.ERRNO_INVAL
        self.view().setBigUint64(timePtr, t, true)
        return 0
      },
      random_get(ptr: number, len: number): number {
        // getRandomValues refuses views of shared memory and takes at most 64 KiB at a time.
        const out = self.bytes()
        const chunk = new Uint8Array(Math.min(len, 65536))
        for (let at = 0; at < len; at += chunk.byteLength) {
          const n = Math.min(chunk.byteLength, len - at)
          globalThis.crypto.getRandomValues(chunk.subarray(0, n))
          out.set(chunk.subarray(0, n), ptr + at)
        }
        return 0
      },
      sched_yield(): number {
        return 0
      },
      proc_raise(): number {
        return wasi.ERRNO_NOSYS
      },
      sock_accept(fd: number, flags: number, fdPtr: number): number {
        const f = self.fds[fd]
        if (f === undefined) return wasi.ERRNO_BADF
        if (!(f instanceof ListenerFd)) return f instanceof SocketFd ? wasi.ERRNO_INVAL : wasi.ERRNO_NOTSOCK
        if (flags & ~wasi.FDFLAGS_NONBLOCK) return wasi.ERRNO_INVAL
        const accepted = f.accept(flags)
        if (typeof accepted === 'number') return accepted
        self.fds.push(accepted)
        self.view().setUint32(fdPtr, self.fds.length - 1, true)
        return 0
      },
      sock_recv(fd: number, iovsPtr: number, iovsLen: number, riFlags: number, nreadPtr: number, roFlagsPtr: number): number {
        const s = connection(fd)
        if (typeof s === 'number') return s
        if (riFlags & ~(RIFLAGS_RECV_PEEK | RIFLAGS_RECV_WAITALL)) return wasi.ERRNO_INVAL
        const { ret, n } = self.recvInto(s, iovsPtr, iovsLen, (riFlags & RIFLAGS_RECV_PEEK) !== 0, (riFlags & RIFLAGS_RECV_WAITALL) !== 0)
        if (ret !== 0) return ret
        const v = self.view()
        v.setUint32(nreadPtr, n, true)
        v.setUint16(roFlagsPtr, 0, true) // a stream never truncates a message
        return 0
      },
      sock_send(fd: number, iovsPtr: number, iovsLen: number, siFlags: number, nwrittenPtr: number): number {
        const s = connection(fd)
        if (typeof s === 'number') return s
        if (siFlags !== 0) return wasi.ERRNO_INVAL
        const { ret, n } = self.sendFrom(s, iovsPtr, iovsLen)
        if (ret !== 0) return ret
        self.view().setUint32(nwrittenPtr, n, true)
        return 0
      },
      sock_shutdown(fd: number, how: number): number {
        const s = connection(fd)
        if (typeof s === 'number') return s
        return s.shutdown(how)
      },
      ...(self.sockets ? socketIo : {}),

      fd_filestat_get(fd: number, ptr: number): number {
        const f = self.fds[fd]
        if (f === undefined) return wasi.ERRNO_BADF
        if (f instanceof FileFd || f instanceof DirFd) {
          self.writeFilestat(ptr, f.view.stat(f.node))
          return 0
        }
        const { ret, fdstat } = f.fd_fdstat_get()
        if (ret !== 0 || fdstat === null) return ret
        self.writeFilestat(ptr, { ino: 0n, filetype: fdstat.fs_filetype, nlink: 1n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n })
        return 0
      },
      fd_renumber(from: number, to: number): number {
        const a = self.fds[from]
        const b = self.fds[to]
        if (a === undefined || b === undefined) return wasi.ERRNO_BADF
        if (from === to) return 0
        b.fd_close()
        self.fds[to] = a
        delete self.fds[from]
        return 0
      },
      fd_close(fd: number): number {
        const f = self.fds[fd]
        if (f === undefined) return wasi.ERRNO_BADF
        const ret = f.fd_close()
        delete self.fds[fd]
        return ret
      },
      fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, bufUsedPtr: number): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d === wasi.ERRNO_NOTDIR ? wasi.ERRNO_NOTDIR : d
        if (cookie === 0n || d.listing === undefined) {
          const dir = d.view.cur(d.node)
          const parent = d.path.length === 0 ? dir : d.view.resolve(d.mountRoot, d.path, ['..'], true)
          const parentNode: Node = typeof parent === 'number' ? dir : 'node' in parent ? parent.node : parent
          d.listing = [
            { name: '.', ino: d.view.stat(dir).ino, type: wasi.FILETYPE_DIRECTORY },
            { name: '..', ino: d.view.stat(parentNode).ino, type: wasi.FILETYPE_DIRECTORY },
            ...[...dir.entries.keys()].sort().map((name) => {
              const s = d.view.stat(dir.entries.get(name)!)
              return { name, ino: s.ino, type: s.filetype }
            }),
          ]
        }
        const v = self.view()
        const b = self.bytes()
        let used = 0
        // Entries are written whole or cut at the buffer's end: a full buffer tells libc to
        // come back with the next cookie (or a bigger buffer), as the spec describes.
        for (let i = Number(cookie); i < d.listing.length && used < bufLen; i++) {
          const e = d.listing[i]!
          const name = textEncoder.encode(e.name)
          const entry = new Uint8Array(24 + name.byteLength)
          const ev = new DataView(entry.buffer)
          ev.setBigUint64(0, BigInt(i + 1), true)
          ev.setBigUint64(8, e.ino, true)
          ev.setUint32(16, name.byteLength, true)
          ev.setUint8(20, e.type)
          entry.set(name, 24)
          const n = Math.min(entry.byteLength, bufLen - used)
          b.set(entry.subarray(0, n), buf + used)
          used += n
        }
        v.setUint32(bufUsedPtr, used, true)
        return 0
      },

      path_open(
        fd: number,
        dirflags: number,
        pathPtr: number,
        pathLen: number,
        oflags: number,
        rightsBase: bigint,
        _rightsInheriting: bigint,
        fdflags: number,
        openedPtr: number,
      ): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d
        const path = self.str(pathPtr, pathLen)
        const follow = (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0
        const view = d.view
        let found = self.lookup(d, path, follow)
        const wantsWrite = (rightsBase & BigInt(wasi.RIGHTS_FD_WRITE)) !== 0n || (oflags & wasi.OFLAGS_TRUNC) !== 0
        const readable = (rightsBase & BigInt(wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_READDIR)) !== 0n
        if (typeof found === 'number') {
          if (found !== wasi.ERRNO_NOENT || !(oflags & wasi.OFLAGS_CREAT)) return found
          if (oflags & wasi.OFLAGS_DIRECTORY) return wasi.ERRNO_NOENT
          const p = self.parentIn(d, path)
          if (typeof p === 'number') return p
          if (p.mustBeDir) return wasi.ERRNO_ISDIR
          const existing = view.child(p.dir, p.name)
          if (existing?.kind === 'symlink') return follow ? wasi.ERRNO_NOENT : wasi.ERRNO_LOOP
          const file = view.newFile()
          view.link(p.dir, p.name, file)
          found = { node: file, path: [...p.dirPath, p.name] }
        } else if ((oflags & wasi.OFLAGS_CREAT) && (oflags & wasi.OFLAGS_EXCL)) {
          return wasi.ERRNO_EXIST
        }
        const node = found.node
        if (node.kind === 'symlink') return wasi.ERRNO_LOOP
        if (node.kind === 'dir') {
          if (wantsWrite) return wasi.ERRNO_ISDIR
          self.fds.push(new DirFd(view, d.mountRoot, found.path, node, undefined, d.rightsInheriting, d.confined))
        } else {
          if (oflags & wasi.OFLAGS_DIRECTORY) return wasi.ERRNO_NOTDIR
          if (oflags & wasi.OFLAGS_TRUNC) {
            // Truncating through a path is the directory's right, as ftruncate is the file's.
            if (!has(d, wasi.RIGHTS_PATH_FILESTAT_SET_SIZE)) return wasi.ERRNO_PERM
            view.setSize(node, 0)
          }
          const writable = (rightsBase & BigInt(wasi.RIGHTS_FD_WRITE)) !== 0n
          self.fds.push(new FileFd(view, node, readable || !writable, writable, fdflags, d.rightsInheriting))
        }
        self.view().setUint32(openedPtr, self.fds.length - 1, true)
        return 0
      },
      path_filestat_get(fd: number, flags: number, pathPtr: number, pathLen: number, ptr: number): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d
        const r = self.lookup(d, self.str(pathPtr, pathLen), (flags & LOOKUP_SYMLINK_FOLLOW) !== 0)
        if (typeof r === 'number') return r
        self.writeFilestat(ptr, d.view.stat(r.node))
        return 0
      },
      path_filestat_set_times(fd: number, flags: number, pathPtr: number, pathLen: number, atim: bigint, mtim: bigint, fst: number): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d
        const r = self.lookup(d, self.str(pathPtr, pathLen), (flags & LOOKUP_SYMLINK_FOLLOW) !== 0)
        if (typeof r === 'number') return r
        const t = timesFromFlags(atim, mtim, fst)
        if (typeof t === 'number') return t
        d.view.setTimes(r.node, t.atime, t.mtime)
        return 0
      },
      path_create_directory(fd: number, pathPtr: number, pathLen: number): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d
        const p = self.parentIn(d, self.str(pathPtr, pathLen))
        if (typeof p === 'number') return p
        if (d.view.child(p.dir, p.name) !== undefined) return wasi.ERRNO_EXIST
        d.view.link(p.dir, p.name, d.view.newDir())
        return 0
      },
      path_remove_directory(fd: number, pathPtr: number, pathLen: number): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d
        const p = self.parentIn(d, self.str(pathPtr, pathLen))
        if (typeof p === 'number') return p === wasi.ERRNO_EXIST ? wasi.ERRNO_BUSY : p
        const target = d.view.child(p.dir, p.name)
        if (target === undefined) return wasi.ERRNO_NOENT
        if (target.kind !== 'dir') return wasi.ERRNO_NOTDIR
        if (target.entries.size > 0) return wasi.ERRNO_NOTEMPTY
        d.view.unlink(p.dir, p.name)
        return 0
      },
      path_unlink_file(fd: number, pathPtr: number, pathLen: number): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d
        const p = self.parentIn(d, self.str(pathPtr, pathLen))
        if (typeof p === 'number') return p === wasi.ERRNO_EXIST ? wasi.ERRNO_ISDIR : p
        const target = d.view.child(p.dir, p.name)
        if (target === undefined) return wasi.ERRNO_NOENT
        if (target.kind === 'dir') return wasi.ERRNO_ISDIR
        if (p.mustBeDir) return wasi.ERRNO_NOTDIR
        d.view.unlink(p.dir, p.name)
        return 0
      },
      path_symlink(oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d
        const target = self.str(oldPtr, oldLen)
        // A confined tree cannot hold a way out of itself (wasmtime refuses these too).
        if (d.confined && target.startsWith('/')) return wasi.ERRNO_PERM
        const p = self.parentIn(d, self.str(newPtr, newLen))
        if (typeof p === 'number') return p
        const existing = d.view.child(p.dir, p.name)
        if (existing !== undefined) return p.mustBeDir && existing.kind !== 'dir' ? wasi.ERRNO_NOTDIR : wasi.ERRNO_EXIST
        if (p.mustBeDir) return wasi.ERRNO_NOENT // a symlink is never a directory
        d.view.link(p.dir, p.name, d.view.newSymlink(target))
        return 0
      },
      path_readlink(fd: number, pathPtr: number, pathLen: number, buf: number, bufLen: number, usedPtr: number): number {
        const d = self.dirFd(fd)
        if (typeof d === 'number') return d
        const r = self.lookup(d, self.str(pathPtr, pathLen), false)
        if (typeof r === 'number') return r
        if (r.node.kind !== 'symlink') return wasi.ERRNO_INVAL
        // Like readlink(2): the target is cut to the buffer, never an error.
        const target = textEncoder.encode(r.node.target).subarray(0, bufLen)
        self.bytes().set(target, buf)
        self.view().setUint32(usedPtr, target.byteLength, true)
        return 0
      },
      path_link(oldFd: number, oldFlags: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
        const a = self.dirFd(oldFd)
        if (typeof a === 'number') return a
        const b = self.dirFd(newFd)
        if (typeof b === 'number') return b
        if (a.view !== b.view) return wasi.ERRNO_XDEV
        const src = self.lookup(a, self.str(oldPtr, oldLen), (oldFlags & LOOKUP_SYMLINK_FOLLOW) !== 0)
        if (typeof src === 'number') return src
        if (src.node.kind === 'dir') return wasi.ERRNO_PERM
        const p = self.parentIn(b, self.str(newPtr, newLen))
        if (typeof p === 'number') return p
        if (b.view.child(p.dir, p.name) !== undefined) return wasi.ERRNO_EXIST
        if (p.mustBeDir) return wasi.ERRNO_NOENT // the new name of a file cannot end in a slash
        b.view.link(p.dir, p.name, src.node)
        b.view.touch(src.node)
        return 0
      },
      path_rename(oldFd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
        const a = self.dirFd(oldFd)
        if (typeof a === 'number') return a
        const b = self.dirFd(newFd)
        if (typeof b === 'number') return b
        if (a.view !== b.view || a.mountRoot !== b.mountRoot) return wasi.ERRNO_XDEV
        const view = a.view
        const from = self.parentIn(a, self.str(oldPtr, oldLen))
        if (typeof from === 'number') return from === wasi.ERRNO_EXIST ? wasi.ERRNO_BUSY : from
        const to = self.parentIn(b, self.str(newPtr, newLen))
        if (typeof to === 'number') return to === wasi.ERRNO_EXIST ? wasi.ERRNO_BUSY : to
        const moving = view.child(from.dir, from.name)
        if (moving === undefined) return wasi.ERRNO_NOENT
        if ((from.mustBeDir || to.mustBeDir) && moving.kind !== 'dir') return wasi.ERRNO_NOTDIR
        const replaced = view.child(to.dir, to.name)
        if (replaced === moving) return 0
        if (moving.kind === 'dir') {
          // A directory cannot move into itself or below itself.
          const fromPath = [...from.dirPath, from.name]
          if (fromPath.every((c, i) => to.dirPath[i] === c) && to.dirPath.length >= fromPath.length) return wasi.ERRNO_INVAL
          if (replaced !== undefined) {
            if (replaced.kind !== 'dir') return wasi.ERRNO_NOTDIR
            if (replaced.entries.size > 0) return wasi.ERRNO_NOTEMPTY
          }
        } else if (replaced?.kind === 'dir') {
          return wasi.ERRNO_ISDIR
        }
        if (replaced !== undefined) view.unlink(to.dir, to.name)
        const node = view.unlink(from.dir, from.name)!
        view.link(to.dir, to.name, node)
        return 0
      },

      poll_oneoff(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
        return self.poll(inPtr, outPtr, nsubs, neventsPtr, clockNow)
      },
    }
  }

  /**
   * Waits for the first of several events: clock deadlines (relative or absolute, on
   * any clock), stdin becoming readable (or at EOF), a listener with a connection waiting,
   * a connection with bytes (or its end) or room to send, other fds (always ready). Sleeps
   * in Atomics.wait: on the socket ring when sockets are watched, on the stdin buffer when
   * stdin is, so what arrives wakes it at once.
   */
  private poll(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number, clockNow: (id: number) => bigint | undefined): number {
    if (nsubs === 0) return wasi.ERRNO_INVAL
    type Sub = { userdata: bigint; type: number; deadlineMs?: number; fd?: number; error?: number }
    const subs: Sub[] = []
    const v = this.view()
    for (let i = 0; i < nsubs; i++) {
      const p = inPtr + i * 48
      const userdata = v.getBigUint64(p, true)
      const type = v.getUint8(p + 8)
      if (type === wasi.EVENTTYPE_CLOCK) {
        const clock = v.getUint32(p + 16, true)
        const timeout = v.getBigUint64(p + 24, true)
        const flags = v.getUint16(p + 40, true)
        const now = clockNow(clock)
        if (now === undefined) {
          subs.push({ userdata, type, error: wasi.ERRNO_INVAL })
          continue
        }
        const relNs = flags & wasi.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME ? timeout - now : timeout
        subs.push({ userdata, type, deadlineMs: performance.now() + Number(relNs) / 1e6 })
      } else if (type === wasi.EVENTTYPE_FD_READ || type === wasi.EVENTTYPE_FD_WRITE) {
        const fd = v.getUint32(p + 16, true)
        subs.push(this.fds[fd] === undefined ? { userdata, type, fd, error: wasi.ERRNO_BADF } : { userdata, type, fd })
      } else {
        subs.push({ userdata, type, error: wasi.ERRNO_INVAL })
      }
    }
    const stdinSubs = subs.filter((s) => s.error === undefined && s.type === wasi.EVENTTYPE_FD_READ && this.fds[s.fd!] instanceof StdinFd)
    const stdin = stdinSubs.length > 0 ? (this.fds[stdinSubs[0]!.fd!] as StdinFd) : undefined
    const isReady = (s: Sub, now: number): boolean => {
      if (s.error !== undefined) return true
      if (s.type === wasi.EVENTTYPE_CLOCK) return now >= s.deadlineMs!
      const f = this.fds[s.fd!]
      if (f instanceof StdinFd) return f.ready()
      if (f instanceof ListenerFd) return s.type === wasi.EVENTTYPE_FD_READ ? f.readyCount() > 0 : true
      if (f instanceof SocketFd) return s.type === wasi.EVENTTYPE_FD_READ ? f.readable() : f.writable()
      return true
    }
    const sockets = this.sockets
    const watchesSockets =
      sockets !== undefined &&
      subs.some((s) => s.error === undefined && s.type !== wasi.EVENTTYPE_CLOCK && (this.fds[s.fd!] instanceof SocketFd || this.fds[s.fd!] instanceof ListenerFd))
    for (;;) {
      // Read the change counter before looking, so a frame arriving after the look wakes the wait.
      const seq = watchesSockets ? sockets.reader.seq() : 0
      if (watchesSockets) sockets.drain()
      const now = performance.now()
      const ready = subs.filter((s) => isReady(s, now))
      if (ready.length > 0) {
        const out = this.view()
        ready.forEach((s, i) => {
          const p = outPtr + i * 32
          out.setBigUint64(p, s.userdata, true)
          out.setUint16(p + 8, s.error ?? 0, true)
          out.setUint8(p + 10, s.type)
          if (s.type !== wasi.EVENTTYPE_CLOCK) {
            const f = this.fds[s.fd!]
            let nbytes = 0n
            let flags = 0
            if (f instanceof FileFd) nbytes = BigInt(Math.max(0, f.view.size(f.node) - f.position))
            if (f instanceof StdinFd && f.reader?.atEof()) flags = wasi.EVENTRWFLAGS_FD_READWRITE_HANGUP
            if (f instanceof StdinFd && f.reader === undefined) flags = wasi.EVENTRWFLAGS_FD_READWRITE_HANGUP
            if (f instanceof StdinFd && !flags) nbytes = 1n
            if (f instanceof ListenerFd) nbytes = BigInt(f.readyCount())
            if (f instanceof SocketFd && s.type === wasi.EVENTTYPE_FD_READ) {
              const r = f.readState()
              nbytes = BigInt(r.nbytes)
              if (r.hangup) flags = wasi.EVENTRWFLAGS_FD_READWRITE_HANGUP
            }
            out.setBigUint64(p + 16, nbytes, true)
            out.setUint16(p + 24, flags, true)
          } else {
            out.setBigUint64(p + 16, 0n, true)
            out.setUint16(p + 24, 0, true)
          }
        })
        out.setUint32(neventsPtr, ready.length, true)
        return 0
      }
      const deadlines = subs.filter((s) => s.deadlineMs !== undefined).map((s) => s.deadlineMs!)
      const wait = deadlines.length > 0 ? Math.max(0, Math.min(...deadlines) - now) : Infinity
      // A socket wait also wakes for stdin: the run's host side bumps the socket ring on input.
      if (watchesSockets) sockets.waitChange(seq, wait)
      else if (stdin?.reader) stdin.reader.waitReady(wait)
      else if (wait === Infinity) return wasi.ERRNO_INVAL // nothing could ever wake us: a deadlock, not a wait
      else this.stop.sleep(wait)
    }
  }
}

export { OutputFd, StdinFd, DirFd, FileFd }
export type { DirNode }
