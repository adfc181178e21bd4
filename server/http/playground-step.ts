// Builds the playground (web/index.html → dist/playground) with vite, and ships beside it
// what the browser runtimes fetch at run time: the bundled images as a static OCI layout
// (images/) and the v86 guest (guest/: BIOS, kernel, saved states). The result is a static
// site any host can serve; `boxplay serve` serves it too.

import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { publishLayoutLayers } from '../image/layer-contents.js'
import type { BuildStep } from '../setup/step.js'
import { LAZY_IMAGES_DIR, copyRuntimeAssets } from './runtime-assets.js'
import { buildWeb } from './web-build.js'

export const PLAYGROUND_DIR = join('dist', 'playground')

export async function buildPlayground(root: string, outDir = join(root, PLAYGROUND_DIR)): Promise<void> {
  await buildWeb(root, outDir, {
    rollupOptions: {
      input: { main: join(root, 'web', 'index.html'), 'coi-sw': join(root, 'web', 'coi-sw.ts') },
      output: {
        // The service worker must keep a fixed name at the site's root to control it.
        entryFileNames: (chunk) => (chunk.name === 'coi-sw' ? 'coi-sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  })
  // Layer indexes and contents by hash for the bundled layout (v86 then fetches only what a
  // run reads), into dist/ once; copyRuntimeAssets ships them here and with the widget.
  const images = join(root, 'dist', 'images')
  if (existsSync(join(images, 'index.json'))) {
    // Only v86 reads lazily (wasi loads a module whole), so only linux/386 images need it.
    rmSync(join(root, LAZY_IMAGES_DIR), { recursive: true, force: true })
    await publishLayoutLayers(images, join(root, LAZY_IMAGES_DIR), (p) => p.os === 'linux' && p.architecture === '386')
  }
  copyRuntimeAssets(root, outDir, false)
}

export const playgroundStep: BuildStep = {
  name: 'playground',
  inputs: ['web', 'server/http/playground-step.ts', 'server/http/web-build.ts', 'server/image/layer-contents.ts', 'package-lock.json', 'dist/images/index.json', 'dist/guest'],
  outputs: [join(PLAYGROUND_DIR, 'index.html'), join(PLAYGROUND_DIR, 'coi-sw.js'), join(PLAYGROUND_DIR, 'images', 'lazy')],
  after: ['images', 'guest-state'],
  async run(ctx) {
    rmSync(join(ctx.root, PLAYGROUND_DIR), { recursive: true, force: true })
    await buildPlayground(ctx.root)
    ctx.log('built dist/playground')
  },
}
