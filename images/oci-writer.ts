// Writes OCI image layouts (oci-layout, index.json, blobs/sha256) for the bundled images,
// deterministically: canonical JSON (sorted keys, no spaces), fixed `created`, layers from
// the deterministic tar writer, gzip with no timestamp. Rebuilding the same inputs gives
// byte-identical blobs, so digests only change when an image's contents do.

import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { digestOf } from '../web/oci/digest.js'
import type { Descriptor, ImageIndex } from '../web/oci/manifest.js'
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from '../web/oci/media-types.js'
import type { Platform } from '../web/oci/platform.js'
import type { ImageConfig } from '../web/runtimes/runtime.js'
import { FIXED_CREATED, type LayerEntry, writeTar } from './tar-writer.js'

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'

/** One platform of an image: its config and its layers, bottom first. */
export interface ImageVariant {
  platform: Platform
  config: ImageConfig
  layers: LayerEntry[][]
  /** Words for `history[].created_by`, e.g. what built the layer. */
  createdBy: string
}

/** A named image: one variant gives a plain manifest, several give an image index. */
export interface ImageRecipe {
  /** The layout's `org.opencontainers.image.ref.name`, e.g. `busybox:latest`. */
  ref: string
  variants: ImageVariant[]
}

/** JSON with object keys sorted at every level and no whitespace: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value)
    if (text === undefined) throw new Error(`cannot write ${typeof value} as JSON`)
    return text
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

function blobPath(layoutDir: string, digest: string): string {
  return join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length))
}

export function initLayout(layoutDir: string): void {
  mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true })
  writeFileSync(join(layoutDir, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }))
}

export async function writeBlob(layoutDir: string, bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
  const digest = await digestOf(bytes)
  const path = blobPath(layoutDir, digest)
  if (!existsSync(path)) writeFileSync(path, bytes)
  return { mediaType, digest, size: bytes.length }
}

/** gzip with mtime 0 and no file name in its header: node:zlib writes exactly that. */
export function gzipLayer(tar: Uint8Array): Uint8Array {
  return gzipSync(tar, { level: 9 })
}

async function writeVariant(layoutDir: string, variant: ImageVariant): Promise<Descriptor> {
  const layerDescriptors: Descriptor[] = []
  const diffIds: string[] = []
  for (const entries of variant.layers) {
    const tar = writeTar(entries)
    diffIds.push(await digestOf(tar))
    layerDescriptors.push(await writeBlob(layoutDir, gzipLayer(tar), OCI_LAYER_GZIP))
  }
  const { platform } = variant
  const config = {
    created: FIXED_CREATED,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: variant.config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: variant.layers.map(() => ({ created: FIXED_CREATED, created_by: variant.createdBy })),
  }
  const configDescriptor = await writeBlob(layoutDir, new TextEncoder().encode(canonicalJson(config)), OCI_CONFIG)
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDescriptor, layers: layerDescriptors }
  const descriptor = await writeBlob(layoutDir, new TextEncoder().encode(canonicalJson(manifest)), OCI_MANIFEST)
  return { ...descriptor, platform }
}

/** Writes one image's blobs into the layout and returns its index.json descriptor. */
export async function writeImage(layoutDir: string, recipe: ImageRecipe): Promise<Descriptor> {
  if (recipe.variants.length === 0) throw new Error(`image ${recipe.ref} has no variants: give it at least one platform`)
  const annotations = { [REF_NAME_ANNOTATION]: recipe.ref }
  const manifests: Descriptor[] = []
  for (const variant of recipe.variants) manifests.push(await writeVariant(layoutDir, variant))
  if (manifests.length === 1) return { ...manifests[0]!, annotations }
  const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests }
  const descriptor = await writeBlob(layoutDir, new TextEncoder().encode(canonicalJson(index)), OCI_INDEX)
  return { ...descriptor, annotations }
}

function refOf(d: Descriptor): string {
  return d.annotations?.[REF_NAME_ANNOTATION] ?? ''
}

export function writeIndex(layoutDir: string, manifests: readonly Descriptor[]): void {
  const sorted = [...manifests].sort((a, b) => (refOf(a) < refOf(b) ? -1 : refOf(a) > refOf(b) ? 1 : 0))
  const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: sorted }
  writeFileSync(join(layoutDir, 'index.json'), canonicalJson(index))
}

/** A fresh layout at `layoutDir` holding exactly these images (anything there before is removed). */
export async function writeLayout(layoutDir: string, recipes: readonly ImageRecipe[]): Promise<void> {
  rmSync(layoutDir, { recursive: true, force: true })
  initLayout(layoutDir)
  const manifests: Descriptor[] = []
  for (const recipe of recipes) manifests.push(await writeImage(layoutDir, recipe))
  writeIndex(layoutDir, manifests)
}

/**
 * A fresh layout at `outDir` with every image of the given layouts (blobs copied, refs kept).
 * Only the layout's own entries (oci-layout, index.json, blobs/) are replaced: dist/images
 * also holds tsc's output for images/*.ts (tsconfig's outDir is dist), which must survive.
 */
export function mergeLayouts(outDir: string, layoutDirs: readonly string[]): void {
  rmSync(join(outDir, 'index.json'), { force: true })
  rmSync(join(outDir, 'blobs'), { recursive: true, force: true })
  initLayout(outDir)
  const manifests: Descriptor[] = []
  const seen = new Set<string>()
  for (const dir of layoutDirs) {
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as ImageIndex
    for (const d of index.manifests) {
      const ref = refOf(d)
      if (seen.has(ref)) throw new Error(`two layouts both hold ${ref || 'an unnamed image'} (second in ${dir}); name each image once`)
      seen.add(ref)
      manifests.push(d)
    }
    const blobs = join(dir, 'blobs', 'sha256')
    for (const name of readdirSync(blobs).sort()) {
      const to = join(outDir, 'blobs', 'sha256', name)
      if (!existsSync(to)) copyFileSync(join(blobs, name), to)
    }
  }
  writeIndex(outDir, manifests)
}
