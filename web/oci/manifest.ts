// Image indexes, manifests and config files: types and validating parsers. Registries and
// tarballs are untrusted input, so every field the rest of boxplay relies on is checked
// here, once, with errors that say what is wrong and what to do.

import type { ImageConfig } from '../runtimes/runtime.js'
import { DigestError, parseDigest } from './digest.js'
import {
  CONFIG_MEDIA_TYPES,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
  isSchema1MediaType,
} from './media-types.js'
import { type Platform, formatPlatform, platformMatches } from './platform.js'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: Platform
  annotations?: Record<string, string>
  urls?: string[]
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
}

export interface ImageConfigFile {
  architecture: string
  os: string
  variant?: string
  config?: ImageConfig
  /**
   * `config` as written, unvalidated beyond being an object: the fields runs do not read
   * (ExposedPorts, Labels, Volumes, StopSignal, Healthcheck, OnBuild…), which a build FROM
   * this image inherits.
   */
  rawConfig?: Record<string, unknown>
  rootfs: { type: 'layers'; diff_ids: string[] }
  history?: unknown[]
  created?: string
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ManifestError'
  }
}

export function isIndexMediaType(mt: string): boolean {
  return INDEX_MEDIA_TYPES.includes(mt)
}

export function isManifestMediaType(mt: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mt)
}

// ---------------------------------------------------------------------------------------
// Small validators over parsed JSON.

type Json = Record<string, unknown>

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function parseJson(bytes: Uint8Array | string, what: string): Json {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: false }).decode(bytes)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new ManifestError(`${what} is not valid JSON (${(e as Error).message}): the content is corrupt or not an image`)
  }
  if (!isObject(value)) throw new ManifestError(`${what} must be a JSON object`)
  return value
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new ManifestError(`${where} must be an object of strings`)
  }
  return v as Record<string, string>
}

function stringArray(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new ManifestError(`${where} must be an array of strings`)
  }
  return v as string[]
}

function requireString(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new ManifestError(`${where} must be a non-empty string`)
  return v
}

function validDigest(v: unknown, where: string): string {
  const digest = requireString(v, where)
  try {
    parseDigest(digest)
  } catch (e) {
    if (e instanceof DigestError) throw new ManifestError(`${where}: ${e.message}`)
    throw e
  }
  return digest
}

function parsePlatformField(v: unknown, where: string): Platform | undefined {
  if (v === undefined || v === null) return undefined
  if (!isObject(v)) throw new ManifestError(`${where} must be an object`)
  const os = requireString(v.os, `${where}.os`)
  const architecture = requireString(v.architecture, `${where}.architecture`)
  if (v.variant !== undefined && typeof v.variant !== 'string') throw new ManifestError(`${where}.variant must be a string`)
  return v.variant ? { os, architecture, variant: v.variant } : { os, architecture }
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw new ManifestError(`${where} must be an object`)
  const size = v.size
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestError(`${where}.size must be a non-negative integer, got ${JSON.stringify(size)}`)
  }
  const d: Descriptor = {
    mediaType: requireString(v.mediaType, `${where}.mediaType`),
    digest: validDigest(v.digest, `${where}.digest`),
    size,
  }
  const platform = parsePlatformField(v.platform, `${where}.platform`)
  if (platform) d.platform = platform
  const annotations = stringMap(v.annotations, `${where}.annotations`)
  if (annotations) d.annotations = annotations
  const urls = stringArray(v.urls, `${where}.urls`)
  if (urls) d.urls = urls
  return d
}

/** The media type a document claims (its own field wins over the transport's header). */
function documentMediaType(doc: Json, given: string | undefined, what: string): string | undefined {
  const own = doc.mediaType
  if (own !== undefined && typeof own !== 'string') throw new ManifestError(`${what}.mediaType must be a string`)
  // A registry's Content-Type may carry parameters (`; charset=utf-8`).
  const header = given?.split(';')[0]!.trim() || undefined
  const mt = own ?? header
  if (doc.schemaVersion === 1 || (mt !== undefined && isSchema1MediaType(mt) && doc.schemaVersion !== 2)) {
    throw new ManifestError(
      `${what} is a Docker schema 1 manifest, an obsolete format boxplay does not read: ` +
        `re-push the image with a current docker/podman/skopeo (they write schema 2 or OCI)`,
    )
  }
  if (doc.schemaVersion !== 2) {
    throw new ManifestError(`${what} has schemaVersion ${JSON.stringify(doc.schemaVersion)}; only schemaVersion 2 is supported`)
  }
  return mt
}

// ---------------------------------------------------------------------------------------

export function parseIndex(bytes: Uint8Array | string, mediaType?: string): ImageIndex {
  const doc = parseJson(bytes, 'image index')
  const mt = documentMediaType(doc, mediaType, 'image index')
  if (mt !== undefined && !isIndexMediaType(mt)) {
    const hint = isManifestMediaType(mt) ? ' (it is a single-platform manifest: use parseManifest)' : ''
    throw new ManifestError(`expected an image index but got media type "${mt}"${hint}`)
  }
  if (!Array.isArray(doc.manifests)) throw new ManifestError('image index has no "manifests" array')
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: doc.manifests.map((m, i) => parseDescriptor(m, `image index manifests[${i}]`)),
  }
  if (mt !== undefined) index.mediaType = mt
  const annotations = stringMap(doc.annotations, 'image index annotations')
  if (annotations) index.annotations = annotations
  return index
}

