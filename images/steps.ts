// The build steps of the bundled images: one per image (each packs its own OCI layout in its
// cache dir) and `images` after them, which merges those into dist/images.

import type { BuildStep } from '../server/setup/step.js'
import { busybox } from './busybox/build.js'
import { debian } from './debian/build.js'
import { hello } from './hello/build.js'
import { type ImageBuild, imageStep, stepLayout, stepName } from './image-step.js'
import { lua } from './lua/build.js'
import { layoutStep } from './build-layout.js'
import { python } from './python/build.js'
import { sqlite } from './sqlite/build.js'

export const bundledImages: readonly ImageBuild[] = [busybox, debian, hello, lua, python, sqlite]

export const imageSteps: BuildStep[] = [
  ...bundledImages.map(imageStep),
  layoutStep(
    bundledImages.map(stepName),
    bundledImages.map((image) => stepLayout(image)),
  ),
]
