// The lesson widget's build, in one place for its three callers: `vite build` (a plugin in
// vite.config.ts), the `widget` setup step, and the widget's end-to-end tests.
//
// Output: OUT/boxplay-lesson.js (entry web/widget.ts) with chunks, the wasi worker and
// v86.wasm under OUT/assets/, plus what the runtimes fetch at run time copied beside it:
// OUT/images/ (the bundled OCI layout) and OUT/guest/ (BIOS, kernel, saved states). The
// bundle finds all of it relative to its own URL, so OUT can be copied to any static site.

import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Plugin } from 'vite'
import { copyRuntimeAssets } from '../http/runtime-assets.js'
import { buildWeb } from '../http/web-build.js'
import type { BuildStep } from '../setup/step.js'

export const WIDGET_DIR = join('dist', 'widget')

export async function buildWidget(root: string, outDir = join(root, WIDGET_DIR)): Promise<void> {
  await buildWeb(root, outDir, {
    // v86.wasm must stay a file: inlined it would add megabytes to the bundle.
    assetsInlineLimit: 0,
    rollupOptions: {
      input: { 'boxplay-lesson': join(root, 'web', 'widget.ts'), 'coi-sw': join(root, 'web', 'coi-sw.ts') },
      preserveEntrySignatures: 'exports-only',
      output: {
        entryFileNames: '[name].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  })
  copyRuntimeAssets(root, outDir, true)
}

/** For vite.config.ts: `vite build` also builds the widget into dist/widget. */
export function widgetBuildPlugin(root: string): Plugin {
  return {
    name: 'boxplay-lesson-widget',
    apply: 'build',
    async closeBundle() {
      try {
        await buildWidget(root)
      } catch (e) {
        // The test pages built fine; say why the widget did not, without failing them.
        this.warn(`the lesson widget was not built: ${e instanceof Error ? e.message : String(e)}`)
      }
    },
  }
}

/**
 * Lays out the lessons on a site: site/widget/ (a built widget), site/lessons/ (the pages, which
 * load ../widget/boxplay-lesson.js) and, beside the pages, coi-sw.js for hosts that cannot send
 * COOP/COEP.
 */
export function installLessons(root: string, widgetDir: string, site: string): void {
  for (const name of ['widget', 'lessons']) rmSync(join(site, name), { recursive: true, force: true })
  cpSync(widgetDir, join(site, 'widget'), { recursive: true })
  cpSync(join(root, 'web', 'lessons'), join(site, 'lessons'), { recursive: true })
  cpSync(join(widgetDir, 'coi-sw.js'), join(site, 'lessons', 'coi-sw.js'))
}

/**
 * The `widget` setup step: dist/widget, and the static site's copy of it with the lessons
 * (dist/playground/widget/, dist/playground/lessons/), so `boxplay serve` and any host of
 * dist/playground serve the lessons at /lessons/ (they load ../widget/boxplay-lesson.js).
 */
export const widgetStep: BuildStep = {
  name: 'widget',
  inputs: ['web', 'server/lessons/widget-build.ts', 'server/http/runtime-assets.ts', 'server/http/web-build.ts', 'server/image/layer-contents.ts', 'package-lock.json', 'dist/images/index.json', 'dist/guest', 'dist/playground/index.html'],
  outputs: [join(WIDGET_DIR, 'boxplay-lesson.js'), join(WIDGET_DIR, 'coi-sw.js'), 'dist/playground/widget/boxplay-lesson.js', 'dist/playground/lessons/index.html', 'dist/playground/lessons/coi-sw.js'],
  after: ['images', 'guest-state', 'playground'],
  async run(ctx) {
    await buildWidget(ctx.root)
    installLessons(ctx.root, join(ctx.root, WIDGET_DIR), join(ctx.root, 'dist', 'playground'))
    ctx.log('built dist/widget and the lessons in dist/playground/lessons')
  },
}
