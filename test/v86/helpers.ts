// Test helpers: the bundled images (dist/images, an OCI layout built by `boxplay setup`)
// resolved for linux/386, and one shared Node asset adapter with a private state cache.

import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ContentSource, type ResolvedImage, resolveImage } from '../../web/oci/image.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { ExitStatus, RunSpec } from '../../web/runtimes/runtime.js'
import { V86Runtime } from '../../web/runtimes/v86/runtime.js'
import type { V86Run } from '../../web/runtimes/v86/run.js'
import { nodeV86Assets } from '../../server/v86/node-assets.js'
import { packageRoot } from '../../server/store/paths.js'

export const imagesDir = join(packageRoot(), 'dist', 'images')

/** A ContentSource over an OCI image layout directory, verifying every blob. */
export function layoutSource(dir: string): ContentSource {
  const blob = async (digest: string): Promise<Uint8Array> => {
    const hex = digest.replace(/^sha256:/, '')
    const bytes = new Uint8Array(readFileSync(join(dir, 'blobs', 'sha256', hex)))
    const actual = createHash('sha256').update(bytes).digest('hex')
    if (actual !== hex) throw new Error(`blob ${digest} in ${dir} is corrupt`)
    return bytes
  }
  return {
    async manifest(ref) {
      if (ref.startsWith('sha256:')) {
        const bytes = await blob(ref)
        const mediaType = (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: string }).mediaType ?? ''
        return { mediaType, bytes, digest: ref }
      }
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
        manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[]
      }
      const want = ref.includes(':') ? ref : `${ref}:latest`
      const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === want)
      if (!d) throw new Error(`${ref} is not in ${dir}`)
      return { mediaType: d.mediaType, bytes: await blob(d.digest), digest: d.digest }
    },
    blob,
  }
}

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
