// The bundled images (dist/images, an OCI image layout built by `boxplay setup`) as a
// ContentSource, so the tests resolve them exactly as the CLI and the browser do.

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { resolveImage, type ContentSource, type ResolvedImage } from '../../web/oci/image.js'
import { parsePlatform } from '../../web/oci/platform.js'
import { root } from './programs.js'

export const layoutDir = join(root, 'dist', 'images')

interface Descriptor {
  mediaType: string
  digest: string
  annotations?: Record<string, string>
}

export function layoutSource(dir = layoutDir): ContentSource {
  const blobPath = (digest: string) => join(dir, 'blobs', ...digest.split(':'))
  return {
    async manifest(ref) {
      let desc: Descriptor | undefined
      if (ref.startsWith('sha256:')) {
        const bytes = new Uint8Array(await readFile(blobPath(ref)))
        const mediaType = (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: string }).mediaType ?? ''
        return { mediaType, bytes, digest: ref }
      }
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] }
      const name = ref.includes(':') ? ref : `${ref}:latest`
      desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name)
      if (!desc) throw new Error(`image ${ref} is not in ${dir}`)
      return { mediaType: desc.mediaType, bytes: new Uint8Array(await readFile(blobPath(desc.digest))), digest: desc.digest }
    },
    async blob(digest) {
      return new Uint8Array(await readFile(blobPath(digest)))
    },
  }
}

export function bundledWasiImage(name: string): Promise<ResolvedImage> {
  return resolveImage(layoutSource(), name, parsePlatform('wasi/wasm'))
}
