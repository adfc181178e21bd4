// One emulated PC: v86 with SeaBIOS, the boxplay kernel, two UARTs (ttyS0 the terminal,
// ttyS1 init's control channel) and an empty virtio-9p filesystem the run fills later.

import { V86 } from 'v86'
import type { V86Assets } from './assets.js'
import type { V86Fs } from './filesystem.js'

/** The v86 package version a saved state is tied to (its state format changes between builds). */
export const V86_VERSION = '0.5.462'

/** `quiet`: printing the kernel log through the emulated UART costs seconds. */
export const KERNEL_CMDLINE = 'console=ttyS0 quiet'

export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024

/**
 * VGA memory: the guest is serial-only, and v86 saves all of it in every state, so the
 * default 8 MiB would be 7 MiB of zeros to store, ship and copy on each restore.
 */
const VGA_MEMORY_BYTES = 256 * 1024

/** Machine settings a saved state depends on besides kernel and memory (part of its key). */
export const MACHINE_PROFILE = `${KERNEL_CMDLINE}|vga=${VGA_MEMORY_BYTES}|uart1`

/** The parts of v86's emulator object we use; `fs9p` is there at runtime but not in v86.d.ts. */
export interface Emulator {
  add_listener(event: string, listener: (value: number) => void): void
  serial_send_bytes(port: number, data: Uint8Array): void
  save_state(): Promise<ArrayBuffer>
  restore_state(state: ArrayBuffer): Promise<void>
  run(): Promise<void>
  stop(): Promise<void>
  destroy(): Promise<void>
  fs9p: V86Fs
}

export interface MachineOptions {
  assets: V86Assets
  memoryBytes: number
  /** Restore this state instead of booting. */
  state?: ArrayBuffer
}

/** Creates the emulator and resolves once it runs (booting, or resumed from `state`). */
export async function startMachine(opts: MachineOptions): Promise<Emulator> {
  const [module, bios, kernel] = await Promise.all([
    opts.assets.wasm(),
    opts.assets.bios(),
    opts.state ? Promise.resolve(undefined) : opts.assets.kernel(),
  ])
  return await new Promise<Emulator>((resolve, reject) => {
    let emulator: Emulator
    try {
      emulator = new V86({
        wasm_fn: async (imports: WebAssembly.Imports) => (await WebAssembly.instantiate(module, imports)).exports,
        memory_size: opts.memoryBytes,
        vga_memory_size: VGA_MEMORY_BYTES,
        // Copies: v86 patches the kernel's setup header in place, and the originals are
        // shared by every run (and hashed into the state key).
        bios: { buffer: bios.slice(0) },
        ...(kernel ? { bzimage: { buffer: kernel.slice(0) }, cmdline: KERNEL_CMDLINE } : {}),
        filesystem: {},
        uart1: true,
        // Started by hand: a state is restored first, here, where its errors can be caught
        // (v86 restores `initial_state` from a timer, where a bad state is an unhandled rejection).
        autostart: false,
        disable_keyboard: true,
        disable_mouse: true,
        disable_speaker: true,
      }) as unknown as Emulator
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)))
      return
    }
    emulator.add_listener('emulator-loaded', () => {
      const go = async () => {
        if (opts.state) {
          try {
            await emulator.restore_state(opts.state)
          } catch (err) {
            await emulator.destroy().catch(() => {})
            throw new StateError(`the saved v86 state does not restore: ${err instanceof Error ? err.message : String(err)}`)
          }
        }
        await emulator.run()
        return emulator
      }
      go().then(resolve, reject)
    })
  })
}

/** A saved state that v86 refused; the caller boots cold instead. */
export class StateError extends Error {
  override name = 'StateError'
}
