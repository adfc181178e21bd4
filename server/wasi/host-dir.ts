// `--dir HOST[::GUEST]` for the wasi runtime: the host directory is read into a tree, the
// run works on its copy-on-write view like on the image, and what the run changed is
// written back to the host directory when it ends. (Writes show on the host at exit, not
// while the program runs: the worker's filesystem is in memory.)

import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, utimesSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { RootFs, type DirNode, type Node } from '../../web/oci/rootfs.js'
import type { DeltaNode } from '../../web/runtimes/wasi/fs-view.js'
import type { Mount } from '../../web/runtimes/runtime.js'
import type { MountedTree } from '../../web/runtimes/wasi/runtime.js'

function readTree(path: string): Node {
  const st = lstatSync(path)
  const meta = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtimeMs / 1000 }
  if (st.isSymbolicLink()) return { kind: 'symlink', ...meta, target: readlinkSync(path) }
  if (st.isDirectory()) {
    const entries = new Map<string, Node>()
    for (const name of readdirSync(path)) {
      const child = lstatSync(join(path, name))
      if (child.isFile() || child.isDirectory() || child.isSymbolicLink()) entries.set(name, readTree(join(path, name)))
    }
    return { kind: 'dir', ...meta, entries }
  }
  return { kind: 'file', ...meta, data: new Uint8Array(readFileSync(path)) }
}

function writeNode(hostPath: string, node: Node): void {
  rmSync(hostPath, { recursive: true, force: true })
  if (node.kind === 'symlink') symlinkSync(node.target, hostPath)
  else if (node.kind === 'file') {
    writeFileSync(hostPath, node.data as Uint8Array, { mode: node.mode })
    chmodSync(hostPath, node.mode)
    utimesSync(hostPath, node.mtime, node.mtime)
  } else {
    mkdirSync(hostPath, { mode: node.mode })
    for (const [name, child] of node.entries) writeNode(join(hostPath, name), child)
  }
}

function writeBack(hostPath: string, delta: DeltaNode, files: Node, guestPath: string): void {
  if (delta.kind === 'same') {
    // Unchanged where it was: nothing to do. Moved here from elsewhere: write it out.
    if (delta.path !== (guestPath || '/')) writeNode(hostPath, files)
    return
  }
  if (delta.kind !== 'dir' || files.kind !== 'dir') {
    writeNode(hostPath, files)
    return
  }
  let onHost: string[] = []
  try {
    onHost = lstatSync(hostPath).isDirectory() ? readdirSync(hostPath) : []
  } catch {
    mkdirSync(hostPath, { mode: files.mode })
  }
  for (const name of onHost) if (!delta.entries.has(name)) rmSync(join(hostPath, name), { recursive: true, force: true })
  for (const [name, child] of delta.entries) writeBack(join(hostPath, name), child, files.entries.get(name)!, `${guestPath}/${name}`)
}

export async function loadHostDir(mount: Mount): Promise<MountedTree> {
  let root: Node
  try {
    root = readTree(mount.hostPath)
  } catch (e) {
    throw new Error(`cannot map ${mount.hostPath} into the run: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (root.kind !== 'dir') throw new Error(`cannot map ${mount.hostPath} into the run: it is not a directory`)
  return {
    root: new RootFs(root as DirNode),
    writeBack: async (changes, files) => writeBack(mount.hostPath, changes, files.root, ''),
  }
}
