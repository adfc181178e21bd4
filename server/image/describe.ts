// What `images` and `inspect` show about a stored image, as plain JSON-able data (the
// --json output is exactly these objects, so keep field names stable).

import { statSync } from 'node:fs'
import {
  type ImageConfigFile,
  type ImageIndex,
  type ImageManifest,
  imagePlatforms,
  isIndexMediaType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  sniffManifestMediaType,
} from '../../web/oci/manifest.js'
import { formatPlatform } from '../../web/oci/platform.js'
import { splitName } from '../store/names.js'
import type { ImageEntry, Store } from '../store/store.js'
import { existsSync } from 'node:fs'

export interface ImageSummary {
  name: string | null
  repository: string
  tag: string
  digest: string
  mediaType: string
  /** Platforms the image offers. */
  platforms: string[]
  /** Platforms whose layers are all in the store (runnable offline). */
  pulledPlatforms: string[]
  /** Bytes of this image's blobs present in the store. */
  size: number
}

export interface LayerInfo {
  digest: string
  diffId: string | null
  mediaType: string
  size: number
  present: boolean
  unpacked: boolean
}

export interface ManifestInfo {
  digest: string
  platform: string | null
  present: boolean
  manifest?: ImageManifest
  config?: ImageConfigFile
  layers: LayerInfo[]
}

export interface ImageDetails extends ImageSummary {
  index?: ImageIndex
  manifests: ManifestInfo[]
}

async function manifestInfo(store: Store, digest: string, mediaType: string, platform: string | null): Promise<ManifestInfo> {
  const bytes = await store.tryReadBlob(digest)
  if (bytes === undefined) return { digest, platform, present: false, layers: [] }
  const manifest = parseManifest(bytes, mediaType)
  const configBytes = await store.tryReadBlob(manifest.config.digest)
  let config: ImageConfigFile | undefined
  try {
    config = configBytes ? parseImageConfig(configBytes) : undefined
  } catch {
    config = undefined // an artifact's config: shown without layers' diff-ids
  }
  const info: ManifestInfo = {
    digest,
    platform: platform ?? (config ? formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }) : null),
    present: true,
    manifest,
    layers: manifest.layers.map((l, i) => {
      const diffId = config?.rootfs.diff_ids[i] ?? null
      return {
        digest: l.digest,
        diffId,
        mediaType: l.mediaType,
        size: l.size,
        present: store.hasBlob(l.digest),
        unpacked: diffId !== null && existsSync(store.layerDir(diffId)),
      }
    }),
  }
  if (config) info.config = config
  return info
}

export async function inspectImage(store: Store, entry: ImageEntry): Promise<ImageDetails> {
  const d = entry.descriptor
  const top = await store.readBlob(d.digest, d.size)
  const mediaType = sniffManifestMediaType(top, d.mediaType)
  let index: ImageIndex | undefined
  let manifests: ManifestInfo[]
  let platforms: string[]
  if (isIndexMediaType(mediaType)) {
    index = parseIndex(top, mediaType)
    const runnable = new Set(imagePlatforms(index).map(formatPlatform))
    manifests = []
    for (const m of index.manifests) {
      const p = m.platform ? formatPlatform(m.platform) : null
      if (p === null || !runnable.has(p)) continue // attestations and the like
      manifests.push(await manifestInfo(store, m.digest, m.mediaType, p))
    }
    platforms = [...runnable]
  } else {
    manifests = [await manifestInfo(store, d.digest, mediaType, null)]
    platforms = manifests[0]!.platform ? [manifests[0]!.platform] : []
  }
  const reached = await store.reach(d)
  let size = 0
  for (const digest of reached.digests) {
    try {
      size += statSync(store.blobPath(digest)).size
    } catch {
      // not pulled (another platform's layers)
    }
  }
  const { repository, tag } = entry.name ? splitName(entry.name) : { repository: '<none>', tag: '<none>' }
  const details: ImageDetails = {
    name: entry.name ?? null,
    repository,
    tag,
    digest: d.digest,
    mediaType,
    platforms,
    pulledPlatforms: manifests.filter((m) => m.present && m.layers.every((l) => l.present) && m.platform).map((m) => m.platform!),
    size,
    manifests,
  }
  if (index) details.index = index
  return details
}

/** Never throws: an entry whose blobs are missing or damaged is listed with what is known. */
export async function summarizeImage(store: Store, entry: ImageEntry): Promise<ImageSummary> {
  try {
    const { name, repository, tag, digest, mediaType, platforms, pulledPlatforms, size } = await inspectImage(store, entry)
    return { name, repository, tag, digest, mediaType, platforms, pulledPlatforms, size }
  } catch {
    const { repository, tag } = entry.name ? splitName(entry.name) : { repository: '<none>', tag: '<none>' }
    const d = entry.descriptor
    return { name: entry.name ?? null, repository, tag, digest: d.digest, mediaType: d.mediaType, platforms: [], pulledPlatforms: [], size: 0 }
  }
}

export function humanBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n
  let u = -1
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000
    u++
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`
}
