// Builds the in-browser runtimes (v86 and wasi) with their browser wiring: worker script
// URLs and guest asset URLs come from the runtimes' own browser entry points. Imported
// lazily so the page shell appears before the engines load.

import type { Runtime } from '../runtimes/runtime.js'

export async function browserRuntime(id: 'v86' | 'wasi', _base: string): Promise<Runtime> {
  throw new Error(`the ${id} runtime is not wired into the playground yet`)
}
