// The emulated PC itself: restoring a saved state the fast way (restoreFresh, which skips
// v86's clearing of memory that is still zero) must give the guest the very memory that v86's
// own restore gives it. A v86 upgrade that writes more of a new machine's memory fails here.

import { describe, expect, test } from 'vitest'
import { BIOS_AREA_END, DEFAULT_MEMORY_BYTES, createMachine, machineStateKey, restoreFresh } from '../../web/runtimes/v86/machine.js'
import { assets } from './helpers.js'

describe('v86 machine', () => {
  test('a new machine has nothing above the BIOS area, and restoreFresh restores what v86 does', async () => {
    const key = await machineStateKey(await assets.kernel(), DEFAULT_MEMORY_BYTES)
    const saved = await assets.loadState(key)
    expect(saved, 'the build ships a saved state for the default memory size').toBeDefined()

    const fresh = await createMachine(assets, DEFAULT_MEMORY_BYTES, false)
    const theirs = await createMachine(assets, DEFAULT_MEMORY_BYTES, false)
    try {
      const memory = fresh.v86.cpu.mem8.subarray(0, fresh.v86.cpu.memory_size[0])
      expect(memory.subarray(0, BIOS_AREA_END).some((b) => b !== 0), 'v86 loads the BIOS below 1 MiB').toBe(true)
      expect(firstNonZero(memory.subarray(BIOS_AREA_END)), 'v86 wrote above the BIOS area of a new machine').toBe(-1)

      await restoreFresh(fresh, saved!.state)
      await theirs.restore_state(saved!.state)
      const a = fresh.v86.cpu.mem8.subarray(0, fresh.v86.cpu.memory_size[0])
      const b = theirs.v86.cpu.mem8.subarray(0, theirs.v86.cpu.memory_size[0])
      expect(a.length).toBe(b.length)
      expect(firstDifference(a, b)).toBe(-1)
    } finally {
      await fresh.destroy()
      await theirs.destroy()
    }
  })
})

/** Index of the first non-zero byte, or -1 (word at a time: 64 MiB byte by byte is slow). */
function firstNonZero(bytes: Uint8Array): number {
  const words = new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3)
  for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return i * 8
  return -1
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const x = new BigUint64Array(a.buffer, a.byteOffset, a.byteLength >> 3)
  const y = new BigUint64Array(b.buffer, b.byteOffset, b.byteLength >> 3)
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i * 8
  return -1
}
