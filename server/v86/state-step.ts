// Build step: the files the v86 runtime needs beside the kernel, in dist/guest so the static
// site ships them too: SeaBIOS, and a machine state saved with init waiting (default memory),
// so the first run already restores in a fraction of a second instead of booting (and one
// with a NIC for networked runs).

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
    const keys: string[] = []
    // One state without a NIC (runs without a network) and one with (networked runs).
    for (const nic of [false, true]) {
      ctx.log(`booting the guest once to save its state${nic ? ' with a NIC' : ''}`)
      const { key, saved } = await prepareState(assets, DEFAULT_MEMORY_BYTES, undefined, nic)
      await writeState(states, key, saved, 'gzip')
      keys.push(key)
      ctx.log(`saved ${key} (kernel ${saved.release})`)
    }
    writeFileSync(join(states, 'index.json'), JSON.stringify({ states: keys }, null, 2) + '\n')
  },
}
