// WASI preview1 conformance, one syscall family per program (test/wasi/programs/*.c),
// run in Node worker threads through the wasi runtime. Each program prints "ok NAME" or
// "FAIL NAME: …" per check; the expected check names are listed so none can go missing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WasiRuntime } from '../../web/runtimes/wasi/runtime.js'
import { conformanceTree, failures, makeRuntime, programImage, runToEnd } from './helpers.js'

let runtime: WasiRuntime
beforeAll(() => {
  runtime = makeRuntime()
})
afterAll(() => runtime.close())

function oks(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('ok '))
    .map((l) => l.slice(3))
}

describe('WASI preview1 conformance', () => {
  it('files: create, read/write, seek/tell, pread/pwrite, append, truncate, timestamps, link counts, renumber, fdstat, open errors', async () => {
    const image = await programImage('files', conformanceTree())
    const { stdout, status } = await runToEnd(runtime, { image })
    expect(failures(stdout)).toEqual([])
    expect(oks(stdout)).toEqual(
      expect.arrayContaining([
        'open-create', 'seek-end', 'seek-negative', 'pread', 'pwrite-keeps-offset', 'hole-reads-zeros', 'ftruncate-grow',
        'append-lands-at-end', 'fcntl-getfl-append', 'read-on-write-only', 'write-on-read-only', 'excl-existing', 'open-missing',
        'open-through-file', 'open-dir-for-write', 'open-file-as-dir', 'o-trunc', 'stat-atime', 'stat-mtime', 'write-updates-mtime',
        'stat-image-file-mtime', 'nlink-two', 'link-same-inode', 'nlink-back-to-one', 'image-hardlinks', 'unlink-dir',
        'fd_renumber', 'renumber-closes-source', 'fdstat-regular', 'fdstat-bad-fd',
      ]),
    )
    expect(status).toEqual({ code: 0, reason: 'exited' })
  })

  it('directories and paths: mkdir/rmdir errors, readdir cookies, rename, symlinks, readlink', async () => {
    const image = await programImage('dirs', conformanceTree())
    const { stdout, status } = await runToEnd(runtime, { image })
    expect(failures(stdout)).toEqual([])
    expect(oks(stdout)).toEqual(
      expect.arrayContaining([
        'mkdir-exists', 'mkdir-under-file', 'readdir-many-cookies', 'rmdir-not-empty', 'rmdir-file', 'rename-replaces-file',
        'rename-dir-over-nonempty', 'rename-dir-into-itself', 'rename-file-over-dir', 'rename-dir-over-file', 'rename-image-file',
        'readlink', 'readlink-truncates', 'readlink-not-link', 'lstat-not-follow', 'relative-symlink', 'image-symlink-dir',
        'symlink-loop', 'dangling-symlink', 'dotdot-stays-in-root',
      ]),
    )
    expect(status.code).toBe(0)
  })

  it('clocks, random, args/environ (UTF-8), poll_oneoff, sleeping, sockets errno, proc_exit', async () => {
    const image = await programImage('misc')
    const now = Math.floor(Date.now() / 1000)
    const { stdout, status } = await runToEnd(runtime, { image, cmd: [String(now), 'héllo wörld', 'x'], env: ['GREETING=grüezi'] })
    expect(failures(stdout)).toEqual([])
    expect(oks(stdout)).toEqual(
      expect.arrayContaining([
        'argc', 'argv-utf8', 'environ', 'realtime', 'clock-bad-id', 'random', 'nanosleep-300ms', 'abstime-200ms',
        'poll-two-clocks', 'poll-two-clocks-timing', 'poll-fd-write-ready', 'poll-bad-fd', 'poll-stdin-eof',
        'sock-accept-badf', 'sock-accept-not-socket', 'sched-yield',
      ]),
    )
    // proc_exit's code is the run's exit code
    expect(status).toEqual({ code: 42, reason: 'exited' })
  })
})
