// The build context: the files COPY and ADD may take, as the host read them (a directory on
// the server, dropped files in a browser), with `.dockerignore` applied as Docker does
// (@balena/dockerignore). No DOM and no Node APIs.

import * as dockerignoreModule from '@balena/dockerignore'
import type { FileData } from '../oci/rootfs.js'

// A CommonJS module whose types claim an ES default export: take whichever the loader gives.
type IgnoreFactory = (options?: { ignorecase?: boolean }) => {
  add(patterns: string[]): { ignores(path: string): boolean }
}
const dockerignore: IgnoreFactory =
  (dockerignoreModule as unknown as { default?: IgnoreFactory }).default ?? (dockerignoreModule as unknown as IgnoreFactory)

export interface ContextEntry {
  /** Relative to the context root, `/`-separated, no leading `./` or `/`. */
  path: string
  kind: 'file' | 'dir' | 'symlink'
  /** Permission bits (07777). */
  mode: number
  data?: FileData
  target?: string
}

export interface BuildContext {
  /** Every entry, parents before children. */
  entries: readonly ContextEntry[]
}

/** The context without what `.dockerignore` excludes (the Dockerfile and .dockerignore stay readable, as in Docker). */
export function applyDockerignore(entries: readonly ContextEntry[], ignoreText: string | undefined): ContextEntry[] {
  if (ignoreText === undefined) return [...entries]
  const patterns = ignoreText
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  const ig = dockerignore({ ignorecase: false }).add(patterns)
  return entries.filter((e) => !ig.ignores(e.path))
}

/** A Docker source pattern (filepath.Match per component: `*`, `?`, `[…]`) as a RegExp. */
export function globRegExp(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end < 0) re += '\\['
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`
        i = end
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

export function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern)
}
