// Build step: the guest init (images/init/init.c), a static i386 binary that the kernel
// step links into the guest kernel as its initramfs.

import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BuildStep } from '../../server/setup/step.js'

export const guestInitStep: BuildStep = {
  name: 'guest-init',
  inputs: ['images/init/init.c', 'images/init/protocol.h', 'images/init/step.ts'],
  outputs: ['dist/guest/init'],
  // gcc -m32 -static needs the i386 glibc; Debian ships it as libc6-dev-i386 (via gcc-multilib).
  packages: ['build-essential', 'gcc-multilib', 'libc6-dev-i386'],
  async run(ctx) {
    const out = join(ctx.distDir, 'guest')
    mkdirSync(out, { recursive: true })
    const src = join(ctx.root, 'images', 'init')
    execFileSync(
      'gcc',
      [
        '-m32', '-march=i686', '-static', '-Os', '-s', '-Wall', '-Wextra', '-Wno-unused-parameter',
        '-ffunction-sections', '-fdata-sections', '-Wl,--gc-sections', '-Wl,--build-id=none',
        `-ffile-prefix-map=${src}=.`,
        '-o', join(out, 'init'), join(src, 'init.c'),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    )
    ctx.log(`built ${join(out, 'init')}`)
  },
}
