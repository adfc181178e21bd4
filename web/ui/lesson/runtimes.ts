// The runtimes a lesson widget can use, wired for a page that loaded the widget bundle from
// some static site: v86 and wasi run in the browser with their assets found next to the
// bundle (guest/, images/, the wasm and worker chunks vite emitted); native is a
// `boxplay serve` on another origin, reached through the remote runtime.
// The browser runtimes themselves come from the playground's factory (web/ui/browser-runtimes.ts),
// given the bundle's folder as their asset base.

import { resolveImage, type ResolvedImage } from '../../oci/image.js'
import type { Platform } from '../../oci/platform.js'
import { RemoteRuntime } from '../../runtimes/remote/index.js'
import { LayoutSource, ServerSource } from '../../runtimes/remote/sources.js'
import type { Availability, Runtime } from '../../runtimes/runtime.js'
import { browserRuntime } from '../browser-runtimes.js'

export type LessonRuntimeId = 'v86' | 'wasi' | 'native'
export const LESSON_RUNTIMES: readonly LessonRuntimeId[] = ['v86', 'wasi', 'native']

export const RUNTIME_LABELS: Record<LessonRuntimeId, string> = {
  v86: 'VM (v86)',
  wasi: 'WebAssembly (WASI)',
  native: 'Container (native)',
}

/** Which platform of an image each runtime takes, in order of preference. */
const PLATFORMS: Record<LessonRuntimeId, Platform[]> = {
  v86: [{ os: 'linux', architecture: '386' }],
  wasi: [{ os: 'wasi', architecture: 'wasm' }],
  native: [
    { os: 'linux', architecture: '386' },
    { os: 'linux', architecture: 'amd64' },
  ],
}

let assetBase: URL | undefined

/** Set once by the bundle's entry (web/widget.ts) to the folder the bundle was loaded from. */
export function setAssetBase(url: string | URL): void {
  assetBase = new URL('./', url)
}

function base(): URL {
  // Without an entry telling us (e.g. a test page importing the elements directly), assume
  // the assets sit next to the page.
  return assetBase ?? new URL('./', globalThis.location.href)
}

export interface ServerAddress {
  /** Origin (and path) of the server, without a trailing slash. */
  baseUrl: string
  token?: string
}

/**
 * `server="http://127.0.0.1:4173/?token=…"`: the token may ride in the URL a teacher pastes.
 * `server="."`: the page's own origin, for pages `boxplay serve` serves itself (the lessons at
 * /lessons/): its token cookie, set when the learner opened the URL it printed, is sent.
 */
export function parseServerAttribute(text: string | null | undefined, token?: string | null): ServerAddress | undefined {
  if (!text) return undefined
  if (text === '.') return token ? { baseUrl: '', token } : { baseUrl: '' }
  let url: URL
  try {
    url = new URL(text, globalThis.location?.href)
  } catch {
    throw new Error(`server="${text}" is not a URL: give the address \`boxplay serve\` printed`)
  }
  const fromUrl = url.searchParams.get('token') ?? undefined
  url.search = ''
  url.hash = ''
  const baseUrl = url.href.replace(/\/$/, '')
  const t = token || fromUrl
  return t ? { baseUrl, token: t } : { baseUrl }
}

// One remote runtime per server; several widgets on a page share it (their runs stay separate).
const remotes = new Map<string, RemoteRuntime>()

async function make(id: LessonRuntimeId, server: ServerAddress | undefined): Promise<Runtime> {
  if (id !== 'native') return browserRuntime(id, base())
  if (!server) throw new Error('the native runtime needs a boxplay server: give the widget server="URL" (and run `boxplay serve --allow-origin` for this page)')
  let remote = remotes.get(server.baseUrl)
  if (!remote) {
    remote = new RemoteRuntime({ baseUrl: server.baseUrl, target: 'native', ...(server.token ? { token: server.token } : {}) })
    remotes.set(server.baseUrl, remote)
  }
  return remote
}

export interface RuntimeChoice {
  id: LessonRuntimeId
  runtime: Runtime | undefined
  availability: Availability
}

export async function loadRuntime(id: LessonRuntimeId, server: ServerAddress | undefined): Promise<RuntimeChoice> {
  try {
    const runtime = await make(id, server)
    return { id, runtime, availability: await runtime.available() }
  } catch (e) {
    return { id, runtime: undefined, availability: { ok: false, reason: e instanceof Error ? e.message : String(e) } }
  }
}

const images = new Map<string, Promise<ResolvedImage>>()

/**
 * An image for one runtime. Browser runtimes read the OCI layout shipped beside the bundle;
 * native reads the server's store, which holds the same bundled images.
 */
export function lessonImage(name: string, id: LessonRuntimeId, server: ServerAddress | undefined): Promise<ResolvedImage> {
  const key = `${id === 'native' ? server?.baseUrl : 'bundled'} ${id} ${name}`
  let image = images.get(key)
  if (!image) {
    const source =
      id === 'native' && server
        ? new ServerSource(server.baseUrl, server.token ? { headers: { authorization: `Bearer ${server.token}` } } : {})
        : new LayoutSource(new URL('images', base()).href)
    image = resolveFirst(source, name, PLATFORMS[id])
    images.set(key, image)
    image.catch(() => images.delete(key))
  }
  return image
}

async function resolveFirst(source: LayoutSource | ServerSource, name: string, platforms: Platform[]): Promise<ResolvedImage> {
  let last: unknown
  for (const platform of platforms) {
    try {
      return await resolveImage(source, name, platform)
    } catch (e) {
      last = e
    }
  }
  throw last instanceof Error ? last : new Error(`image ${name} has no platform this runtime takes`)
}
