// What the server needs from the image store. `boxplay serve` passes the store's own
// functions (the same ones the CLI uses), so there is one implementation of each verb;
// this interface only names the shape the HTTP layer relies on.

import type { BuildEvent } from '../../web/build/builder.js'
import type { BuildContext } from '../../web/build/context.js'
import type { ParsedDockerfile } from '../../web/build/dockerfile.js'
import type { Platform } from '../../web/oci/platform.js'
import type { Run, RunImage, Runtime } from '../../web/runtimes/runtime.js'

export interface ServiceBuildOptions {
  dockerfile: ParsedDockerfile
  context: BuildContext
  tags: readonly string[]
  buildArgs: ReadonlyMap<string, string>
  target?: string
  platform?: Platform
  noCache: boolean
  /** Where RUN steps run. */
  runtime: Runtime
  onEvent(e: BuildEvent): void
  onRun(run: Run): void
}

export interface PullOptions {
  platform?: string
  insecure?: boolean
  onProgress(message: string, current?: number, total?: number): void
}

export interface ImageService {
  /** The listing `boxplay images --json` prints. */
  list(): Promise<unknown[]>
  /** Just the names: cheap, for a page that only needs to know what exists. */
  names?(): Promise<string[]>
  /** What `boxplay inspect NAME --json` prints. */
  inspect(name: string): Promise<unknown>
  /** Pulls REF into the store; resolves with the name it is stored under. */
  pull(ref: string, options: PullOptions): Promise<string>
  /** Loads a docker-save / OCI archive file; resolves with the names it added. */
  load(path: string): Promise<string[]>
  remove(name: string): Promise<void>
  runImage(name: string, platform?: Platform): Promise<RunImage>
  /** A stored manifest or index by image name or digest. */
  manifest(refOrDigest: string): Promise<{ mediaType: string; bytes: Uint8Array; digest: string }>
  /** Where a blob lives on disk, or undefined when the store lacks it. */
  blobFile(digest: string): Promise<{ path: string; size: number } | undefined>
  /**
   * The layer index (web/oci/layer-index.ts) of a layer blob, as a JSON file, made on first
   * ask; undefined when the store lacks the blob. Optional: without it browsers fetch whole layers.
   */
  layerIndex?(digest: string): Promise<{ path: string; size: number } | undefined>
  /** Builds an image into the store (`boxplay build`'s engine); optional: without it POST /api/builds is 501. */
  build?(options: ServiceBuildOptions): Promise<{ digest: string; names: string[]; cached: number; steps: number }>
  /** A file's content by sha256 hex, from layers indexed so far; undefined when unknown. */
  content?(hex: string): Promise<{ path: string; size: number } | undefined>
}
