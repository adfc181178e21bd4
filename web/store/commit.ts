// `commit` in the page: a kept container becomes an image in the page's store — the image it
// was made from plus one layer, the container's writable layer as the one layer writer made
// it, and a config with the container's command and a history entry (as `docker commit`).
// The base image's blobs are copied in, so the committed image runs and downloads without
// the source it came from. A running container is refused: save its files first (stop it).

import { digestOf } from '../oci/digest.js'
import type { ResolvedImage } from '../oci/image.js'
import { OCI_CONFIG, OCI_MANIFEST } from '../oci/media-types.js'
import type { BrowserStore } from './browser-store.js'
import { StoreError } from './errors.js'
import type { ImageRecord } from './image-store.js'

const encoder = new TextEncoder()

export interface CommitOptions {
  /** Replaces the image's Cmd (docker commit -c 'CMD …'); default: the container's own command, if it had one. */
  cmd?: string[]
  comment?: string
}

export async function commitContainer(store: BrowserStore, nameOrId: string, base: ResolvedImage, imageName: string, opts: CommitOptions = {}): Promise<ImageRecord> {
  const container = await store.containers.get(nameOrId)
  if (container.state === 'running') {
    throw new StoreError('busy', `container ${container.name} is running: stop it (its files are kept when it exits), then commit`)
  }
  if (base.digest !== container.image.digest) {
    throw new StoreError('invalid', `container ${container.name} was made from ${container.image.name}@${container.image.digest}, not ${base.digest}`)
  }
  const layers = [...base.manifest.layers]
  const diffIds = [...base.configFile.rootfs.diff_ids]
  const blobs: Uint8Array[] = []
  for (const l of base.layers) if (!(await store.blobs.has(l.digest))) blobs.push(await base.blob(l.digest))
  if (container.changes) {
    layers.push({ mediaType: container.changes.mediaType, digest: container.changes.digest, size: container.changes.size })
    diffIds.push(container.changes.diffId)
  }
  const baseConfig = JSON.parse(new TextDecoder().decode(await base.blob(base.manifest.config.digest))) as Record<string, unknown>
  const runConfig = { ...((baseConfig.config as Record<string, unknown> | undefined) ?? {}) }
  const cmd = opts.cmd ?? container.process.cmd
  if (cmd) runConfig.Cmd = cmd
  if (container.process.entrypoint) runConfig.Entrypoint = container.process.entrypoint
  if (container.process.env?.length) runConfig.Env = [...((runConfig.Env as string[] | undefined) ?? []), ...container.process.env]
  if (container.process.cwd) runConfig.WorkingDir = container.process.cwd
  if (container.process.user) runConfig.User = container.process.user
  const created = new Date().toISOString()
  const history = [
    ...(Array.isArray(baseConfig.history) ? baseConfig.history : []),
    {
      created,
      created_by: `boxplay commit ${container.name} (in the browser, ${container.runtime})`,
      ...(opts.comment ? { comment: opts.comment } : {}),
      ...(container.changes ? {} : { empty_layer: true }),
    },
  ]
  const config = encoder.encode(JSON.stringify({ ...baseConfig, created, config: runConfig, rootfs: { type: 'layers', diff_ids: diffIds }, history }))
  const manifest = encoder.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: await digestOf(config), size: config.byteLength },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  )
  return store.images.add(imageName, { manifest, config, layers: blobs }, 'committed')
}
