// `boxplay build` on the Node side: reads the context directory and the Dockerfile, gives
// the builder engine (web/build/) the store's images and blobs, a runtime and the on-disk
// cache, and stores the result. Layers go into the store as soon as a step writes them
// (whole blobs only: temp file + rename), since the next RUN runs on them; names are set
// only once the whole build succeeded, so a failed build tags nothing.

import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { build, type BuildEvent, type BuildHost } from '../../web/build/builder.js'
import type { BuildContext } from '../../web/build/context.js'
import type { ParsedDockerfile } from '../../web/build/dockerfile-model.js'
import { imageDocuments } from '../../web/build/image-documents.js'
import { toChangeSet } from '../../web/runtimes/remote/changes.js'
import { OCI_MANIFEST } from '../../web/oci/media-types.js'
import type { Platform } from '../../web/oci/platform.js'
import type { Run, Runtime } from '../../web/runtimes/runtime.js'
import { diffTrees } from '../../web/oci/changes.js'
import type { RootFs } from '../../web/oci/rootfs.js'
import type { NativeRun } from '../native/run.js'
import { storeNameFor } from '../store/names.js'
import type { Store } from '../store/store.js'
import { BuildCache } from './cache.js'
import { readContextDir } from './context.js'
import { parseDockerfileCached } from './parsed-cache.js'

/** File bytes a native step may write (what the Rust core copies out of its scratch tmpfs). */
const MAX_STEP_BYTES = 64 << 20

export interface NodeBuildOptions {
  contextDir: string
  /** Path of the Dockerfile (default CONTEXT/Dockerfile). */
  file?: string
  tags: readonly string[]
  buildArgs: ReadonlyMap<string, string>
  target?: string
  platform?: Platform
  runtime: Runtime
  noCache: boolean
  onEvent?: (e: BuildEvent) => void
}

export interface NodeBuildResult {
  digest: string
  names: string[]
  cached: number
  steps: number
}

export async function buildImage(store: Store, opts: NodeBuildOptions): Promise<NodeBuildResult> {
  const file = opts.file ?? join(opts.contextDir, 'Dockerfile')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw new Error(`cannot read ${file}: give the Dockerfile with -f, or put one in the context directory`)
  }
  const name = resolve(file) === resolve(opts.contextDir, 'Dockerfile') ? 'Dockerfile' : file
  const dockerfile = opts.noCache ? (await import('../../web/build/dockerfile.js')).parseDockerfile(text, name) : await parseDockerfileCached(join(store.home, 'cache', 'build', 'parsed'), text, name)
  const context = await readContextDir(opts.contextDir)
  return buildParsed(store, { ...opts, dockerfile, context })
}

export interface ParsedBuildOptions extends Omit<NodeBuildOptions, 'contextDir' | 'file'> {
  dockerfile: ParsedDockerfile
  context: BuildContext
  /** Called with each RUN step's run (so a caller can stop the build by killing it). */
  onRun?: (run: Run) => void
}

/** A build from a parsed Dockerfile and a context in memory (`POST /api/builds` reads its tar body into one). */
export async function buildParsed(store: Store, opts: ParsedBuildOptions): Promise<NodeBuildResult> {
  const { dockerfile, context } = opts
  const names = opts.tags.map((t) => storeNameFor(t.includes(':') || t.includes('@') ? t : `${t}:latest`))
  const cache = new BuildCache(join(store.home, 'cache', 'build'))
  return store.withTemp(async (tmp) => {
    const host: BuildHost = {
      async image(ref, platform) {
        const image = await store.runImage(ref, platform)
        return { image, configFile: image.configFile }
      },
      blob: (digest) => store.readBlob(digest),
      hasBlob: async (digest) => store.hasBlob(digest),
      async putLayer(layer) {
        await store.putBytes(tmp, layer.blob, { digest: layer.digest, size: layer.size })
      },
      async run(runtime, spec, onRun, lower) {
        const native = runtime.kind === 'native'
        const run = await runtime.start({ ...spec, options: native ? { keepChanges: true } : {} })
        onRun(run)
        opts.onRun?.(run)
        run.closeStdin()
        const status = await run.exit
        const failed = status.code !== 0 || status.reason !== 'exited'
        const result = { code: failed ? status.code || 1 : 0, ...(status.message ? { message: status.message } : {}) }
        if (native) {
          const kept = run as NativeRun
          if (failed) {
            kept.discard()
            return { ...result, changes: { entries: [] } }
          }
          const wire = await kept.changes({ fileBytes: MAX_STEP_BYTES, totalBytes: MAX_STEP_BYTES })
          const cut = wire.entries.find((e) => e.kind === 'file' && e.data === undefined)
          if (cut) throw new Error(`a RUN step wrote more than ${MAX_STEP_BYTES >> 20} MiB of files (${cut.path} among them): the native build keeps at most that much a step`)
          return { ...result, changes: toChangeSet(wire) }
        }
        // A VM's run: its filesystem afterwards, compared with the tree it started on.
        const withFiles = run as Run & { files?: () => Promise<RootFs> }
        if (typeof withFiles.files !== 'function') throw new Error(`the ${runtime.kind} runtime cannot report a run's files for a build`)
        if (failed) return { ...result, changes: { entries: [] } }
        return { ...result, changes: await diffTrees(lower, await withFiles.files()) }
      },
      cache,
    }
    const result = await build({
      host,
      dockerfile,
      context,
      runtime: opts.runtime,
      ...(opts.platform ? { platform: opts.platform } : {}),
      buildArgs: opts.buildArgs,
      ...(opts.target !== undefined ? { target: opts.target } : {}),
      noCache: opts.noCache,
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    })
    const docs = await imageDocuments(result.state)
    await store.putBytes(tmp, docs.config.bytes, { digest: docs.config.digest })
    await store.putBytes(tmp, docs.manifest.bytes, { digest: docs.manifest.digest })
    const descriptor = { mediaType: OCI_MANIFEST, digest: docs.manifest.digest, size: docs.manifest.bytes.byteLength, platform: result.state.platform }
    const requires = [docs.manifest.digest, docs.config.digest, ...result.state.layers.map((l) => l.digest)]
    await store.setNames(names.length > 0 ? names.map((name) => ({ name, descriptor })) : [{ name: undefined, descriptor }], requires)
    return { digest: docs.manifest.digest, names, cached: result.cached, steps: result.steps }
  })
}
