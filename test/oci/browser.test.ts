// web/oci must run in browsers: bundle it with vite, load it in headless Chromium from a
// page whose origin also fronts a real docker-registry, and pull + build an image there.

import { createServer, type Server } from 'node:http'
import { mkdtemp, readFile as readHostFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type LocalRegistry, pushImage, startRegistry, tarTree } from '../helpers/registry.js'

let registry: LocalRegistry
let server: Server
let browser: Browser
let outDir: string
let origin: string

beforeAll(async () => {
  registry = await startRegistry()
  await pushImage(registry, 'web/demo:1', [
    { platform: { os: 'linux', architecture: '386' }, layers: [await tarTree({ 'etc/arch': '386\n', 'bin/sh': { file: 'sh', mode: 0o755 } })] },
    { platform: { os: 'wasi', architecture: 'wasm' }, layers: [await tarTree({ 'app.wasm': 'wasm bytes', 'etc/.keep': '' }), await tarTree({ 'etc/from-zstd': 'zstd layer\n' })], config: { Entrypoint: ['/app.wasm'] }, compression: 'zstd' },
  ])
  outDir = await mkdtemp(join(tmpdir(), 'boxplay-oci-bundle-'))
  await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      lib: { entry: join(import.meta.dirname, 'browser-entry.ts'), formats: ['es'], fileName: () => 'oci.js' },
    },
  })
  server = createServer((req, res) => {
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>oci</title>')
    // The bundle and its chunks (fzstd is loaded on first use).
    const chunk = /^\/([\w.-]+\.js)$/.exec(req.url ?? '')?.[1]
    if (chunk) {
      void readHostFile(join(outDir, chunk)).then(
        (js) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(js),
        () => res.writeHead(404).end(),
      )
      return
    }
    // Everything else goes to the registry, so the page can pull same-origin.
    void (async () => {
      const upstream = await fetch(`${registry.url}${req.url}`, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } })
      const headers: Record<string, string> = {}
      upstream.headers.forEach((v, k) => {
        if (k !== 'content-encoding' && k !== 'transfer-encoding') headers[k] = v
      })
      res.writeHead(upstream.status, headers).end(new Uint8Array(await upstream.arrayBuffer()))
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const a = server.address()
  origin = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
})

afterAll(async () => {
  await browser?.close()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await registry?.stop()
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

test('in Chromium: resolve an index, pick platforms, build rootfs from gzip and zstd layers', async () => {
  const page = await browser.newPage()
  await page.goto(origin)
  // Loaded by a module script: vitest would rewrite an import() written in this file.
  await page.addScriptTag({ type: 'module', content: "import * as oci from '/oci.js'; window.oci = oci" })
  await page.waitForFunction(() => 'oci' in window)
  const result = await page.evaluate(async () => {
    const oci = (window as unknown as { oci: typeof import('./browser-entry.js') }).oci
    const host = location.host
    const client = new oci.RegistryClient({ registry: host, insecure: true })
    const ref = `${host}/web/demo:1`
    const out: Record<string, unknown> = {}
    const i386 = await oci.resolveImage(client.source(ref), ref, { os: 'linux', architecture: '386' })
    const fs = await oci.buildRootFs(i386)
    out.arch = new TextDecoder().decode(await oci.readFile(fs.get('/etc/arch') as import('../../web/oci/rootfs.js').FileNode))
    out.shMode = fs.get('/bin/sh').mode
    const wasm = await oci.resolveImage(client.source(ref), ref, { os: 'wasi', architecture: 'wasm' })
    const wfs = await oci.buildRootFs(wasm)
    out.entrypoint = wasm.config.Entrypoint
    out.zstd = new TextDecoder().decode(await oci.readFile(wfs.get('/etc/from-zstd') as import('../../web/oci/rootfs.js').FileNode))
    out.platforms = wasm.platforms
    try {
      await oci.resolveImage(client.source(ref), ref, { os: 'linux', architecture: 'arm64' })
    } catch (e) {
      out.error = (e as Error).message
    }
    return out
  })
  expect(result.arch).toBe('386\n')
  expect(result.shMode).toBe(0o755)
  expect(result.entrypoint).toEqual(['/app.wasm'])
  expect(result.zstd).toBe('zstd layer\n')
  expect(result.platforms).toEqual([{ os: 'linux', architecture: '386' }, { os: 'wasi', architecture: 'wasm' }])
  expect(result.error).toMatch(/has no linux\/arm64 variant; it is available for: linux\/386, wasi\/wasm/)
  await page.close()
})
