// Loads the Rust addon (dist/core/boxplay-core.linux-x64-gnu.node) and gives it types.
// The addon spawns dist/core/boxplay-init for each run; see crates/boxplay-core/src/lib.rs.

import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { ADDON_FILE, HELPER_FILE, coreDir } from './paths.js'

/** An opaque run handle owned by the addon. */
export interface CoreHandle {
  readonly __brand: 'boxplay-core run'
}

export type CoreMessage = 'stdout' | 'stderr' | 'event' | 'exit'

export interface NativeCore {
  spawn(
    helper: string,
    specJson: string,
    cols: number,
    rows: number,
    stdin: boolean,
    callback: (kind: CoreMessage, data: Buffer | string) => void,
  ): CoreHandle
  write(handle: CoreHandle, data: Uint8Array): void
  closeStdin(handle: CoreHandle): void
  resize(handle: CoreHandle, cols: number, rows: number): void
  kill(handle: CoreHandle, signo: number): void
  /** JSON: { removed: string[], failed: string[] } */
  sweep(stateRoot: string): string
  /** Removes a run dir (a kept run's changes); what was left behind, or undefined. */
  removeRun(runDir: string): string | undefined
}

export interface LoadedCore {
  core: NativeCore
  helper: string
}

let cached: LoadedCore | undefined

/** Loads the addon once; throws with what to do when it is not built. */
export function loadCore(): LoadedCore {
  if (cached) return cached
  const dir = coreDir()
  const addon = join(dir, ADDON_FILE)
  const helper = join(dir, HELPER_FILE)
  for (const file of [addon, helper]) {
    if (!existsSync(file)) throw new Error(`the native core is not built (${file} is missing): run \`npm run setup\``)
  }
  const require = createRequire(import.meta.url)
  cached = { core: require(addon) as NativeCore, helper }
  return cached
}
