// Builds the in-browser runtimes (v86 and wasi) with their browser wiring. Each runtime's
// engine is imported only when it is first needed, so the page shell appears at once.
// Guest assets live beside the page (guest/: the static site and `boxplay serve` both ship
// dist/guest there); v86's wasm comes from the build.

import type { Runtime } from '../runtimes/runtime.js'

const made = new Map<string, Promise<Runtime>>()

async function makeV86(): Promise<Runtime> {
  const [{ browserV86Runtime }, { default: wasmUrl }] = await Promise.all([
    import('../runtimes/v86/browser-assets.js'),
    import('v86/build/v86.wasm?url'),
  ])
  return browserV86Runtime({ guestUrl: new URL('guest/', document.baseURI), wasmUrl: new URL(wasmUrl, document.baseURI) })
}

async function makeWasi(): Promise<Runtime> {
  const { browserWasiRuntime } = await import('../runtimes/wasi/browser.js')
  const runtime = browserWasiRuntime()
  // A warm worker makes the first run start as fast as the later ones.
  if ((await runtime.available()).ok) void runtime.prewarm(1).catch(() => {})
  return runtime
}

export function browserRuntime(id: 'v86' | 'wasi', _base: string): Promise<Runtime> {
  let runtime = made.get(id)
  if (!runtime) {
    runtime = id === 'v86' ? makeV86() : makeWasi()
    made.set(id, runtime)
  }
  return runtime
}
