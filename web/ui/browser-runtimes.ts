// Builds the in-browser runtimes (v86 and wasi) with their browser wiring, for the playground
// and the lesson widget alike. Each runtime's engine is imported only when it is first
// needed, so the page shell appears at once. Guest assets live under `assets` (beside the
// page for the playground, where the static site and `boxplay serve` ship dist/guest; beside
// the bundle for the widget, wherever it was copied); v86's wasm comes from the build.

import type { Runtime } from '../runtimes/runtime.js'

const made = new Map<string, Promise<Runtime>>()

async function makeV86(assets: URL): Promise<Runtime> {
  const [{ browserV86Runtime }, { default: wasmUrl }] = await Promise.all([
    import('../runtimes/v86/browser-assets.js'),
    import('v86/build/v86.wasm?url'),
  ])
  return browserV86Runtime({ guestUrl: new URL('guest/', assets), wasmUrl: new URL(wasmUrl, assets) })
}

async function makeWasi(): Promise<Runtime> {
  const { browserWasiRuntime } = await import('../runtimes/wasi/browser.js')
  const runtime = browserWasiRuntime()
  // A warm worker makes the first run start as fast as the later ones.
  if ((await runtime.available()).ok) void runtime.prewarm(1).catch(() => {})
  return runtime
}

/** One runtime of each kind per asset base: several widgets on a page share it (not their runs). */
export function browserRuntime(id: 'v86' | 'wasi', assets: URL = new URL('./', document.baseURI)): Promise<Runtime> {
  const key = `${id} ${assets.href}`
  let runtime = made.get(key)
  if (!runtime) {
    runtime = id === 'v86' ? makeV86(assets) : makeWasi()
    made.set(key, runtime)
    runtime.catch(() => made.delete(key))
  }
  return runtime
}
