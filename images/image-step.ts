// The shape every bundled image's recipe shares: a BuildStep named `image-<name>` that first
// builds the image's artifacts into its cache dir (the slow, cached part: downloads,
// compiles), then packs them into an OCI layout at `<cacheDir>/layout` (the fast,
// deterministic part). build-layout.ts merges those layouts into dist/images. Packing is
// separate so tests can repack from the same artifacts and compare digests.

import { join } from 'node:path'
import type { BuildContext, BuildStep } from '../server/setup/step.js'
import { type ImageRecipe, writeLayout } from './oci-writer.js'

export interface ImageBuild {
  /** Short name: the step is `image-<name>`. */
  name: string
  /** Files and dirs (relative to the package root) whose changes rebuild the image. */
  inputs: string[]
  packages?: string[]
  /** Fetches and compiles into ctx.cacheDir/artifacts (or wherever it likes under cacheDir). */
  build(ctx: BuildContext): Promise<void>
  /** Reads the artifacts under cacheDir and describes the image; must not change anything. */
  recipe(cacheDir: string, root: string): Promise<ImageRecipe>
}

export function stepName(image: Pick<ImageBuild, 'name'>): string {
  return `image-${image.name}`
}

/** The layout a built image step leaves, relative to the package root. */
export function stepLayout(image: Pick<ImageBuild, 'name'>): string {
  return join('.cache', 'build', stepName(image), 'layout')
}

export function imageStep(image: ImageBuild): BuildStep {
  return {
    name: stepName(image),
    // The shared writer code is an input of every image: a change to it changes every digest.
    inputs: [...image.inputs, 'images/image-step.ts', 'images/oci-writer.ts', 'images/tar-writer.ts', 'images/host-files.ts'],
    outputs: [join(stepLayout(image), 'index.json')],
    packages: image.packages ?? [],
    async run(ctx) {
      await image.build(ctx)
      await writeLayout(join(ctx.cacheDir, 'layout'), [await image.recipe(ctx.cacheDir, ctx.root)])
    },
  }
}
