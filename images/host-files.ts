// Turning files on the build machine into layer entries, keeping only what an image should
// carry: contents and the executable bit (never the build machine's owner, umask or times).

import { lstatSync, readFileSync } from 'node:fs'
import type { LayerEntry } from './tar-writer.js'

/** A host file as a layer file: mode 0755 if the host file is executable, else 0644. */
export function hostFile(hostPath: string, imagePath: string, mode?: number): LayerEntry {
  const st = lstatSync(hostPath)
  if (!st.isFile()) throw new Error(`${hostPath} is not a regular file; expected a build artifact there`)
  return { type: 'file', path: imagePath, mode: mode ?? (st.mode & 0o111 ? 0o755 : 0o644), data: readFileSync(hostPath) }
}

/** The empty directories a Linux userland expects to find (mount points and scratch). */
export function linuxSkeletonDirs(): LayerEntry[] {
  return [
    { type: 'dir', path: 'dev', mode: 0o755 },
    { type: 'dir', path: 'proc', mode: 0o555 },
    { type: 'dir', path: 'sys', mode: 0o555 },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
  ]
}
