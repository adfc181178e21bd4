// The vite build settings the playground and the lesson widget share: self-contained (the
// project's vite.config.ts serves the test pages), rooted at web/, a relative base so the
// output works from any path, and module workers (the wasi worker imports modules of its own).
// Node's `path`, which the builder's .dockerignore matcher requires, is the page's small POSIX
// stand-in (web/ui/path-shim.ts), so the Build tab applies .dockerignore as the CLI does.

import { join } from 'node:path'
import type { BuildEnvironmentOptions } from 'vite'

export async function buildWeb(root: string, outDir: string, build: BuildEnvironmentOptions): Promise<void> {
  const vite = await import('vite')
  await vite.build({
    configFile: false,
    root: join(root, 'web'),
    base: './',
    publicDir: false,
    logLevel: 'warn',
    worker: { format: 'es' },
    resolve: { alias: { path: join(root, 'web', 'ui', 'path-shim.ts') } },
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096, ...build },
  })
}
