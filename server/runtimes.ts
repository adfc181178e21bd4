// The runtimes this machine offers, and which one runs an image when nobody says. Shared by
// `boxplay run` and `boxplay serve`, so both answer "which runtime?" the same way.

import { formatPlatform, type Platform } from '../web/oci/platform.js'
import type { Runtime, RuntimeKind } from '../web/runtimes/runtime.js'
import type { Store } from './store/store.js'

export type HostRuntimeKind = Exclude<RuntimeKind, 'remote'>

export const RUNTIME_KINDS: readonly HostRuntimeKind[] = ['native', 'wasi', 'v86']

/** Builds one runtime; the module behind each is imported only when it is asked for. */
export async function hostRuntime(kind: HostRuntimeKind, store: Store): Promise<Runtime> {
  switch (kind) {
    case 'native': {
      const { NativeRuntime } = await import('./native/index.js')
      return new NativeRuntime({ layerDirs: (image) => store.layerDirs(image) })
    }
    case 'wasi': {
      const { nodeWasiRuntime } = await import('./wasi/runtime.js')
      return nodeWasiRuntime()
    }
    case 'v86': {
      const [{ V86Runtime }, { nodeV86Assets }, { TreeCache }, { join }] = await Promise.all([
        import('../web/runtimes/v86/index.js'),
        import('./v86/node-assets.js'),
        import('./v86/tree-cache.js'),
        import('node:path'),
      ])
      // Image trees from per-layer indexes kept on disk: a big layer is not re-read each run.
      const trees = new TreeCache(join(store.home, 'cache', 'v86-trees'))
      // BOXPLAY_DEBUG: the runtime says where each run's time went (on stderr).
      const log = process.env.BOXPLAY_DEBUG ? { log: (m: string) => process.stderr.write(`boxplay: v86: ${m}\n`) } : {}
      return new V86Runtime({ assets: nodeV86Assets({ cacheDir: join(store.home, 'cache', 'v86') }), rootFs: (image) => trees.rootFs(image), ...log })
    }
  }
}

export async function hostRuntimes(store: Store): Promise<Runtime[]> {
  return Promise.all(RUNTIME_KINDS.map((kind) => hostRuntime(kind, store)))
}

export function parseRuntimeKind(text: string): HostRuntimeKind {
  const kind = RUNTIME_KINDS.find((k) => k === text)
  if (!kind) throw new Error(`unknown runtime "${text}": choose one of ${RUNTIME_KINDS.join(', ')}`)
  return kind
}

export interface Choice {
  runtime: Runtime
  platform: Platform
}

/**
 * Chooses a runtime and one of the image's platforms. Asked for a runtime, it finds a platform
 * that runtime takes; otherwise it prefers a real container for a host-runnable image when the
 * core is available, WASI for `wasi/wasm`, and the v86 VM for the rest (Docker picks the
 * host's platform the same way).
 */
export async function chooseRuntime(
  runtimeOf: (kind: HostRuntimeKind) => Promise<Runtime | undefined>,
  platforms: readonly Platform[],
  want: { kind?: HostRuntimeKind; platform?: Platform },
): Promise<Choice> {
  const candidates = want.platform ? [want.platform] : platforms
  const listed = platforms.map(formatPlatform).join(', ')
  const order: readonly HostRuntimeKind[] = want.kind ? [want.kind] : RUNTIME_KINDS
  const reasons: string[] = []
  for (const kind of order) {
    const runtime = await runtimeOf(kind)
    if (!runtime) continue
    const platform = candidates.find((p) => runtime.supports(p))
    if (!platform) {
      if (want.kind) {
        throw new Error(`the ${kind} runtime cannot run this image: it has ${listed}, and ${kind} takes ${takes(kind)}`)
      }
      continue
    }
    const availability = await runtime.available()
    if (availability.ok) return { runtime, platform }
    if (want.kind) throw new Error(`the ${kind} runtime is not available here: ${availability.reason}`)
    reasons.push(`${kind}: ${availability.reason}`)
  }
  throw new Error(
    `no runtime here can run an image for ${listed}` + (reasons.length ? ` (${reasons.join('; ')})` : ''),
  )
}

function takes(kind: HostRuntimeKind): string {
  return kind === 'wasi' ? 'wasi/wasm' : kind === 'v86' ? 'linux/386' : 'linux/386 and linux/amd64'
}
