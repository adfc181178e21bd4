// One emulated PC: v86 with SeaBIOS, the boxplay kernel, two UARTs (ttyS0 the terminal,
// ttyS1 init's control channel) and an empty virtio-9p filesystem the run fills later.

import { V86 } from 'v86'
import { type V86Assets, stateKey } from './assets.js'
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

/**
 * A networked machine has a virtio-net NIC (v86's `net_device: virtio`); the others keep v86's
 * default ne2k, which the guest kernel has no driver for, so they have only lo. The NIC is
 * probed at boot, so each kind has its own saved state.
 */
const NIC_PROFILE = '|nic=virtio'

/** The key of this machine's saved state: its kernel (init inside), memory and settings, v86. */
export function machineStateKey(kernel: ArrayBuffer, memoryBytes: number, nic = false): Promise<string> {
  return stateKey(kernel, memoryBytes, MACHINE_PROFILE + (nic ? NIC_PROFILE : ''), V86_VERSION)
}

/** The parts of v86's emulator object we use; `fs9p` is there at runtime but not in v86.d.ts. */
export interface Emulator {
  add_listener(event: 'net0-send', listener: (frame: Uint8Array) => void): void
  add_listener(event: string, listener: (value: number) => void): void
  serial_send_bytes(port: number, data: Uint8Array): void
  save_state(): Promise<ArrayBuffer>
  restore_state(state: ArrayBuffer): Promise<void>
  run(): Promise<void>
  stop(): Promise<void>
  destroy(): Promise<void>
  fs9p: V86Fs
  /** v86's device bus; `net0-receive` puts an Ethernet frame into the guest's NIC. */
  bus: { send(event: 'net0-receive', frame: Uint8Array): void }
  /** v86's internals, reached into only by enableJit and restoreFresh below. */
  v86: { cpu: V86Cpu }
}

interface V86Cpu {
  zero_memory(offset: number, length: number): void
  set_jit_config(index: number, value: number): void
  memory_size: Uint32Array
  mem8: Uint8Array
}

/** v86's set_jit_config index for "JIT disabled". */
const JIT_DISABLED = 0

/**
 * Machines start with v86's JIT off and the run switches it on once the command has been
 * going a while (see V86Run). Right after a boot or a restore the guest runs code it will not
 * run again soon (the BIOS, kernel init, the first fork and exec), and compiling that to wasm
 * costs more than interpreting it: restore → first output went from ~0.5 s to ~0.3 s here, a
 * cold boot from ~1.1 s to ~0.9 s, and a 16 MiB sha256 in the guest got no slower.
 */
export function enableJit(emulator: Emulator): void {
  emulator.v86.cpu.set_jit_config(JIT_DISABLED, 0)
}

/** Below 1 MiB v86 copies the BIOS images into a new machine's memory; above it is untouched. */
export const BIOS_AREA_END = 1 << 20

/**
 * Restores `state` into a machine that has never run. v86 zeroes all guest memory before it
 * writes the saved pages, which makes the host fault in every page of a fresh (already zero)
 * wasm memory: ~30 ms for 64 MiB. Only the BIOS area has anything to clear there.
 * test/v86/machine.test.ts checks that this restores the same memory as v86's own way.
 */
export async function restoreFresh(emulator: Emulator, state: ArrayBuffer): Promise<void> {
  const cpu = emulator.v86.cpu
  const zeroMemory = cpu.zero_memory
  cpu.zero_memory = (offset, length) => {
    if (offset === 0 && length === cpu.memory_size[0]) cpu.mem8.fill(0, 0, BIOS_AREA_END)
    else zeroMemory.call(cpu, offset, length)
  }
  try {
    await emulator.restore_state(state)
  } finally {
    cpu.zero_memory = zeroMemory
  }
}

export interface MachineOptions {
  assets: V86Assets
  memoryBytes: number
  /** Restore this state instead of booting. */
  state?: ArrayBuffer
  /** A virtio-net NIC (see NIC_PROFILE). */
  nic?: boolean
}

/** Creates the emulator and resolves once it runs (booting, or resumed from `state`). */
export async function startMachine(opts: MachineOptions): Promise<Emulator> {
  const emulator = await createMachine(opts.assets, opts.memoryBytes, opts.state === undefined, opts.nic === true)
  if (opts.state) {
    try {
      await restoreFresh(emulator, opts.state)
    } catch (err) {
      await emulator.destroy().catch(() => {})
      throw new StateError(`the saved v86 state does not restore: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  await emulator.run()
  return emulator
}

/** A machine that has not run yet: with the kernel to boot, or empty for a state to restore. */
export async function createMachine(assets: V86Assets, memoryBytes: number, withKernel: boolean, nic = false): Promise<Emulator> {
  const [module, bios, kernel] = await Promise.all([
    assets.wasm(),
    assets.bios(),
    withKernel ? assets.kernel() : Promise.resolve(undefined),
  ])
  return await new Promise<Emulator>((resolve, reject) => {
    let emulator: Emulator
    try {
      emulator = new V86({
        wasm_fn: async (imports: WebAssembly.Imports) => (await WebAssembly.instantiate(module, imports)).exports,
        memory_size: memoryBytes,
        vga_memory_size: VGA_MEMORY_BYTES,
        // Copies: v86 patches the kernel's setup header in place, and the originals are
        // shared by every run (and hashed into the state key).
        bios: { buffer: bios.slice(0) },
        ...(kernel ? { bzimage: { buffer: kernel.slice(0) }, cmdline: KERNEL_CMDLINE } : {}),
        filesystem: {},
        // No relay_url: v86 creates no network adapter, and the frames go to our switch.
        ...(nic ? { net_device: { type: 'virtio' } } : {}),
        uart1: true,
        // Started by hand: a state is restored first, where its errors can be caught (v86
        // restores `initial_state` from a timer, where a bad state is an unhandled rejection).
        autostart: false,
        disable_keyboard: true,
        disable_mouse: true,
        disable_speaker: true,
        disable_jit: true, // until enableJit
      }) as unknown as Emulator
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)))
      return
    }
    emulator.add_listener('emulator-loaded', () => resolve(emulator))
  })
}

/** A saved state that v86 refused; the caller boots cold instead. */
export class StateError extends Error {
  override name = 'StateError'
}
