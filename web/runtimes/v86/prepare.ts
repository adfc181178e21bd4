// Boots the guest once, up to boxplay-init waiting for its spec, and saves the machine
// there. The build ships such states for the default memory size (with and without a NIC);
// runs restore them.

import type { SavedState, V86Assets } from './assets.js'
import { machineStateKey, startMachine } from './machine.js'
import { FrameReader, fields } from './protocol.js'

export async function prepareState(
  assets: V86Assets,
  memoryBytes: number,
  timeoutMs = 120_000,
  nic = false,
): Promise<{ key: string; saved: SavedState }> {
  const key = await machineStateKey(await assets.kernel(), memoryBytes, nic)
  const emulator = await startMachine({ assets, memoryBytes, nic })
  try {
    let console = ''
    emulator.add_listener('serial0-output-byte', (b) => (console = (console + String.fromCharCode(b)).slice(-2000)))
    const release = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the guest did not reach boxplay-init within ${timeoutMs} ms; console:\n${console}`)),
        timeoutMs,
      )
      const reader = new FrameReader((frame) => {
        if (frame.type !== 'R') return
        clearTimeout(timer)
        resolve(fields(frame.payload)[0] ?? '')
      })
      emulator.add_listener('serial1-output-byte', (b) => reader.push(b))
    })
    return { key, saved: { state: await emulator.save_state(), release } }
  } finally {
    await emulator.destroy().catch(() => {})
  }
}
