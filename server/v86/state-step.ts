// Build step: the files the v86 runtime needs beside the kernel, in dist/guest so the static
// site ships them too: SeaBIOS, and a machine state saved with init waiting (default memory),
// so the first run already restores in a fraction of a second instead of booting.

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BuildStep } from '../setup/step.js'
import { DEFAULT_MEMORY_BYTES } from '../../web/runtimes/v86/machine.js'
import { prepareState } from '../../web/runtimes/v86/prepare.js'
import { nodeV86Assets, writeState } from './node-assets.js'

export const guestStateStep: BuildStep = {
  name: 'guest-state',
  inputs: [
    'dist/guest/bzImage',
    'node_modules/v86/package.json',
    'server/v86/state-step.ts',
    'server/v86/node-assets.ts',
    'web/runtimes/v86/machine.ts',
    'web/runtimes/v86/assets.ts',
    'web/runtimes/v86/prepare.ts',
    'web/runtimes/v86/protocol.ts',
  ],
  outputs: ['dist/guest/bios.bin', 'dist/guest/states/index.json'],
  packages: ['seabios'],
  after: ['guest-kernel'],
  async run(ctx) {
    const guest = join(ctx.distDir, 'guest')
    copyFileSync('/usr/share/seabios/bios.bin', join(guest, 'bios.bin'))
    const states = join(guest, 'states')
    rmSync(states, { recursive: true, force: true }) // states of an older kernel are dead weight
    mkdirSync(states, { recursive: true })
    const assets = nodeV86Assets({ guestDir: guest, cacheDir: join(ctx.cacheDir, 'unused') })
    ctx.log('booting the guest once to save its state')
    const { key, saved } = await prepareState(assets, DEFAULT_MEMORY_BYTES)
    await writeState(states, key, saved, 'gzip')
    writeFileSync(join(states, 'index.json'), JSON.stringify({ states: [key] }, null, 2) + '\n')
    ctx.log(`saved ${key} (kernel ${saved.release})`)
  },
}
