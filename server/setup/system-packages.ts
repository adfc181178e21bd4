// Debian packages, installed only when missing. boxplay never asks a human to apt-get:
// when root, it installs them itself; otherwise it prints the one command to run.

import { execFileSync, spawnSync } from 'node:child_process'

export function missingPackages(names: readonly string[]): string[] {
  if (names.length === 0) return []
  const res = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...names], { encoding: 'utf8' })
  const installed = new Set(
    res.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]!.replace(/:.*$/, '')),
  )
  return names.filter((n) => !installed.has(n.replace(/:.*$/, '')))
}

export function ensurePackages(names: readonly string[], log: (m: string) => void): void {
  const missing = missingPackages([...new Set(names)])
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) {
    throw new Error(
      `boxplay needs these Debian packages: ${missing.join(' ')}\n` +
        `install them with: sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`,
    )
  }
  log(`installing Debian packages: ${missing.join(' ')}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env })
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  })
}
