// Where the native core's files are: the addon and the helper binary (built by the
// `native-core` setup step into dist/core/), and where runs keep their state.

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package root: the nearest directory above this module holding package.json (works
 *  both from dist/server/native/ and from the TypeScript sources under vitest). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('boxplay: cannot find package.json above server/native')
    dir = up
  }
  return dir
}

export function coreDir(): string {
  return process.env.BOXPLAY_CORE_DIR || join(packageRoot(), 'dist', 'core')
}

export const ADDON_FILE = 'boxplay-core.linux-x64-gnu.node'
export const HELPER_FILE = 'boxplay-init'

/**
 * Run directories (overlay upper/work, state.json). As root: /run/boxplay. Rootless:
 * $XDG_RUNTIME_DIR/boxplay, else /tmp/boxplay-<uid>. BOXPLAY_STATE_DIR overrides.
 * The directory must be on a filesystem that can hold an overlay upper dir (not overlayfs).
 */
export function defaultStateRoot(): string {
  if (process.env.BOXPLAY_STATE_DIR) return process.env.BOXPLAY_STATE_DIR
  const uid = process.getuid?.() ?? 0
  if (uid === 0) return '/run/boxplay'
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, 'boxplay')
  return `/tmp/boxplay-${uid}`
}
