// The image tree the conformance programs check against (no Node imports: the browser test
// page builds it too): a file with a known mtime, two hardlinks, a symlinked directory.

import { RootFs, type FileNode } from '../../web/oci/rootfs.js'

export function conformanceTree(): RootFs {
  const fs = new RootFs()
  const etc = fs.mkdirp('/etc')
  const fixed: FileNode = { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1234567890, data: new TextEncoder().encode('fixed\n') }
  etc.entries.set('fixed', fixed)
  const hard: FileNode = { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1234567890, data: new TextEncoder().encode('hard\n') }
  etc.entries.set('hard1', hard)
  etc.entries.set('hard2', hard)
  fs.root.entries.set('lib', { kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, target: 'etc' })
  fs.mkdirp('/tmp', { mode: 0o1777 })
  return fs
}
