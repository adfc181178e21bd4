// Opens a `docker save` tarball (or an OCI archive) dropped onto the page, entirely in the
// browser: its files become an in-memory ContentSource the runtimes resolve images from.

import { digestOf } from '../oci/digest.js'
import type { ContentSource } from '../oci/image.js'
import { sniffManifestMediaType } from '../oci/manifest.js'
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST } from '../oci/media-types.js'
import { familiarName } from '../oci/reference.js'
import { readTarSync } from '../oci/tar.js'

export interface OpenedArchive {
  source: ContentSource
  /** Image names found in the archive (RepoTags, or the OCI ref.name annotations). */
  names: string[]
}

const REF_NAME = 'org.opencontainers.image.ref.name'

interface DockerSaveEntry {
  Config: string
  RepoTags?: string[] | null
  Layers: string[]
}

function json(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new Error(`the archive's ${what} is not valid JSON`)
  }
}

/** `docker.io/library/busybox:latest` → `busybox:latest`, as Docker shows names. */
function shortName(name: string): string {
  try {
    return familiarName(name)
  } catch {
    return name
  }
}

export async function openArchive(archive: Uint8Array, fallbackName: string): Promise<OpenedArchive> {
  const files = new Map<string, Uint8Array>()
  try {
    for (const entry of readTarSync(archive)) {
      if (entry.type === 'file') files.set(entry.path.replace(/^\.\//, ''), entry.data)
    }
  } catch (e) {
    throw new Error(`this file is not a tar archive (${(e as Error).message}): drop a \`docker save\` tarball or an OCI archive`)
  }
  const blobs = new Map<string, Uint8Array>()
  const named = new Map<string, { mediaType: string; digest: string }>()
  for (const [path, data] of files) {
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path)
    if (m) blobs.set(`sha256:${m[1]}`, data)
  }

  const index = files.get('index.json')
  const manifestJson = files.get('manifest.json')
  if (manifestJson) {
    // Docker's format: one entry per image, layers as paths inside the archive.
    const entries = json(manifestJson, 'manifest.json') as DockerSaveEntry[]
    if (!Array.isArray(entries)) throw new Error("the archive's manifest.json is not a list of images")
    for (const [i, entry] of entries.entries()) {
      const config = files.get(entry.Config)
      if (!config) throw new Error(`the archive lacks ${entry.Config}, the config its manifest.json names`)
      const configDigest = await digestOf(config)
      blobs.set(configDigest, config)
      const layers = []
      for (const path of entry.Layers) {
        const layer = files.get(path)
        if (!layer) throw new Error(`the archive lacks the layer ${path} its manifest.json names`)
        const digest = await digestOf(layer)
        blobs.set(digest, layer)
        const gzip = layer[0] === 0x1f && layer[1] === 0x8b
        layers.push({ mediaType: gzip ? OCI_LAYER_GZIP : OCI_LAYER_TAR, digest, size: layer.byteLength })
      }
      const manifest = new TextEncoder().encode(
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.byteLength }, layers }),
      )
      const digest = await digestOf(manifest)
      blobs.set(digest, manifest)
      const tags = entry.RepoTags?.length ? entry.RepoTags : [entries.length === 1 ? fallbackName : `${fallbackName}-${i + 1}`]
      for (const tag of tags) named.set(shortName(tag), { mediaType: OCI_MANIFEST, digest })
    }
  } else if (index) {
    const parsed = json(index, 'index.json') as { manifests?: { mediaType: string; digest: string; annotations?: Record<string, string> }[] }
    for (const [i, d] of (parsed.manifests ?? []).entries()) {
      const name = d.annotations?.[REF_NAME] ?? d.annotations?.['io.containerd.image.name'] ?? (i === 0 ? fallbackName : `${fallbackName}-${i + 1}`)
      named.set(shortName(name), { mediaType: d.mediaType, digest: d.digest })
    }
  } else {
    throw new Error('this tar holds neither manifest.json (docker save) nor index.json (OCI archive)')
  }

  const source: ContentSource = {
    async manifest(refOrDigest) {
      if (refOrDigest.startsWith('sha256:')) {
        const bytes = await source.blob(refOrDigest)
        return { mediaType: sniffManifestMediaType(bytes), bytes, digest: refOrDigest }
      }
      const d = named.get(refOrDigest) ?? named.get(`${refOrDigest}:latest`)
      if (!d) throw new Error(`the dropped archive has no image ${refOrDigest}: it has ${[...named.keys()].join(', ')}`)
      return { mediaType: d.mediaType, bytes: await source.blob(d.digest), digest: d.digest }
    },
    async blob(digest) {
      const bytes = blobs.get(digest)
      if (!bytes) throw new Error(`the dropped archive lacks blob ${digest}`)
      return bytes
    },
  }
  return { source, names: [...named.keys()] }
}
