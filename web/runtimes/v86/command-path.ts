// execvp's PATH search, done on the host against the image's tree before the guest starts.
// In a freshly restored emulator every execve that fails costs the guest ~10 ms (a new mm,
// argv and env copied, a 9p walk), and `echo` under Debian's PATH fails five times before
// /bin/echo. The host already holds the tree, so init gets the path and execs once.

import type { RootFs } from '../../oci/rootfs.js'

/** glibc's execvp default when the environment has no PATH. */
const DEFAULT_PATH = '/bin:/usr/bin'

/**
 * Where execvp would find `command` in `root` with `env`, or undefined to leave the search to
 * the guest: names with a slash (not searched), relative PATH entries (they depend on the
 * working directory), and commands not found (the guest reports those in its own words).
 */
export function findCommand(root: RootFs, command: string, env: readonly string[]): string | undefined {
  if (command === '' || command.includes('/')) return undefined
  const path = env.find((e) => e.startsWith('PATH='))?.slice('PATH='.length) ?? DEFAULT_PATH
  for (const dir of path.split(':')) {
    if (!dir.startsWith('/')) return undefined
    const candidate = `${dir.replace(/\/+$/, '')}/${command}`
    const node = root.lookup(candidate) // undefined also for symlink loops, as execve fails there
    if (node?.kind === 'file' && (node.mode & 0o111) !== 0) return candidate
  }
  return undefined
}
