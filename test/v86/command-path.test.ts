// findCommand: the host-side PATH search whose answer lets boxplay-init exec once.
// It must pick what execvp would, and step aside whenever the guest has to search itself.

import { describe, expect, test } from 'vitest'
import { type Node, RootFs } from '../../web/oci/rootfs.js'
import { findCommand } from '../../web/runtimes/v86/command-path.js'

const meta = { uid: 0, gid: 0, mtime: 0 }

function tree(): RootFs {
  const fs = new RootFs()
  const put = (path: string, node: Node) => {
    const { dir, name } = fs.parentOf(path)
    dir.entries.set(name, node)
  }
  for (const d of ['/bin', '/usr/bin', '/usr/local/bin', '/opt/tools']) fs.mkdirp(d)
  put('/bin/busybox', { kind: 'file', mode: 0o755, ...meta, data: new Uint8Array([0x7f]) })
  put('/bin/echo', { kind: 'symlink', mode: 0o777, ...meta, target: 'busybox' })
  put('/usr/local/bin/echo', { kind: 'file', mode: 0o644, ...meta, data: new Uint8Array() }) // not executable
  put('/usr/bin/tool', { kind: 'symlink', mode: 0o777, ...meta, target: '/opt/tools/tool' })
  put('/opt/tools/tool', { kind: 'file', mode: 0o700, ...meta, data: new Uint8Array() })
  put('/usr/local/bin/lonely', { kind: 'file', mode: 0o755, ...meta, data: new Uint8Array() })
  put('/usr/bin/dangling', { kind: 'symlink', mode: 0o777, ...meta, target: '/nowhere' })
  put('/usr/bin/loop', { kind: 'symlink', mode: 0o777, ...meta, target: 'loop' })
  put('/usr/bin/sub', { kind: 'dir', mode: 0o755, ...meta, entries: new Map() })
  return fs
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

describe('findCommand', () => {
  test('finds the first executable along PATH, through symlinks, skipping what execve would refuse', () => {
    const fs = tree()
    expect(findCommand(fs, 'echo', [PATH])).toBe('/bin/echo') // /usr/local/bin/echo is not executable
    expect(findCommand(fs, 'tool', ['HOME=/', PATH])).toBe('/usr/bin/tool')
    expect(findCommand(fs, 'busybox', ['PATH=/usr/bin/:/bin/'])).toBe('/bin/busybox')
  })

  test("uses glibc's default PATH when the environment has none", () => {
    expect(findCommand(tree(), 'busybox', [])).toBe('/bin/busybox')
    expect(findCommand(tree(), 'tool', [])).toBe('/usr/bin/tool')
    expect(findCommand(tree(), 'lonely', [])).toBeUndefined()
  })

  test('leaves the search to the guest for paths, relative PATH entries, and what is not there', () => {
    const fs = tree()
    expect(findCommand(fs, '/bin/echo', [PATH])).toBeUndefined()
    expect(findCommand(fs, './echo', [PATH])).toBeUndefined()
    expect(findCommand(fs, 'echo', ['PATH=.:/bin'])).toBeUndefined()
    expect(findCommand(fs, 'echo', ['PATH=:/bin'])).toBeUndefined()
    expect(findCommand(fs, 'missing', [PATH])).toBeUndefined()
    for (const name of ['dangling', 'loop', 'sub', '']) expect(findCommand(fs, name, [PATH])).toBeUndefined()
  })
})
