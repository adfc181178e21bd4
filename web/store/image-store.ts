// The browser's image store: images pulled, dropped, uploaded or committed in the page, kept
// in IndexedDB with the shape of server/store/ — names → a manifest digest, and manifests,
// configs and layers as blobs by digest (blob-store.ts). One platform an image: the page
// keeps what it ran. `source()` is a ContentSource, so resolveImage and every runtime read a
// kept image as they read any other.

import { resolveImage, type ContentSource, type ResolvedImage } from '../oci/image.js'
import { parseManifest, sniffManifestMediaType } from '../oci/manifest.js'
import { formatPlatform, type Platform } from '../oci/platform.js'
import { BlobStore } from './blob-store.js'
import { type SkippedRecord, StoreError } from './errors.js'
import { type Database, STORES } from './idb.js'

export type ImageOrigin = 'copied' | 'committed' | 'uploaded'

export interface ImageRecord {
  /** `name:tag`, as the page shows it. */
  name: string
  /** The platform manifest's digest. */
  digest: string
  mediaType: string
  platform: string
  /** Stored bytes: manifest, config and layers. */
  size: number
  origin: ImageOrigin
  addedAt: number
  usedAt: number
}

/** The JSON documents and blobs of one image, as a commit or an upload produces them. */
export interface ImageDocumentsIn {
  manifest: Uint8Array
  config: Uint8Array
  /** Layer blobs the manifest names (those already stored may be left out). */
  layers: readonly Uint8Array[]
}

function isImageRecord(v: unknown): v is ImageRecord {
  const r = v as Partial<ImageRecord> | null
  return (
    typeof r === 'object' && r !== null && typeof r.name === 'string' && typeof r.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(r.digest) &&
    typeof r.mediaType === 'string' && typeof r.platform === 'string' && typeof r.size === 'number' && typeof r.addedAt === 'number' && typeof r.usedAt === 'number'
  )
}

/** `busybox` → `busybox:latest`; names with a tag or a digest stay. */
export function withTag(name: string): string {
  const slash = name.lastIndexOf('/')
  return name.includes('@') || name.slice(slash + 1).includes(':') ? name : `${name}:latest`
}

/** `[host:port/]path:tag`, lower-case path components as Docker requires. */
const NAME = /^(?:[a-zA-Z0-9.-]+:[0-9]+\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

export class ImageStore {
  constructor(
    private readonly db: Database,
    readonly blobs: BlobStore,
  ) {}

  /** Every readable image record, oldest first; unreadable ones are skipped and reported. */
  async list(): Promise<{ images: ImageRecord[]; skipped: SkippedRecord[] }> {
    const images: ImageRecord[] = []
    const skipped: SkippedRecord[] = []
    for (const { key, value } of await this.db.entries(STORES.images)) {
      if (isImageRecord(value) && value.name === key) images.push(value)
      else skipped.push({ store: 'images', key: String(key), reason: 'the record is not an image record (damaged, or written by another version)' })
    }
    images.sort((a, b) => a.addedAt - b.addedAt)
    return { images, skipped }
  }

  async find(name: string): Promise<ImageRecord | undefined> {
    const value = await this.db.get(STORES.images, withTag(name))
    return isImageRecord(value) ? value : undefined
  }

  async get(name: string): Promise<ImageRecord> {
    const found = await this.find(name)
    if (!found) {
      const { images } = await this.list()
      throw new StoreError('not-found', `no image "${name}" is kept in this browser (kept: ${images.map((i) => i.name).join(', ') || 'none'})`)
    }
    return found
  }

  /** Adds (or renames onto) an image from its documents; the blobs it names must all be given or stored. */
  async add(name: string, docs: ImageDocumentsIn, origin: ImageOrigin): Promise<ImageRecord> {
    const tagged = withTag(name.trim())
    if (!NAME.test(tagged)) throw new StoreError('invalid', `"${name}" is not an image name: use lower-case letters, digits, . _ - and / (e.g. my-image:1)`)
    const mediaType = sniffManifestMediaType(docs.manifest)
    const manifest = parseManifest(docs.manifest, mediaType)
    const cfg = JSON.parse(new TextDecoder().decode(docs.config)) as { os?: string; architecture?: string; variant?: string }
    const platform: Platform = { os: cfg.os ?? 'unknown', architecture: cfg.architecture ?? 'unknown', ...(cfg.variant ? { variant: cfg.variant } : {}) }
    const [digest] = await this.blobs.put([{ bytes: docs.manifest }, { digest: manifest.config.digest, bytes: docs.config }, ...docs.layers.map((bytes) => ({ bytes }))], `image ${tagged}`)
    for (const layer of manifest.layers) {
      if (!(await this.blobs.has(layer.digest))) throw new StoreError('invalid', `image ${tagged} names layer ${layer.digest}, which was not given`)
    }
    const now = Date.now()
    const record: ImageRecord = {
      name: tagged,
      digest: digest!,
      mediaType,
      platform: formatPlatform(platform),
      size: docs.manifest.byteLength + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
      origin,
      addedAt: now,
      usedAt: now,
    }
    await this.db.write([STORES.images], (put) => put(STORES.images, tagged, record), `image ${tagged}`)
    return record
  }

  /** Copies one platform of an image from another source (a server, the bundled layout) into the page. */
  async copyFrom(source: ContentSource, ref: string, name: string, platform?: Platform): Promise<ImageRecord> {
    const image = await resolveImage(source, ref, platform)
    const manifest = await source.manifest(image.digest)
    const config = await source.blob(image.manifest.config.digest)
    const layers: Uint8Array[] = []
    for (const l of image.layers) if (!(await this.blobs.has(l.digest))) layers.push(await source.blob(l.digest))
    return this.add(name, { manifest: manifest.bytes, config, layers }, 'copied')
  }

  async resolve(name: string): Promise<ResolvedImage> {
    const record = await this.get(name)
    return resolveImage(this.source(), record.name)
  }

  async touch(name: string): Promise<void> {
    const record = await this.find(name)
    if (record) await this.db.write([STORES.images], (put) => put(STORES.images, record.name, { ...record, usedAt: Date.now() }), `image ${name}`)
  }

  /** Forgets a name; blobs stay until prune (as `boxplay rmi`). */
  async remove(name: string): Promise<void> {
    const record = await this.get(name)
    await this.db.write([STORES.images], (_put, del) => del(STORES.images, record.name), `image ${name}`)
  }

  /** Digests the kept images need: their manifests, configs and layers. */
  async referenced(): Promise<Set<string>> {
    const out = new Set<string>()
    for (const image of (await this.list()).images) {
      out.add(image.digest)
      try {
        const m = parseManifest(await this.blobs.get(image.digest), image.mediaType)
        out.add(m.config.digest)
        for (const l of m.layers) out.add(l.digest)
      } catch {
        // A damaged manifest: keep what might be its blobs (nothing is lost by a prune).
        return new Set((await this.blobs.sizes()).keys())
      }
    }
    return out
  }

  /** The kept images as a ContentSource: names and digests resolve, blobs are verified. */
  source(): ContentSource {
    return {
      manifest: async (refOrDigest) => {
        if (refOrDigest.startsWith('sha256:')) {
          const bytes = await this.blobs.get(refOrDigest)
          return { mediaType: sniffManifestMediaType(bytes), bytes, digest: refOrDigest }
        }
        const record = await this.get(refOrDigest)
        return { mediaType: record.mediaType, bytes: await this.blobs.get(record.digest), digest: record.digest }
      },
      blob: (digest) => this.blobs.get(digest),
    }
  }
}
