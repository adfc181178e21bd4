// `boxplay push`: a stored image to a registry, as `docker push` does it. Blobs first (each
// only if the repository lacks it, mounted from another repository of the same registry when
// the store knows one that has it), then every platform manifest of an index by digest, then
// the top manifest (or index) by tag, so the tag never points at something incomplete.
//
// Mount sources: the repositories, on the same registry, of the store's other names that
// reach the blob (what `boxplay pull` or `tag` left there). A platform whose layers were never
// pulled can still be pushed when such a repository has them: the registry mounts them.

import { type Descriptor, isIndexMediaType, parseIndex, parseManifest, sniffManifestMediaType } from '../../web/oci/manifest.js'
import { type ImageReference, familiarName, parseReference } from '../../web/oci/reference.js'
import { type Credentials, RegistryClient, RegistryError } from '../../web/oci/registry.js'
import { type MountOutcome, RegistryPusher } from '../../web/oci/registry-push.js'
import { blobStream } from '../store/blobs.js'
import type { Store } from '../store/store.js'
import { humanBytes } from './describe.js'
import { dockerConfigCredentials } from './docker-config.js'
import { type Progress, createProgress } from './progress.js'
import { isLoopback, pool } from './pull.js'

export interface PushOptions {
  /** Plain http. Default: on for 127.0.0.1, localhost and ::1 (as Docker does), else off. */
  insecure?: boolean
  creds?: Credentials
  /** Blob uploads in flight at once (default 3). */
  concurrency?: number
  /** Blobs at least this big are uploaded in chunks (default 16 MiB). */
  chunkThreshold?: number
  /** Chunk size of chunked uploads (default 8 MiB). */
  chunkSize?: number
  progress?: Progress
  env?: NodeJS.ProcessEnv
}

export interface PushResult {
  /** The reference pushed to, in familiar form. */
  name: string
  digest: string
  mediaType: string
  size: number
  /** Manifests put (platform manifests of an index, then the top one). */
  manifests: number
  blobsPushed: number
  bytesPushed: number
  /** Already in the repository (HEAD said so). */
  blobsSkipped: number
  /** Linked from another repository of the registry, not sent. */
  blobsMounted: number
}

export class PushError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PushError'
  }
}

interface Doc {
  descriptor: Descriptor
  bytes: Uint8Array
}

/** Pushes the stored image `source` to `dest` (default: the image's own name). */
export async function push(store: Store, source: string, dest: string | undefined, opts: PushOptions = {}): Promise<PushResult> {
  const entry = await store.get(source)
  const target = dest ?? entry.name
  if (target === undefined) throw new PushError(`image ${source} has no name to push to: give one, e.g. boxplay push ${source} HOST/NAME:TAG`)
  const ref = parseReference(target)
  if (ref.digest !== undefined) throw new PushError(`cannot push to ${target}: push to a tag (NAME:TAG); the digest is the registry's to compute`)
  const tag = ref.tag ?? 'latest'
  const env = opts.env ?? process.env
  const client = new RegistryClient({
    registry: ref.registry,
    insecure: opts.insecure ?? isLoopback(ref.registry),
    credentials: (host) => opts.creds ?? dockerConfigCredentials(host, env),
  })
  const progress = opts.progress ?? createProgress(process.stderr, false)
  const pusher = new RegistryPusher(client, ref.repository, {
    ...(opts.chunkThreshold !== undefined ? { chunkThreshold: opts.chunkThreshold } : {}),
    ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
  })

  // What to send: the top document, its platform manifests, and their blobs.
  const topBytes = await store.readBlob(entry.descriptor.digest, entry.descriptor.size)
  const top: Doc = { descriptor: { ...entry.descriptor, mediaType: sniffManifestMediaType(topBytes, entry.descriptor.mediaType) }, bytes: topBytes }
  const children: Doc[] = []
  const images: Doc[] = []
  if (isIndexMediaType(top.descriptor.mediaType)) {
    for (const d of parseIndex(topBytes, top.descriptor.mediaType).manifests) {
      const bytes = await store.tryReadBlob(d.digest)
      if (bytes === undefined) throw new PushError(`image ${entry.name ?? source} lacks its ${platformText(d)} manifest ${d.digest} in the store: pull it again before pushing`)
      const doc = { descriptor: d, bytes }
      children.push(doc)
      images.push(doc)
    }
  } else {
    images.push(top)
  }
  const blobs = new Map<string, Descriptor>()
  const platformOf = new Map<string, string>()
  for (const m of images) {
    const manifest = parseManifest(m.bytes, m.descriptor.mediaType)
    for (const d of [manifest.config, ...manifest.layers]) {
      blobs.set(d.digest, d)
      platformOf.set(d.digest, platformText(m.descriptor))
    }
  }
  const mountFrom = await mountSources(store, ref, new Set(blobs.keys()))

  const result: PushResult = {
    name: familiarName(ref),
    digest: top.descriptor.digest,
    mediaType: top.descriptor.mediaType,
    size: top.bytes.byteLength,
    manifests: children.length + 1,
    blobsPushed: 0,
    bytesPushed: 0,
    blobsSkipped: 0,
    blobsMounted: 0,
  }

  // HEAD everything first: a blob we lack locally and the registry lacks too fails the push
  // before anything is sent, unless another repository there can lend it.
  const todo: Descriptor[] = []
  await pool([...blobs.values()], opts.concurrency ?? 3, async (d) => {
    if (await pusher.hasBlob(d.digest)) {
      progress.start(d.digest, d.digest.slice(7, 19), d.size)
      progress.done(d.digest, 'Layer already exists')
      result.blobsSkipped++
    } else todo.push(d)
  })
  const unavailable = todo.filter((d) => !store.hasBlob(d.digest) && (mountFrom.get(d.digest) ?? []).length === 0)
  if (unavailable.length > 0) {
    const platforms = [...new Set(unavailable.map((d) => platformOf.get(d.digest)!))]
    throw new PushError(
      `cannot push ${entry.name ?? source}: the store lacks ${unavailable.length} blob(s) of ${platforms.join(', ')} ` +
        `(pulled for other platforms only) and ${ref.registry}/${ref.repository} does not have them: pull them with --platform all first`,
    )
  }

  await pool(todo, opts.concurrency ?? 3, async (d) => {
    const label = d.digest.slice(7, 19)
    progress.start(d.digest, label, d.size)
    let session: string | undefined
    for (const from of mountFrom.get(d.digest) ?? []) {
      let outcome: MountOutcome
      try {
        outcome = await pusher.mountBlob(d.digest, from)
      } catch (e) {
        // No pull access to the source repository: an ordinary upload still works, as Docker falls back.
        if (e instanceof RegistryError && (e.code === 'UNAUTHORIZED' || e.code === 'DENIED')) continue
        throw e
      }
      if (outcome.mounted) {
        progress.done(d.digest, `Mounted from ${from}`)
        result.blobsMounted++
        return
      }
      session = outcome.session
    }
    if (!store.hasBlob(d.digest)) {
      throw new PushError(`cannot push blob ${d.digest} of ${platformOf.get(d.digest)}: it is not in the store and ${ref.registry} refused to mount it: pull it with --platform all first`)
    }
    const path = store.blobPath(d.digest)
    await pusher.uploadBlob(d, () => counted(blobStream(path), (n) => progress.advance(d.digest, n)), session)
    progress.done(d.digest, `Pushed (${humanBytes(d.size)})`)
    result.blobsPushed++
    result.bytesPushed += d.size
  })

  for (const c of children) await pusher.putManifest(c.descriptor.digest, c.descriptor.mediaType, c.bytes, c.descriptor.digest)
  await pusher.putManifest(tag, top.descriptor.mediaType, top.bytes, top.descriptor.digest)
  progress.finish()
  return result
}

function platformText(d: Descriptor): string {
  return d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` : 'its platform'
}


/** Repositories on the same registry that hold each blob, by the store's names. */
async function mountSources(store: Store, ref: ImageReference, wanted: Set<string>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const e of await store.entries()) {
    if (e.name === undefined) continue
    let other: ImageReference
    try {
      other = parseReference(e.name)
    } catch {
      continue
    }
    if (other.registry !== ref.registry || other.repository === ref.repository) continue
    const reached = await store.reach(e.descriptor)
    for (const digest of reached.digests) {
      if (!wanted.has(digest)) continue
      const list = out.get(digest) ?? []
      if (!list.includes(other.repository)) list.push(other.repository)
      out.set(digest, list)
    }
  }
  return out
}

async function* counted(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onBytes(chunk.byteLength)
    yield chunk
  }
}
