// A ContentSource over an OCI image layout directory (dist/images), for tests and benches.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ContentSource } from '../../web/oci/image.js'

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

