// Reads a build context directory into the builder's model (web/build/context.ts): every
// regular file, directory and symlink under it, `.dockerignore` applied, sorted. Paths never
// leave the directory (symlinks are kept as links, not followed).

import { lstat, readFile, readdir, readlink } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { applyDockerignore, type BuildContext, type ContextEntry } from '../../web/build/context.js'

export async function readContextDir(dir: string): Promise<BuildContext> {
  const root = resolve(dir)
  const st = await lstat(root).catch(() => undefined)
  if (!st?.isDirectory()) throw new Error(`build context ${dir} is not a directory: give the directory holding the files to COPY`)
  const entries: ContextEntry[] = []
  const walk = async (hostDir: string): Promise<void> => {
    for (const name of (await readdir(hostDir)).sort()) {
      const hostPath = join(hostDir, name)
      const path = relative(root, hostPath).split('\\').join('/')
      const s = await lstat(hostPath)
      const mode = s.mode & 0o7777
      if (s.isDirectory()) {
        entries.push({ path, kind: 'dir', mode })
        await walk(hostPath)
      } else if (s.isSymbolicLink()) entries.push({ path, kind: 'symlink', mode: 0o777, target: await readlink(hostPath) })
      else if (s.isFile()) {
        const size = s.size
        entries.push({ path, kind: 'file', mode, data: { size, load: async () => new Uint8Array(await readFile(hostPath)) } })
      }
      // Sockets, fifos and devices cannot be copied into an image.
    }
  }
  await walk(root)
  const ignore = await readFile(join(root, '.dockerignore'), 'utf8').catch(() => undefined)
  return { entries: applyDockerignore(entries, ignore) }
}
