// Build step: the guest kernel. Debian's linux-source-6.1, `make ARCH=i386 tinyconfig`, then
// boxplay.config on top, with the guest init linked in as the initramfs. The unpacked tree
// and the object directory stay in the step's cache dir, so a config or init change is an
// incremental build, not a fresh 3-minute one.

import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BuildContext, BuildStep } from '../../server/setup/step.js'

const SOURCE_TARBALL = '/usr/src/linux-source-6.1.tar.xz'

/** Fixed build identity, so two machines build the same bytes. */
const BUILD_EPOCH = Date.UTC(2024, 0, 1) / 1000
const REPRODUCIBLE_ENV = {
  KBUILD_BUILD_TIMESTAMP: '2024-01-01 00:00:00 UTC',
  KBUILD_BUILD_USER: 'boxplay',
  KBUILD_BUILD_HOST: 'boxplay',
  KBUILD_BUILD_VERSION: '1',
}

export const guestKernelStep: BuildStep = {
  name: 'guest-kernel',
  inputs: ['images/kernel/boxplay.config', 'images/kernel/patches', 'images/kernel/step.ts', 'dist/guest/init'],
  outputs: ['dist/guest/bzImage'],
  packages: ['linux-source-6.1', 'build-essential', 'flex', 'bison', 'bc', 'libelf-dev', 'xz-utils', 'patch'],
  after: ['guest-init'],
  async run(ctx) {
    const src = unpack(ctx)
    applyPatches(ctx, src)
    const out = join(ctx.cacheDir, 'build')
    mkdirSync(out, { recursive: true })
    const env = { ...process.env, ...REPRODUCIBLE_ENV, ARCH: 'i386' }
    // Kconfig chatters on stdout; errors still reach stderr.
    const make = (...args: string[]) =>
      execFileSync('make', ['-s', '-C', src, `O=${out}`, 'ARCH=i386', ...args], {
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      })

    // The initramfs: just the init binary and the nodes it needs before devtmpfs is up.
    // gen_init_cpio stores a file's own mtime (KBUILD_BUILD_TIMESTAMP covers only the other
    // entries), so init goes in as a copy with a fixed mtime; the old archive is deleted so
    // make cannot keep it for being "newer" than that copy.
    const init = join(ctx.cacheDir, 'init')
    copyFileSync(join(ctx.distDir, 'guest', 'init'), init)
    utimesSync(init, BUILD_EPOCH, BUILD_EPOCH)
    for (const stale of ['initramfs_data.cpio', 'initramfs_inc_data']) rmSync(join(out, 'usr', stale), { force: true })
    const list = join(ctx.cacheDir, 'initramfs.list')
    writeFileSync(
      list,
      ['dir /dev 0755 0 0', 'nod /dev/console 0600 0 0 c 5 1', 'dir /newroot 0755 0 0', `file /init ${init} 0755 0 0`, ''].join('\n'),
    )
    const fragment = join(ctx.root, 'images', 'kernel', 'boxplay.config')
    const generated = join(ctx.cacheDir, 'generated.config')
    writeFileSync(generated, `CONFIG_INITRAMFS_SOURCE="${list}"\nCONFIG_INITRAMFS_COMPRESSION_NONE=y\n`)

    ctx.log('configuring (tinyconfig + images/kernel/boxplay.config)')
    make('tinyconfig')
    execFileSync(join(src, 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '-O', out, join(out, '.config'), fragment, generated], {
      env,
      stdio: ['ignore', 'ignore', 'ignore'],
    })
    make('olddefconfig')
    checkConfig(join(out, '.config'), [fragment, generated])

    ctx.log('building bzImage (make -j2; a first build takes a few minutes)')
    make('-j2', 'bzImage')
    mkdirSync(join(ctx.distDir, 'guest'), { recursive: true })
    copyFileSync(join(out, 'arch', 'x86', 'boot', 'bzImage'), join(ctx.distDir, 'guest', 'bzImage'))
  },
}

function unpack(ctx: BuildContext): string {
  const src = join(ctx.cacheDir, 'linux-source-6.1')
  const marker = join(ctx.cacheDir, '.unpacked')
  if (existsSync(marker) && existsSync(src)) return src
  if (!existsSync(SOURCE_TARBALL)) {
    throw new Error(`${SOURCE_TARBALL} is missing: install Debian's linux-source-6.1 package`)
  }
  ctx.log(`unpacking ${SOURCE_TARBALL}`)
  rmSync(src, { recursive: true, force: true })
  execFileSync('tar', ['-xJf', SOURCE_TARBALL, '-C', ctx.cacheDir], { stdio: ['ignore', 'inherit', 'inherit'] })
  writeFileSync(marker, '')
  return src
}

/** images/kernel/patches/*.patch, in name order; each once (the unpacked tree is kept). */
function applyPatches(ctx: BuildContext, src: string): void {
  const dir = join(ctx.root, 'images', 'kernel', 'patches')
  if (!existsSync(dir)) return
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.patch')).sort()) {
    const file = join(dir, name)
    const applied = spawnSync('patch', ['-p1', '-R', '--dry-run', '-s', '-f', '-d', src, '-i', file]).status === 0
    if (applied) continue
    ctx.log(`patching the kernel: ${name}`)
    const res = spawnSync('patch', ['-p1', '-s', '-f', '-d', src, '-i', file], { encoding: 'utf8' })
    if (res.status !== 0) {
      throw new Error(`kernel patch ${name} does not apply to ${src}: ${res.stdout}${res.stderr}; delete ${ctx.cacheDir} to start from a clean tree`)
    }
  }
}

/** Kconfig silently drops options whose dependencies are unmet: fail loudly instead. */
function checkConfig(configPath: string, fragments: string[]): void {
  const config = new Set(readFileSync(configPath, 'utf8').split('\n'))
  const missing: string[] = []
  for (const fragment of fragments) {
    for (const line of readFileSync(fragment, 'utf8').split('\n')) {
      if (!/^(CONFIG_|# CONFIG_)/.test(line)) continue
      if (!config.has(line)) missing.push(line)
    }
  }
  if (missing.length) {
    throw new Error(
      `the guest kernel config lost these requested options (unmet dependencies?):\n  ${missing.join('\n  ')}\n` +
        `fix images/kernel/boxplay.config`,
    )
  }
}
