// Everything an index.json entry keeps alive: the blobs it reaches (index → manifests →
// config + layers) and the diff-ids of its layers (for the layer cache). Blobs that are not
// in the store (platforms pulled without their layers, foreign layers) are simply skipped.

import { type Descriptor, isIndexMediaType, isManifestMediaType, parseImageConfig, parseIndex, parseManifest, sniffManifestMediaType } from '../../web/oci/manifest.js'

export interface Reached {
  digests: Set<string>
  diffIds: Set<string>
}

/** Reads a blob, or undefined when it is absent. */
export type BlobReader = (digest: string) => Promise<Uint8Array | undefined>

export async function walkDescriptor(read: BlobReader, d: Descriptor, into: Reached, depth = 0): Promise<void> {
  if (depth > 8) return // nested indexes deeper than this are not images
  into.digests.add(d.digest)
  let mediaType = d.mediaType
  if (!isIndexMediaType(mediaType) && !isManifestMediaType(mediaType)) return
  const bytes = await read(d.digest)
  if (bytes === undefined) return
  mediaType = sniffManifestMediaType(bytes, mediaType)
  if (isIndexMediaType(mediaType)) {
    for (const child of parseIndex(bytes, mediaType).manifests) await walkDescriptor(read, child, into, depth + 1)
    return
  }
  const manifest = parseManifest(bytes, mediaType)
  into.digests.add(manifest.config.digest)
  for (const layer of manifest.layers) into.digests.add(layer.digest)
  const config = await read(manifest.config.digest)
  if (config === undefined) return
  try {
    for (const diffId of parseImageConfig(config).rootfs.diff_ids) into.diffIds.add(diffId)
  } catch {
    // not a container image config (an artifact): no layers to keep unpacked
  }
}

/** Every blob digest (with its descriptor) reachable from `d`, in fetch order: children first. */
export async function reachableDescriptors(read: BlobReader, d: Descriptor): Promise<Descriptor[]> {
  const out = new Map<string, Descriptor>()
  const visit = async (desc: Descriptor, depth: number): Promise<void> => {
    if (depth > 8 || out.has(desc.digest)) return
    if (isIndexMediaType(desc.mediaType) || isManifestMediaType(desc.mediaType)) {
      const bytes = await read(desc.digest)
      if (bytes !== undefined) {
        const mt = sniffManifestMediaType(bytes, desc.mediaType)
        if (isIndexMediaType(mt)) {
          for (const child of parseIndex(bytes, mt).manifests) await visit(child, depth + 1)
        } else {
          const m = parseManifest(bytes, mt)
          out.set(m.config.digest, m.config)
          for (const l of m.layers) out.set(l.digest, l)
        }
      }
    }
    out.set(desc.digest, desc)
  }
  await visit(d, 0)
  return [...out.values()]
}
