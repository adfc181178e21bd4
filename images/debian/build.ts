// debian:latest (linux/386 and linux/amd64): a small Debian 12 (bookworm) userland made by
// mmdebstrap from Debian's own packages: the Essential set plus bash, coreutils, procps,
// iproute2, python3-minimal and less. A real distribution for lessons where busybox is too
// bare (`ps`, `ip`, `python3`, `dpkg -l`).
//
// mmdebstrap installs into a directory (maintainer scripts run in a chroot, i386 natively
// through IA32 emulation); the layer is then written by our own tar writer, so order, owners
// and times are fixed whatever mmdebstrap left on disk. What still varies between builds is
// the archive itself: a new point release or security update changes package versions.

import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exec } from '../exec.js'
import type { ImageBuild } from '../image-step.js'
import type { ImageVariant } from '../oci-writer.js'
import { FIXED_EPOCH_SECONDS, type LayerEntry } from '../tar-writer.js'

const ARCHES = [
  { debian: 'i386', oci: '386' },
  { debian: 'amd64', oci: 'amd64' },
] as const

const PACKAGES = ['bash', 'coreutils', 'procps', 'iproute2', 'python3-minimal', 'less']

// The suites this machine's own /etc/apt/sources.list.d/debian.sources names (main,
// updates, security): the only Debian mirror a build may reach.
const SOURCES = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
]

// Kept out at unpack time by dpkg, so they never cost disk or time: what a playground never
// reads. Copyright files stay (the licences travel with the binaries).
const DPKG_EXCLUDES = [
  '/usr/share/man/*',
  '/usr/share/doc/*',
  '/usr/share/info/*',
  '/usr/share/locale/*',
  '/usr/share/lintian/*',
  '/usr/share/bash-completion/*',
  '/usr/lib/*/gconv/*',
]

function mmdebstrapArgs(arch: string, into: string): string[] {
  return [
    // root when we are root, else a user namespace: both leave a plain directory.
    '--mode=auto',
    '--variant=essential',
    `--arch=${arch}`,
    `--include=${PACKAGES.join(',')}`,
    // Merged /usr the way debootstrap does it, with usr-is-merged: without this hook the
    // Essential init-system-helpers pulls in usrmerge, and with it 40 MB of perl.
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    'bookworm',
    into,
    ...SOURCES,
  ]
}

/** Paths (relative, no leading slash) dropped from the layer: caches, logs and state that
 *  differ per build or only serve apt, which a playground cannot reach the network with. */
function dropped(path: string): boolean {
  return (
    /^var\/lib\/apt\/lists\/./.test(path) ||
    /^var\/cache\/apt\/./.test(path) ||
    /^var\/log\/./.test(path) ||
    // what dpkg's path-exclude leaves behind: empty dirs, files made by maintainer scripts
    /^usr\/share\/(man|info|locale|lintian)\/./.test(path) ||
    (/^usr\/share\/doc\/[^/]+\/./.test(path) && !/^usr\/share\/doc\/[^/]+\/copyright$/.test(path)) ||
    /^var\/cache\/ldconfig\/aux-cache$/.test(path) ||
    /^var\/cache\/debconf\/.*-old$/.test(path) ||
    /^var\/lib\/dpkg\/.*-old$/.test(path) ||
    /^dev\/./.test(path) || // device nodes come from the runtime (devtmpfs, bind mounts)
    /^run\/./.test(path) ||
    /^tmp\/./.test(path)
  )
}

/** The layer entries of the tree at `rootDir`: regular files, directories and symlinks;
 *  hard links become 'hardlink' entries to the first name, in sorted order. */
export function treeEntries(rootDir: string): LayerEntry[] {
  const entries: LayerEntry[] = []
  const firstName = new Map<string, string>() // dev:ino → first path, for hard links
  const walk = (rel: string): void => {
    const names = readdirSync(join(rootDir, rel)).sort()
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`
      if (dropped(path)) continue
      const host = join(rootDir, path)
      const st = lstatSync(host)
      if (st.isDirectory()) {
        entries.push({ type: 'dir', path, mode: st.mode & 0o7777 })
        walk(path)
      } else if (st.isSymbolicLink()) {
        entries.push({ type: 'symlink', path, target: readlinkSync(host) })
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`
        const first = st.nlink > 1 ? firstName.get(key) : undefined
        if (first !== undefined && first < path) entries.push({ type: 'hardlink', path, target: first })
        else {
          if (st.nlink > 1) firstName.set(key, path)
          entries.push({ type: 'file', path, mode: st.mode & 0o7777, data: readFileSync(host) })
        }
      }
      // fifos, sockets and device nodes are left out: an image has no business shipping them.
    }
  }
  walk('')
  return entries
}

const rootfsDir = (cacheDir: string, arch: string) => join(cacheDir, 'artifacts', `rootfs-${arch}`)

export const debian: ImageBuild = {
  name: 'debian',
  inputs: ['images/debian'],
  packages: ['mmdebstrap', 'arch-test', 'debian-archive-keyring'],
  async build(ctx) {
    for (const arch of ARCHES) {
      const into = rootfsDir(ctx.cacheDir, arch.debian)
      const args = mmdebstrapArgs(arch.debian, `${into}.partial`)
      const stamp = `${into}.args`
      // A finished tree made with the same arguments is reused: mmdebstrap takes ~20 s an arch.
      if (existsSync(into) && existsSync(stamp) && readFileSync(stamp, 'utf8') === args.join('\n')) continue
      rmSync(`${into}.partial`, { recursive: true, force: true })
      mkdirSync(join(ctx.cacheDir, 'artifacts'), { recursive: true })
      ctx.log(`mmdebstrap ${arch.debian}: ${PACKAGES.join(' ')}`)
      exec('mmdebstrap', ['--quiet', ...args], {
        env: {
          ...process.env,
          SOURCE_DATE_EPOCH: String(FIXED_EPOCH_SECONDS),
          // dpkg looks for ldconfig and start-stop-daemon on PATH; a user's PATH may lack sbin.
          PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        },
      })
      rmSync(into, { recursive: true, force: true })
      renameSync(`${into}.partial`, into)
      writeFileSync(stamp, args.join('\n'))
    }
  },
  async recipe(cacheDir) {
    const variants: ImageVariant[] = ARCHES.map((arch) => {
      const dir = rootfsDir(cacheDir, arch.debian)
      if (!existsSync(join(dir, 'usr', 'bin', 'python3'))) {
        throw new Error(`the debian ${arch.debian} tree in ${dir} has no /usr/bin/python3; delete ${join(cacheDir, 'artifacts')} and run boxplay setup again`)
      }
      return {
        platform: { os: 'linux', architecture: arch.oci },
        config: { Cmd: ['bash'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' },
        layers: [treeEntries(dir)],
        createdBy: `boxplay images/debian: mmdebstrap --variant=essential bookworm ${arch.debian} + ${PACKAGES.join(',')}`,
      }
    })
    return { ref: 'debian:latest', variants }
  },
}
