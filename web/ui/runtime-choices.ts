// The three ways to run an image, as the playground offers them: each with its availability
// (and the reason when it is not), and the platform it would take from a given image.

import { formatPlatform, parsePlatform, type Platform } from '../oci/platform.js'
import { RemoteRuntime } from '../runtimes/remote/index.js'
import type { Availability, Runtime } from '../runtimes/runtime.js'
import type { RuntimeId } from './deep-link.js'
import type { PageEnv } from './page-env.js'
import { browserRuntime } from './browser-runtimes.js'

export interface RuntimeChoice {
  id: RuntimeId
  label: string
  /** One line on what isolates a run here: the lesson in a sentence. */
  blurb: string
  runtime: Runtime | undefined
  availability: Availability
}

const LABELS: Record<RuntimeId, { label: string; blurb: string }> = {
  v86: { label: 'Emulated VM (v86)', blurb: 'an emulated i386 PC booting its own Linux kernel' },
  wasi: { label: 'WASI worker', blurb: 'a WebAssembly module in a web worker; no kernel at all' },
  native: { label: 'Native container (server)', blurb: "namespaces and cgroups on the server's own kernel" },
}

async function choice(id: RuntimeId, make: () => Promise<Runtime>): Promise<RuntimeChoice> {
  const { label, blurb } = LABELS[id]
  try {
    const runtime = await make()
    const availability = await runtime.available()
    return { id, label, blurb, runtime, availability }
  } catch (e) {
    return { id, label, blurb, runtime: undefined, availability: { ok: false, reason: (e as Error).message } }
  }
}

/** Each runtime as it becomes ready (in RUNTIME_IDS order), so one slow to load holds up no other. */
export function loadRuntimes(env: PageEnv, base = ''): Promise<RuntimeChoice>[] {
  return [
    choice('v86', () => browserRuntime('v86')),
    choice('wasi', () => browserRuntime('wasi')),
    choice('native', async () => {
      if (!env.authorized) throw new Error(env.serverProblem ?? 'no boxplay server')
      return new RemoteRuntime({ baseUrl: base, target: 'native' })
    }),
  ]
}

/** What the switch shows for a runtime still loading. */
export function pendingChoice(id: RuntimeId): RuntimeChoice {
  return { id, ...LABELS[id], runtime: undefined, availability: { ok: false, reason: 'checking…' } }
}

/** The first of the image's platforms this runtime takes, or why none fits. */
export function platformFor(choice: RuntimeChoice, imagePlatforms: readonly Platform[]): { platform: Platform } | { reason: string } {
  if (!choice.availability.ok) return { reason: choice.availability.reason }
  const runtime = choice.runtime!
  const fit = imagePlatforms.find((p) => runtime.supports(p))
  if (fit) return { platform: fit }
  const takes = ['linux/386', 'linux/amd64', 'wasi/wasm'].filter((p) => runtime.supports(parsePlatform(p)))
  return { reason: `takes ${takes.join(' or ')} images; this one is ${imagePlatforms.map(formatPlatform).join(', ') || 'not readable'}` }
}
