// Where things live: the package root (for bundled assets under dist/) and the store home.
// Code runs both from sources (vitest) and compiled under dist/, so the package root is
// found by walking up to boxplay's own package.json rather than by a fixed number of `..`.

import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

let cachedRoot: string | undefined

/** The directory holding boxplay's package.json (works from sources and from dist/). */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }
        if (pkg.name === 'boxplay') return (cachedRoot = dir)
      } catch {
        // not ours (or unreadable): keep climbing
      }
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find boxplay's package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}

/** The version field of boxplay's package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
}

/** The OCI layout of the bundled images, built by `boxplay setup` (may not exist yet). */
export function bundledImagesDir(): string {
  return join(packageRoot(), 'dist', 'images')
}

/**
 * The store: `--home` beats `$BOXPLAY_HOME`, which beats `$XDG_DATA_HOME/boxplay`, which
 * beats `~/.local/share/boxplay`.
 */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BOXPLAY_HOME) return resolve(env.BOXPLAY_HOME)
  if (env.XDG_DATA_HOME) return resolve(env.XDG_DATA_HOME, 'boxplay')
  return join(env.HOME || homedir(), '.local', 'share', 'boxplay')
}
