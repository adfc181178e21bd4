// Test helpers: the bundled images (dist/images, an OCI layout built by `boxplay setup`)
// resolved for linux/386, and one shared Node asset adapter with a private state cache.

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ResolvedImage, resolveImage } from '../../web/oci/image.js'
import { layoutSource } from './helpers-layout.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { ExitStatus, RunSpec } from '../../web/runtimes/runtime.js'
import { V86Runtime } from '../../web/runtimes/v86/runtime.js'
import type { V86Run } from '../../web/runtimes/v86/run.js'
import { nodeV86Assets } from '../../server/v86/node-assets.js'
import { packageRoot } from '../../server/store/paths.js'

export const imagesDir = join(packageRoot(), 'dist', 'images')

export async function bundled(name: string): Promise<ResolvedImage> {
  return resolveImage(layoutSource(imagesDir), name, { os: 'linux', architecture: '386' })
}

/** States made by these tests go to a temp dir, never the user's cache. */
export const stateCache = mkdtempSync(join(tmpdir(), 'boxplay-v86-states-'))
export const assets = nodeV86Assets({ cacheDir: stateCache })
export const runtime = new V86Runtime({ assets })

export async function run(
  spec: Omit<RunSpec, 'image'> & { image?: string },
): Promise<{ stdout: string; stderr: string; status: ExitStatus; run: V86Run }> {
  const image = await bundled(spec.image ?? 'busybox')
  const r = await runtime.start({ ...spec, image })
  const out = await collectOutput(r)
  return { ...out, run: r }
}
