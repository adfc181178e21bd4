// The `images` build step: merges the layouts the image steps packed into one OCI image
// layout at dist/images (oci-layout, index.json, blobs/sha256), with each image named by an
// `org.opencontainers.image.ref.name` annotation (`busybox:latest`, …), so
// `skopeo inspect oci:dist/images:busybox:latest` and `umoci ls --layout dist/images` read it.

import { join } from 'node:path'
import type { BuildStep } from '../server/setup/step.js'
import { mergeLayouts } from './oci-writer.js'

export const IMAGES_DIR = join('dist', 'images')

export function layoutStep(after: string[], layouts: string[]): BuildStep {
  return {
    name: 'images',
    // Each layout's index.json names every blob by digest, so it stands for the whole layout.
    inputs: [...layouts.map((l) => join(l, 'index.json')), 'images/build-layout.ts', 'images/oci-writer.ts'],
    outputs: [join(IMAGES_DIR, 'oci-layout'), join(IMAGES_DIR, 'index.json'), join(IMAGES_DIR, 'blobs', 'sha256')],
    after,
    async run(ctx) {
      mergeLayouts(join(ctx.root, IMAGES_DIR), layouts.map((l) => join(ctx.root, l)))
    },
  }
}
