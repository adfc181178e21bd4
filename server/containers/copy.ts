// `boxplay cp`, Docker's rules, between the host and a stopped container's tree (its image
// plus its changes layer, changes.ts). Copying out writes host files as the caller (modes
// and times kept, owners not); copying in makes root-owned entries, as `docker cp` does
// without -a, and the tree is kept again as the changes layer.
//   SRC a file:  DEST missing → DEST is the file (DEST/ must exist: it is refused);
//                DEST a file → overwritten;  DEST a directory → DEST/basename(SRC).
//   SRC a dir:   DEST missing → made, with SRC's contents;  DEST a file → refused;
//                DEST a directory → DEST/basename(SRC), or SRC's contents for SRC/. ;
// A symlink as SRC is copied as a link, unless SRC ends in / (followed).

import { promises as fsp, type Stats } from 'node:fs'
import { basename, join } from 'node:path'
import { RootFs, readFile, type DirNode, type Node } from '../../web/oci/rootfs.js'
import { ContainerError } from './ids.js'

const wantsContents = (path: string) => /(^|\/)\.$/.test(path)
const endsInSlash = (path: string) => path.endsWith('/') || wantsContents(path)
const lastName = (path: string) => basename(path.replace(/\/+\.?$/, '')) || '/'

function sourceNode(tree: RootFs, path: string, container: string): Node {
  const follow = endsInSlash(path)
  const node = tree.lookup(path, follow)
  if (!node) throw new ContainerError('not-found', `Could not find the file ${path} in container ${container}`)
  if (follow && node.kind !== 'dir') throw new ContainerError('invalid', `${path} is not a directory`)
  return node
}

async function hostStat(path: string): Promise<Stats | undefined> {
  return fsp.stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined
    throw e
  })
}

/** Writes a tree node at a host path; an existing non-directory there is replaced, never followed. */
async function writeHost(node: Node, path: string): Promise<void> {
  const existing = await fsp.lstat(path).catch(() => undefined)
  if (existing && !(existing.isDirectory() && node.kind === 'dir')) await fsp.rm(path, { recursive: true, force: true })
  if (node.kind === 'dir') {
    if (!existing?.isDirectory()) await fsp.mkdir(path, { mode: 0o700 })
    for (const [name, child] of [...node.entries].sort(([a], [b]) => (a < b ? -1 : 1))) await writeHost(child, join(path, name))
    await fsp.chmod(path, node.mode & 0o7777)
  } else if (node.kind === 'symlink') {
    await fsp.symlink(node.target, path)
    return
  } else {
    await fsp.writeFile(path, await readFile(node), { mode: node.mode & 0o777 })
    await fsp.chmod(path, node.mode & 0o777) // not setuid bits: the host user owns it now
  }
  await fsp.utimes(path, node.mtime, node.mtime)
}

export async function copyOut(tree: RootFs, src: string, dest: string, container: string): Promise<void> {
  const node = sourceNode(tree, src, container)
  const at = await hostStat(dest)
  if (node.kind !== 'dir') {
    if (!at && dest.endsWith('/')) throw new ContainerError('invalid', `destination directory "${dest}" does not exist`)
    await writeHost(node, at?.isDirectory() ? join(dest, lastName(src)) : dest)
    return
  }
  if (at && !at.isDirectory()) throw new ContainerError('invalid', `cannot copy a directory to a file: ${dest} is a file`)
  if (!at || wantsContents(src)) await writeHost(node, dest)
  else await writeHost(node, join(dest, lastName(src)))
}

/** A host path as tree nodes: root-owned, modes and times kept. */
async function readHost(path: string): Promise<Node> {
  const st = await fsp.lstat(path)
  const meta = { mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: Math.floor(st.mtimeMs / 1000) }
  if (st.isSymbolicLink()) return { kind: 'symlink', ...meta, target: await fsp.readlink(path) }
  if (st.isDirectory()) {
    const entries = new Map<string, Node>()
    for (const name of (await fsp.readdir(path)).sort()) entries.set(name, await readHost(join(path, name)))
    return { kind: 'dir', ...meta, entries }
  }
  if (st.isFile()) return { kind: 'file', ...meta, data: new Uint8Array(await fsp.readFile(path)) }
  throw new ContainerError('invalid', `${path} is not a file, directory or symlink: cp copies only those`)
}

/** Puts `node` at `name` in `dir`: directories merge into directories, anything else replaces. */
function place(dir: DirNode, name: string, node: Node): void {
  const existing = dir.entries.get(name)
  if (existing?.kind === 'dir' && node.kind === 'dir') {
    Object.assign(existing, { mode: node.mode, mtime: node.mtime })
    for (const [child, sub] of node.entries) place(existing, child, sub)
  } else dir.entries.set(name, node)
}

export async function copyIn(tree: RootFs, src: string, dest: string): Promise<void> {
  const st = await fsp.lstat(endsInSlash(src) ? `${src.replace(/\/+\.?$/, '')}/` : src).catch(() => undefined)
  if (!st) throw new ContainerError('not-found', `could not find ${src} on this machine`)
  const node = await readHost(endsInSlash(src) ? src.replace(/\/+\.?$/, '') || '/' : src)
  const at = tree.lookup(dest, true)
  if (node.kind !== 'dir') {
    if (!at && dest.endsWith('/')) throw new ContainerError('invalid', `destination directory "${dest}" does not exist in the container`)
    if (at?.kind === 'dir') return place(at, lastName(src), node)
    const { dir, name } = parentIn(tree, dest)
    dir.entries.set(name, node)
    return
  }
  if (at && at.kind !== 'dir') throw new ContainerError('invalid', `cannot copy a directory to a file: ${dest} is a file in the container`)
  if (at?.kind === 'dir') {
    if (wantsContents(src)) for (const [child, sub] of (node as DirNode).entries) place(at, child, sub)
    else place(at, lastName(src), node)
    return
  }
  const { dir, name } = parentIn(tree, dest)
  dir.entries.set(name, node)
}

function parentIn(tree: RootFs, path: string): { dir: DirNode; name: string } {
  try {
    return tree.parentOf(path)
  } catch {
    throw new ContainerError('invalid', `the directory above ${path} does not exist in the container`)
  }
}
