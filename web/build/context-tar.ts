// A build context as a tar, both ways: the playground sends its dropped files to
// `POST /api/builds` as one (contextToTar), and the server reads the body back into the
// builder's context model (tarToContext) in memory, so nothing of an uploaded context is
// written to the server's disk. Paths that would leave the context (absolute, `..`) and
// entries a context cannot hold (devices, fifos, hard links) are refused by name.
// No DOM and no Node APIs.

import type { ChangeSet } from '../oci/changes.js'
import { writeLayerTar } from '../oci/layer-writer.js'
import { readTarSync } from '../oci/tar.js'
import type { BuildContext, ContextEntry } from './context.js'

export class ContextTarError extends Error {
  override name = 'ContextTarError'
}

/** The context's path for a tar entry's name: relative, `/`-separated, never leaving the root. */
function contextPath(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.')
  if (name.startsWith('/') || parts.some((p) => p === '..')) {
    throw new ContextTarError(`the context tar has an entry "${name}" outside the context: paths must be relative, without ".."`)
  }
  return parts.join('/')
}

export function tarToContext(archive: Uint8Array): BuildContext {
  const byPath = new Map<string, ContextEntry>()
  for (const e of readTarSync(archive)) {
    const path = contextPath(e.path)
    if (path === '') continue
    if (e.type === 'file') byPath.set(path, { path, kind: 'file', mode: e.mode & 0o7777, data: e.data })
    else if (e.type === 'dir') byPath.set(path, { path, kind: 'dir', mode: e.mode & 0o7777 })
    else if (e.type === 'symlink') byPath.set(path, { path, kind: 'symlink', mode: 0o777, target: e.linkname })
    else throw new ContextTarError(`the context tar has a ${e.type} entry "${e.path}": a build context holds files, directories and symlinks only`)
  }
  // Parents before children, as the builder expects; a file's missing parents are made.
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      if (!byPath.has(parent)) byPath.set(parent, { path: parent, kind: 'dir', mode: 0o755 })
      else if (byPath.get(parent)!.kind !== 'dir') throw new ContextTarError(`the context tar has "${parent}" both as a ${byPath.get(parent)!.kind} and as a directory`)
    }
  }
  const entries = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { entries }
}

/** A context as an uncompressed tar (the layer writer's deterministic format, mtime 0). */
export async function contextToTar(context: BuildContext): Promise<Uint8Array> {
  const changes: ChangeSet = {
    entries: context.entries.map((e) => {
      const base = { path: `/${e.path}`, mode: e.mode, uid: 0, gid: 0, mtime: 0 }
      if (e.kind === 'file') return { ...base, kind: 'file' as const, data: e.data ?? new Uint8Array() }
      if (e.kind === 'symlink') return { ...base, kind: 'symlink' as const, target: e.target ?? '' }
      return { ...base, kind: 'dir' as const }
    }),
  }
  return (await writeLayerTar(changes, { epoch: 0 })).tar
}
