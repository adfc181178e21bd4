// The built image's documents: the config (with a history entry per step) and the manifest,
// serialised with a fixed key order so the same state gives the same digests everywhere.
// No DOM and no Node APIs.

import { digestOf } from '../oci/digest.js'
import { OCI_CONFIG, OCI_MANIFEST } from '../oci/media-types.js'
import type { ImageState } from './builder.js'

export interface ImageDocuments {
  config: { bytes: Uint8Array; digest: string }
  manifest: { bytes: Uint8Array; digest: string }
}

const encoder = new TextEncoder()

export async function imageDocuments(state: ImageState): Promise<ImageDocuments> {
  const config = {
    created: new Date(state.epoch * 1000).toISOString(),
    architecture: state.platform.architecture,
    os: state.platform.os,
    ...(state.platform.variant ? { variant: state.platform.variant } : {}),
    ...(state.author !== undefined ? { author: state.author } : {}),
    config: state.config,
    rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffId) },
    history: state.history,
  }
  const configBytes = encoder.encode(JSON.stringify(config))
  const configDigest = await digestOf(configBytes)
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: configBytes.byteLength },
    layers: state.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  }
  const manifestBytes = encoder.encode(JSON.stringify(manifest))
  return { config: { bytes: configBytes, digest: configDigest }, manifest: { bytes: manifestBytes, digest: await digestOf(manifestBytes) } }
}
