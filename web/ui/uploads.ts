// Files a learner hands the page, as a change set to add to a container's files: a tarball
// (its entries, placed under a target directory) or a folder picked with the file dialog
// (each file at its relative path). Paths cannot climb out of the target (splitPath drops
// `..`), and tar whiteouts, devices and hardlinks in an upload are refused or left out.

import type { Change, ChangeSet } from '../oci/changes.js'
import { decompressBytes } from '../oci/compression.js'
import { splitPath } from '../oci/rootfs.js'
import { readTarSync } from '../oci/tar.js'
import { parseWhiteout } from '../oci/whiteout.js'

const now = () => Math.floor(Date.now() / 1000)

/** The directories leading to `path` (below the root), as change entries. */
function parents(path: string, seen: Set<string>, out: Change[]): void {
  const parts = splitPath(path)
  for (let i = 1; i < parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`
    if (seen.has(dir)) continue
    seen.add(dir)
    out.push({ path: dir, kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: now() })
  }
}

function under(target: string, path: string): string {
  return `/${[...splitPath(target), ...splitPath(path)].join('/')}`
}

/** A tar (plain or gzip) unpacked under `target`. */
export async function changesFromTarUpload(bytes: Uint8Array, target: string): Promise<ChangeSet> {
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b
  const tar = gzip ? await decompressBytes('gzip', bytes) : bytes
  const out: Change[] = []
  const seen = new Set<string>()
  for (const e of readTarSync(tar)) {
    const name = splitPath(e.path).pop()
    if (name === undefined) continue
    if (parseWhiteout(name)) throw new Error(`the upload holds ${e.path}, a whiteout: upload plain files (a layer's deletions cannot be added as files)`)
    const path = under(target, e.path)
    parents(path, seen, out)
    const meta = { mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: Math.floor(e.mtime) }
    if (e.type === 'dir') {
      seen.add(path)
      out.push({ path, kind: 'dir', ...meta })
    } else if (e.type === 'file') out.push({ path, kind: 'file', ...meta, data: e.data })
    else if (e.type === 'symlink') out.push({ path, kind: 'symlink', ...meta, target: e.linkname })
    // Hardlinks, device nodes and fifos are left out: a container's kept files hold neither.
  }
  return { entries: out }
}

/** Files from a folder picker (`webkitRelativePath`) or a multi-file picker, under `target`. */
export async function changesFromFiles(files: readonly File[], target: string): Promise<ChangeSet> {
  const out: Change[] = []
  const seen = new Set<string>()
  for (const file of files) {
    const relative = file.webkitRelativePath || file.name
    const path = under(target, relative)
    parents(path, seen, out)
    out.push({ path, kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: Math.floor(file.lastModified / 1000), data: new Uint8Array(await file.arrayBuffer()) })
  }
  return { entries: out }
}
