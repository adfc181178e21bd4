// busybox:latest (linux/386): Debian's busybox-static for i386, one symlink to /bin/busybox
// for every applet `busybox --list-full` reports, and a minimal /etc and directory skeleton.
// Symlinks rather than hard links: v86's 9p filesystem has no hard links and would copy the
// 2 MB binary for each of the ~270 applets.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { aptDownload, aptRoot } from '../apt-local.js'
import { exec } from '../exec.js'
import type { ImageBuild } from '../image-step.js'
import { hostFile, linuxSkeletonDirs } from '../host-files.js'
import type { LayerEntry } from '../tar-writer.js'

const DEB = 'busybox-static:i386'

export const busybox: ImageBuild = {
  name: 'busybox',
  inputs: ['images/busybox', 'images/apt-local.ts', 'images/host-files.ts'],
  packages: ['apt', 'dpkg'],
  async build(ctx) {
    const deb = aptDownload(aptRoot(join(ctx.cacheDir, 'apt-i386'), 'deb', 'i386'), DEB, join(ctx.cacheDir, 'debs'))
    const root = join(ctx.cacheDir, 'artifacts', 'root')
    rmSync(root, { recursive: true, force: true })
    mkdirSync(root, { recursive: true })
    exec('dpkg-deb', ['-x', deb, root])
    let applets: string
    try {
      applets = exec(join(root, 'bin', 'busybox'), ['--list-full'])
    } catch (err) {
      throw new Error(
        `cannot run the i386 busybox to list its applets (${err instanceof Error ? err.message : String(err)}); ` +
          'this build needs a kernel that runs i386 binaries (CONFIG_IA32_EMULATION, not disabled with ia32_emulation=0)',
      )
    }
    writeFileSync(join(ctx.cacheDir, 'artifacts', 'applets.txt'), applets)
  },
  async recipe(cacheDir, root) {
    const artifacts = join(cacheDir, 'artifacts')
    const applets = readFileSync(join(artifacts, 'applets.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '')
    if (applets.length < 100) throw new Error(`busybox listed only ${applets.length} applets; its build in ${artifacts} looks broken, delete it and rebuild`)
    const entries: LayerEntry[] = [
      ...linuxSkeletonDirs(),
      { type: 'dir', path: 'root', mode: 0o700 },
      { type: 'dir', path: 'home', mode: 0o755 },
      { type: 'dir', path: 'var', mode: 0o755 },
      { type: 'dir', path: 'etc', mode: 0o755 },
      hostFile(join(root, 'images', 'busybox', 'passwd'), 'etc/passwd', 0o644),
      hostFile(join(root, 'images', 'busybox', 'group'), 'etc/group', 0o644),
      hostFile(join(artifacts, 'root', 'bin', 'busybox'), 'bin/busybox', 0o755),
      hostFile(join(artifacts, 'root', 'usr', 'share', 'doc', 'busybox-static', 'copyright'), 'usr/share/doc/busybox-static/copyright', 0o644),
    ]
    for (const applet of applets) {
      if (applet === 'bin/busybox') continue
      entries.push({ type: 'symlink', path: applet, target: '/bin/busybox' })
    }
    return {
      ref: 'busybox:latest',
      variants: [
        {
          platform: { os: 'linux', architecture: '386' },
          config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' },
          layers: [entries],
          createdBy: `boxplay images/busybox: Debian ${DEB} with applet symlinks`,
        },
      ],
    }
  },
}
