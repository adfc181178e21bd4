// Vite for the project: the root is the package, dev and preview servers send the COOP and
// COEP headers (cross-origin isolation: SharedArrayBuffer and Atomics.wait for the wasi
// runtime's blocking stdin), workers are ES modules, and the build takes every page under
// test/browser/pages/ (the browser end-to-end tests load them from the preview server).
// The playground has its own build (server/http/playground-step.ts); the lesson widget's
// build (server/lessons/widget-build.ts) runs after the test pages' in every `vite build`.

import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { widgetBuildPlugin } from './server/lessons/widget-build.js'

const root = ((): string => {
  // Compiled to dist/vite.config.js by tsc too: find the package root either way.
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
})()

export const crossOriginIsolationHeaders: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
}

/** Every test page, by name: test/browser/pages/NAME.html. Adding a page is adding a file. */
export function testPages(): Record<string, string> {
  const dir = join(root, 'test', 'browser', 'pages')
  if (!existsSync(dir)) return {}
  const pages: Record<string, string> = {}
  for (const name of readdirSync(dir)) if (name.endsWith('.html')) pages[name.slice(0, -5)] = join(dir, name)
  return pages
}

export default defineConfig({
  root,
  server: { headers: crossOriginIsolationHeaders },
  preview: { headers: crossOriginIsolationHeaders },
  worker: { format: 'es' },
  // `vite build` also emits the lesson widget (dist/widget/boxplay-lesson.js + assets).
  plugins: [widgetBuildPlugin(root)],
  build: {
    outDir: join(root, 'dist', 'test-web'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rolldownOptions: { input: testPages() },
  },
})
