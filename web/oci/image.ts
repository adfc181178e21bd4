// Resolving an image through any content source (the on-disk store, a registry, the
// server, memory) down to one platform, and building its merged RootFs in memory.

import type { RunImage, LayerRef } from '../runtimes/runtime.js'
import { decompressBytes } from './compression.js'
import { verifyDigest } from './digest.js'
import { applyLayer } from './apply-layer.js'
import type { LayerIndexSource } from './layer-index.js'
import {
  type Descriptor,
  type ImageConfigFile,
  type ImageIndex,
  type ImageManifest,
  ManifestError,
  imagePlatforms,
  isConfigMediaType,
  isIndexMediaType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  selectPlatform,
  sniffManifestMediaType,
} from './manifest.js'
import { isLayerMediaType } from './media-types.js'
import { type Platform, formatPlatform, platformMatches } from './platform.js'
import { familiarName } from './reference.js'
import { RootFs } from './rootfs.js'
import { readTarSync } from './tar.js'

export interface ContentSource {
  /** An index or manifest by reference (name[:tag], or a digest). */
  manifest(refOrDigest: string): Promise<{ mediaType: string; bytes: Uint8Array; digest: string }>
  /** A blob by digest, verified against it. */
  blob(digest: string): Promise<Uint8Array>
  /** Layer indexes and file contents by hash, when this source publishes them (see layer-index.ts). */
  readonly layerIndexes?: LayerIndexSource
}

export type ResolvedImage = RunImage & {
  index?: ImageIndex
  manifest: ImageManifest
  configFile: ImageConfigFile
  /** Every platform the image offers (one for a single-platform image). */
  platforms: Platform[]
}

/** When an index offers several platforms and the caller names none, the first of these present wins. */
export const DEFAULT_PLATFORM_ORDER: readonly Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: '386' },
  { os: 'wasi', architecture: 'wasm' },
]

function displayName(name: string): string {
  try {
    return familiarName(name)
  } catch {
    return name // a digest or a store-local name: show it as given
  }
}

function pickDefault(index: ImageIndex, name: string): Descriptor {
  const platforms = imagePlatforms(index)
  // One platform (or none: selectPlatform then says the index lists nothing runnable).
  if (platforms.length <= 1) return selectPlatform(index, platforms[0] ?? { os: 'none', architecture: 'none' }, name)
  for (const p of DEFAULT_PLATFORM_ORDER) {
    if (platforms.some((have) => platformMatches(p, have))) return selectPlatform(index, p, name)
  }
  throw new ManifestError(
    `image ${name} is available for several platforms (${platforms.map(formatPlatform).join(', ')}) ` +
      `and none is a default: choose one with --platform`,
  )
}

export async function resolveImage(src: ContentSource, name: string, want?: Platform): Promise<ResolvedImage> {
  const shown = displayName(name)
  const top = await src.manifest(name)
  await verifyDigest(top.bytes, top.digest)
  const topType = sniffManifestMediaType(top.bytes, top.mediaType)

  let index: ImageIndex | undefined
  let manifestDigest = top.digest
  let manifestBytes = top.bytes
  let manifestType = topType
  let indexPlatform: Platform | undefined
  if (isIndexMediaType(topType)) {
    index = parseIndex(top.bytes, topType)
    const desc = want ? selectPlatform(index, want, shown) : pickDefault(index, shown)
    indexPlatform = desc.platform
    const m = await src.manifest(desc.digest)
    await verifyDigest(m.bytes, desc.digest, desc.size)
    manifestDigest = desc.digest
    manifestBytes = m.bytes
    manifestType = desc.mediaType
  }
  const manifest = parseManifest(manifestBytes, manifestType)
  if (!isConfigMediaType(manifest.config.mediaType)) {
    throw new ManifestError(`${shown} is not a container image: its config has media type "${manifest.config.mediaType}" (an OCI artifact?)`)
  }
  const configBytes = await src.blob(manifest.config.digest)
  await verifyDigest(configBytes, manifest.config.digest, manifest.config.size)
  const configFile = parseImageConfig(configBytes)
  const platform: Platform = configFile.variant
    ? { os: configFile.os, architecture: configFile.architecture, variant: configFile.variant }
    : { os: configFile.os, architecture: configFile.architecture }
  if (want && !platformMatches(want, platform) && !(indexPlatform && platformMatches(want, indexPlatform))) {
    throw new ManifestError(`image ${shown} is for ${formatPlatform(platform)}, not ${formatPlatform(want)}: choose a matching image or platform`)
  }
  const diffIds = configFile.rootfs.diff_ids
  if (diffIds.length !== manifest.layers.length) {
    throw new ManifestError(`image ${shown} is inconsistent: ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`)
  }
  const layers: LayerRef[] = manifest.layers.map((l, i) => {
    if (!isLayerMediaType(l.mediaType)) {
      throw new ManifestError(`image ${shown} layer ${i} has media type "${l.mediaType}", which is not a tar layer boxplay can read`)
    }
    return { digest: l.digest, diffId: diffIds[i]!, mediaType: l.mediaType, size: l.size }
  })
  const image: ResolvedImage = {
    name: shown,
    digest: manifestDigest,
    platform,
    config: configFile.config ?? {},
    layers,
    blob: (digest) => src.blob(digest),
    manifest,
    configFile,
    platforms: index ? imagePlatforms(index) : [platform],
  }
  if (index) image.index = index
  if (src.layerIndexes) image.layerIndexes = src.layerIndexes
  return image
}

export interface BuildRootFsOptions {
  /** Cap on the uncompressed size of all layers together (a decompression bomb guard). */
  maxBytes?: number
}

/**
 * Fetches, decompresses and applies every layer in order. Blobs come verified from the
 * source (their compressed digest binds the content, so diff_ids are not rehashed); file
 * contents stay views into the decompressed layers.
 */
export async function buildRootFs(image: RunImage, opts: BuildRootFsOptions = {}): Promise<RootFs> {
  const fs = new RootFs()
  let total = 0
  for (const layer of image.layers) {
    const blob = await image.blob(layer.digest)
    const left = opts.maxBytes === undefined ? undefined : opts.maxBytes - total
    const tar = await decompressBytes(layer.mediaType, blob, left === undefined ? {} : { maxBytes: left })
    total += tar.byteLength
    applyLayer(fs, readTarSync(tar))
  }
  return fs
}