export function parseManifest(bytes: Uint8Array | string, mediaType?: string): ImageManifest {
  const doc = parseJson(bytes, 'image manifest')
  const mt = documentMediaType(doc, mediaType, 'image manifest')
  if (mt !== undefined && !isManifestMediaType(mt)) {
    const hint = isIndexMediaType(mt) ? ' (it is a multi-platform index: pick a platform first)' : ''
    throw new ManifestError(`expected an image manifest but got media type "${mt}"${hint}`)
  }
  if (mt === undefined && Array.isArray(doc.manifests)) {
    throw new ManifestError('expected an image manifest but got an image index: pick a platform first')
  }
  if (!Array.isArray(doc.layers)) throw new ManifestError('image manifest has no "layers" array')
  const manifest: ImageManifest = {
    schemaVersion: 2,
    config: parseDescriptor(doc.config, 'image manifest config'),
    layers: doc.layers.map((l, i) => parseDescriptor(l, `image manifest layers[${i}]`)),
  }
  if (mt !== undefined) manifest.mediaType = mt
  const annotations = stringMap(doc.annotations, 'image manifest annotations')
  if (annotations) manifest.annotations = annotations
  return manifest
}

/** Guesses index vs manifest for a document without a media type (OCI allows omitting it). */
export function sniffManifestMediaType(bytes: Uint8Array | string, given?: string): string {
  const doc = parseJson(bytes, 'manifest')
  const mt = documentMediaType(doc, given, 'manifest')
  if (mt !== undefined) return mt
  if (Array.isArray(doc.manifests)) return OCI_INDEX
  if (Array.isArray(doc.layers)) return OCI_MANIFEST
  throw new ManifestError('document is neither an image index nor an image manifest (no "manifests" or "layers")')
}

function parseRunConfig(v: unknown): ImageConfig | undefined {
  if (v === undefined || v === null) return undefined
  if (!isObject(v)) throw new ManifestError('image config "config" must be an object')
  const out: ImageConfig = {}
  const nullableArray = (key: 'Entrypoint' | 'Cmd' | 'Env'): void => {
    if (v[key] === null) out[key] = null
    else if (v[key] !== undefined) out[key] = stringArray(v[key], `image config config.${key}`)!
  }
  nullableArray('Entrypoint')
  nullableArray('Cmd')
  nullableArray('Env')
  for (const key of ['WorkingDir', 'User'] as const) {
    const value = v[key]
    if (value === undefined || value === null) continue
    if (typeof value !== 'string') throw new ManifestError(`image config config.${key} must be a string`)
    out[key] = value
  }
  return out
}

export function parseImageConfig(bytes: Uint8Array | string): ImageConfigFile {
  const doc = parseJson(bytes, 'image config')
  const rootfs = doc.rootfs
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw new ManifestError('image config has no valid rootfs ({"type":"layers","diff_ids":[…]}): it is not a container image config')
  }
  const file: ImageConfigFile = {
    architecture: requireString(doc.architecture, 'image config architecture'),
    os: requireString(doc.os, 'image config os'),
    rootfs: { type: 'layers', diff_ids: rootfs.diff_ids.map((d, i) => validDigest(d, `image config rootfs.diff_ids[${i}]`)) },
  }
  if (typeof doc.variant === 'string' && doc.variant !== '') file.variant = doc.variant
  const config = parseRunConfig(doc.config)
  if (config) file.config = config
  if (isObject(doc.config)) file.rawConfig = doc.config
  if (Array.isArray(doc.history)) file.history = doc.history
  if (typeof doc.created === 'string') file.created = doc.created
  return file
}

export function isConfigMediaType(mt: string): boolean {
  return CONFIG_MEDIA_TYPES.includes(mt)
}

/** Index entries that are images for a real platform (not buildkit attestations or `unknown/unknown`). */
export function imagePlatforms(index: ImageIndex): Platform[] {
  return index.manifests.filter(isRunnableEntry).map((m) => m.platform!)
}

function isRunnableEntry(d: Descriptor): boolean {
  return (
    d.platform !== undefined &&
    d.platform.os !== 'unknown' &&
    d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
    isManifestMediaType(d.mediaType)
  )
}

export function selectPlatform(index: ImageIndex, want: Platform, refForMessages: string): Descriptor {
  const match = index.manifests.find((m) => isRunnableEntry(m) && platformMatches(want, m.platform!))
  if (match) return match
  const available = imagePlatforms(index).map(formatPlatform)
  throw new ManifestError(
    available.length === 0
      ? `image ${refForMessages} lists no runnable platforms in its index`
      : `image ${refForMessages} has no ${formatPlatform(want)} variant; it is available for: ${available.join(', ')}. ` +
          `Choose one of those (e.g. --platform ${available[0]}).`,
  )
}

// Re-exported for callers that build documents (tests, the store).
export { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST }
