// Builds a Dockerfile in the page, with no server: the builder engine (web/build/) with a host
// made of the page's image catalog (base images), memory (the layers it writes, the cache) and
// the v86 runtime in this tab for RUN steps. The result is an ordinary OCI image in memory,
// offered through a ContentSource, so the catalog can list it and any runtime in the page
// can run it. The same Dockerfile and context give the same digest as `boxplay build`.

import { build, type BuildEvent, type BuildHost, type ImageState } from '../build/builder.js'
import type { BuildContext } from '../build/context.js'
import type { ParsedDockerfile } from '../build/dockerfile.js'
import { imageDocuments } from '../build/image-documents.js'
import { diffTrees } from '../oci/changes.js'
import type { ContentSource } from '../oci/image.js'
import type { LayerIndexSource } from '../oci/layer-index.js'
import { OCI_MANIFEST } from '../oci/media-types.js'
import type { Platform } from '../oci/platform.js'
import type { RootFs } from '../oci/rootfs.js'
import type { Run, Runtime } from '../runtimes/runtime.js'
import type { ImageCatalog } from './image-catalog.js'

export interface PageBuildOptions {
  catalog: ImageCatalog
  /** The v86 runtime of the page. */
  runtime: Runtime
  dockerfile: ParsedDockerfile
  context: BuildContext
  platform?: Platform
  buildArgs?: ReadonlyMap<string, string>
  noCache?: boolean
  onEvent(e: BuildEvent): void
  /** Each RUN step's run, so Stop can kill it. */
  onRun?(run: Run): void
}

export interface PageBuildResult {
  digest: string
  cached: number
  steps: number
  /** Serves the built image by its digest (and its base image's blobs through their source). */
  source: ContentSource
}

/** What the page keeps between builds: the layers it wrote and the cache, as long as the tab lives. */
const blobs = new Map<string, Uint8Array>()
const cache = new Map<string, ImageState>()
/** Where each base image's blobs come from, by layer digest. */
const origins = new Map<string, ContentSource>()

export async function buildInPage(opts: PageBuildOptions): Promise<PageBuildResult> {
  const host: BuildHost = {
    async image(ref, platform) {
      const entry = opts.catalog.find(ref)
      if (!entry) throw new Error(`no image "${ref}" in this page: the images here are ${opts.catalog.entries.map((e) => e.name).join(', ')}`)
      const image = await opts.catalog.resolve(ref, platform)
      for (const l of image.layers) if (!blobs.has(l.digest)) origins.set(l.digest, entry.source)
      return { image, configFile: image.configFile }
    },
    async blob(digest) {
      const bytes = blobs.get(digest)
      if (bytes) return bytes
      const origin = origins.get(digest)
      if (!origin) throw new Error(`the page has no blob ${digest}`)
      return origin.blob(digest)
    },
    hasBlob: async (digest) => blobs.has(digest) || origins.has(digest),
    async putLayer(layer) {
      blobs.set(layer.digest, layer.blob)
    },
    async run(runtime, spec, onRun, lower) {
      const run = await runtime.start(spec)
      onRun(run)
      opts.onRun?.(run)
      run.closeStdin()
      const status = await run.exit
      const failed = status.code !== 0 || status.reason !== 'exited'
      const result = { code: failed ? status.code || 1 : 0, ...(status.message ? { message: status.message } : {}) }
      if (failed) return { ...result, changes: { entries: [] } }
      // The VM's tree afterwards, compared with the tree the step started on.
      const withFiles = run as Run & { files?: () => RootFs | Promise<RootFs> }
      if (typeof withFiles.files !== 'function') throw new Error(`the ${runtime.kind} runtime cannot report a run's files for a build`)
      return { ...result, changes: await diffTrees(lower, await withFiles.files()) }
    },
    cache: {
      get: async (key) => cache.get(key),
      put: async (key, state) => void cache.set(key, state),
    },
  }
  const result = await build({
    host,
    dockerfile: opts.dockerfile,
    context: opts.context,
    runtime: opts.runtime,
    ...(opts.platform ? { platform: opts.platform } : {}),
    ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
    ...(opts.noCache ? { noCache: true } : {}),
    onEvent: opts.onEvent,
  })
  const docs = await imageDocuments(result.state)
  blobs.set(docs.config.digest, docs.config.bytes)
  blobs.set(docs.manifest.digest, docs.manifest.bytes)
  const digest = docs.manifest.digest
  const layerOrigin = (d: string): ContentSource | undefined => (blobs.has(d) ? undefined : origins.get(d))
  const indexes: LayerIndexSource = {
    // Base layers keep their source's lazy indexes (a big base is not downloaded whole for
    // v86); layers built here are in memory already, so they are read as blobs.
    async index(layer) {
      return layerOrigin(layer.digest)?.layerIndexes?.index(layer)
    },
    async content(sha256, size) {
      for (const origin of new Set(origins.values())) {
        if (origin.layerIndexes) {
          try {
            return await origin.layerIndexes.content(sha256, size)
          } catch {
            // another origin may have it
          }
        }
      }
      throw new Error(`no source in this page has the file content sha256:${sha256}`)
    },
  }
  const source: ContentSource = {
    // One image: its names (whatever the catalog calls it) and its digest all give its manifest.
    async manifest(refOrDigest) {
      if (refOrDigest.startsWith('sha256:') && refOrDigest !== digest) throw new Error(`this page built ${digest}, not ${refOrDigest}`)
      return { mediaType: OCI_MANIFEST, bytes: docs.manifest.bytes, digest }
    },
    blob: (d) => host.blob(d),
    layerIndexes: indexes,
  }
  return { digest, cached: result.cached, steps: result.steps, source }
}
