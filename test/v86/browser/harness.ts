// Builds the v86 test page with vite and serves it with vite's preview server on 127.0.0.1,
// plus the guest assets (/guest/) and the bundled images (/images/); v86's wasm is bundled.
// Shared by the browser test and the browser benchmark.

import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import { type PreviewServer, build, preview } from 'vite'
import { packageRoot } from '../../../server/store/paths.js'

/** The page's sources (also when this file runs compiled, from dist/). */
const here = join(packageRoot(), 'test', 'v86', 'browser')

export interface V86Page {
  url: string
  close(): Promise<void>
}

const TYPES: Record<string, string> = { '.wasm': 'application/wasm', '.json': 'application/json' }

function serveDir(prefix: string, dir: string) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!)
    if (!path.startsWith(prefix)) return next()
    const file = normalize(join(dir, path.slice(prefix.length)))
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404
      res.end('not found')
      return
    }
    res.setHeader('content-type', TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream')
    createReadStream(file).pipe(res)
  }
}

export async function startV86Page(): Promise<V86Page> {
  const root = packageRoot()
  const outDir = mkdtempSync(join(tmpdir(), 'boxplay-v86-page-'))
  // 'error': libv86.mjs mentions Node modules behind runtime checks, and vite warns about each.
  await build({ root: here, logLevel: 'error', configFile: false, build: { outDir, emptyOutDir: true } })
  const mounts = [
    serveDir('/guest/', join(root, 'dist', 'guest')),
    serveDir('/images/', join(root, 'dist', 'images')),
  ]
  const server: PreviewServer = await preview({
    root: here,
    configFile: false,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
    plugins: [
      {
        name: 'boxplay-v86-assets',
        configurePreviewServer(s) {
          for (const m of mounts) s.middlewares.use(m)
        },
      },
    ],
  })
  const address = server.httpServer.address()
  if (!address || typeof address === 'string') throw new Error('vite preview did not listen on a TCP port')
  return {
    url: `http://127.0.0.1:${address.port}/`,
    async close() {
      await server.close()
      rmSync(outDir, { recursive: true, force: true })
    },
  }
}
