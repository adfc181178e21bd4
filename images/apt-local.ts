// Fetching Debian packages and sources with apt WITHOUT touching the system's apt state:
// a project-local sources list, lists directory and cache under the build step's cache
// dir, so neither /etc/apt, /var/lib/apt nor the system's architectures change.
// Needs network access to deb.debian.org (the one mirror the build may use) and `apt`.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exec } from './exec.js'

const MIRROR = 'http://deb.debian.org/debian'
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
const SUITE = 'bookworm'

export interface AptRoot {
  dir: string
  options: string[]
}

/**
 * An apt configuration living in `dir`: `kind` 'deb' for binary packages of `arch`,
 * 'deb-src' for source packages. Runs `apt-get update` against it unless its lists exist.
 */
export function aptRoot(dir: string, kind: 'deb' | 'deb-src', arch = 'amd64'): AptRoot {
  const lists = join(dir, 'lists')
  mkdirSync(join(lists, 'partial'), { recursive: true })
  mkdirSync(join(dir, 'cache', 'archives', 'partial'), { recursive: true })
  const sourcesList = join(dir, 'sources.list')
  // bookworm main only: point releases carry the security fixes we need, and one suite is
  // one index to keep consistent (the security mirror was seen mid-sync, failing updates).
  writeFileSync(sourcesList, `${kind} [signed-by=${KEYRING}] ${MIRROR} ${SUITE} main\n`)
  const options = [
    `-oAPT::Architecture=${arch}`,
    `-oAPT::Architectures=${arch}`,
    `-oDir::Etc::SourceList=${sourcesList}`,
    '-oDir::Etc::SourceParts=/dev/null',
    `-oDir::State::Lists=${lists}`,
    `-oDir::Cache=${join(dir, 'cache')}`,
    // As root apt would drop to the _apt user, which cannot write into our cache dir.
    ...(process.getuid?.() === 0 ? ['-oAPT::Sandbox::User=root'] : []),
    '-q',
  ]
  const hasLists = readdirSync(lists).some((f) => f.endsWith('Release') || f.endsWith('InRelease'))
  if (!hasLists) exec('apt-get', [...options, 'update'])
  return { dir, options }
}

/** Runs an apt-get command; if it fails, refreshes the lists once and retries (a cached
 *  index goes stale when Debian publishes a point release and the old files leave the pool). */
function aptGet(root: AptRoot, args: string[], cwd: string): void {
  try {
    exec('apt-get', [...root.options, ...args], { cwd })
  } catch {
    exec('apt-get', [...root.options, 'update'])
    exec('apt-get', [...root.options, ...args], { cwd })
  }
}

/** Downloads `pkg` (e.g. `busybox-static:i386`) into `into` unless a matching .deb is there. */
export function aptDownload(root: AptRoot, pkg: string, into: string): string {
  mkdirSync(into, { recursive: true })
  const name = pkg.replace(/:.*$/, '')
  const find = (): string | undefined => readdirSync(into).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'))
  const cached = find()
  if (cached) return join(into, cached)
  aptGet(root, ['download', pkg], into)
  const got = find()
  if (!got) throw new Error(`apt-get download ${pkg} succeeded but left no ${name}_*.deb in ${into}`)
  return join(into, got)
}

/**
 * Downloads the Debian source package `pkg` into `into` (unless its .dsc is there) and
 * unpacks it with Debian's patches applied into `into/<pkg>-src`. Returns that directory.
 */
export function aptSource(root: AptRoot, pkg: string, into: string): string {
  mkdirSync(into, { recursive: true })
  const find = (): string | undefined => readdirSync(into).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.dsc'))
  if (!find()) aptGet(root, ['source', '--download-only', pkg], into)
  const dsc = find()
  if (!dsc) throw new Error(`apt-get source ${pkg} succeeded but left no ${pkg}_*.dsc in ${into}`)
  const srcDir = join(into, `${pkg}-src`)
  if (!existsSync(srcDir)) {
    // Unpack beside it and rename, so an interrupted build never leaves half a tree behind.
    const partial = `${srcDir}.partial`
    rmSync(partial, { recursive: true, force: true })
    // apt has already checked the files against the signed Sources index, hence --no-check.
    exec('dpkg-source', ['-x', '--no-check', dsc, partial], { cwd: into })
    renameSync(partial, srcDir)
  }
  return srcDir
}
