// v86 in the playground fetches only the files a run reads: an image whose second layer holds
// a large file the run never opens boots and runs without downloading that layer. Headless
// Chromium against `boxplay serve`; every response the page gets is counted.

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, openPage, root, servePreview, type Browser } from '../browser/harness.js'
import { assertBuilt, deepLink, playgroundDir, startServe, waitForTerminal, type Serve } from './playground.js'

let serve: Serve
let browser: Browser
let scratch: string
const BIG = 8 * 2 ** 20

beforeAll(async () => {
  assertBuilt()
  scratch = await mkdtemp(join(tmpdir(), 'boxplay-e2e-lazy-'))
  serve = await startServe()
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await serve?.close()
  await rm(scratch, { recursive: true, force: true })
})

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0)
}

/** busybox plus a layer with BIG bytes of random data at /opt/big.bin, loaded into the server. */
async function loadBigImage(): Promise<{ bigLayerBytes: number }> {
  const layout = join(scratch, 'layout')
  run('skopeo', ['copy', `oci:${join(root, 'dist', 'images')}:busybox:latest`, `oci:${layout}:big`])
  await writeFile(join(scratch, 'big.bin'), randomBytes(BIG))
  run('umoci', ['insert', '--image', `${layout}:big`, join(scratch, 'big.bin'), '/opt/big.bin'])
  const archive = join(scratch, 'big.tar')
  run('skopeo', ['copy', `oci:${layout}:big`, `docker-archive:${archive}:lazy/big:1`])
  const res = await fetch(`${serve.origin}/api/images/load`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/x-tar' },
    body: await readFile(archive),
  })
  expect(res.status, await res.clone().text()).toBe(200)
  // The largest blob in the layout is the layer holding big.bin.
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }
  const manifest = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { size: number }[] }
  return { bigLayerBytes: Math.max(...manifest.layers.map((l) => l.size)) }
}

describe('lazy layers in the browser', () => {
  it('runs an image in v86 without downloading a layer it does not read', async () => {
    const { bigLayerBytes } = await loadBigImage()
    expect(bigLayerBytes).toBeGreaterThan(BIG)
    expect((await stat(join(scratch, 'big.bin'))).size).toBe(BIG)

    const { page, errors } = await openPage(browser, serve.url.href) // the token becomes a cookie
    const fetched: { path: string; bytes: number }[] = []
    page.on('response', (r) => {
      const url = new URL(r.url())
      if (!url.pathname.startsWith('/api/')) return
      void r.body().then(
        (b) => fetched.push({ path: url.pathname, bytes: b.byteLength }),
        () => fetched.push({ path: url.pathname, bytes: 0 }),
      )
    })
    await page.goto(deepLink(serve.origin, { image: 'lazy/big:1', runtime: 'v86', cmd: "sh -c 'echo lazy-$((6*7)); wc -c < /etc/passwd'" }))
    expect(await waitForTerminal(page, /^lazy-42$[\s\S]*\[exited with code 0\]/m, 90_000)).toBeTruthy()
    await page.waitForTimeout(500) // let the last bodies be counted

    const sum = (prefix: string) => fetched.filter((f) => f.path.startsWith(prefix)).reduce((n, f) => n + f.bytes, 0)
    const indexes = fetched.filter((f) => f.path.startsWith('/api/layers/'))
    const contents = fetched.filter((f) => f.path.startsWith('/api/content/'))
    // Both layers came as indexes; only manifests and configs came as blobs.
    expect(indexes.length).toBe(2)
    expect(sum('/api/blobs/')).toBeLessThan(64 * 1024)
    // The guest read busybox and /etc/passwd, never /opt/big.bin.
    expect(contents.length).toBeGreaterThan(0)
    expect(sum('/api/content/')).toBeLessThan(BIG / 2)
    const total = fetched.reduce((n, f) => n + f.bytes, 0)
    expect(total).toBeLessThan(bigLayerBytes / 2)
    console.log(`lazy v86 run: ${fetched.length} API responses, ${total} bytes (${contents.length} contents, ${sum('/api/content/')} bytes); the unread layer is ${bigLayerBytes} bytes`)
    expect(errors).toEqual([])
    await page.close()
  })

  it('the static playground ships indexes and contents: busybox runs in v86 without its layer blob', async () => {
    const served = await servePreview(playgroundDir)
    try {
      const fetched: { path: string; bytes: number }[] = []
      const { page, errors } = await openPage(browser, `${served.url}/`)
      page.on('response', (r) => {
        const path = new URL(r.url()).pathname
        if (!path.startsWith('/images/')) return
        void r.body().then(
          (b) => fetched.push({ path, bytes: b.byteLength }),
          () => fetched.push({ path, bytes: 0 }),
        )
      })
      await page.goto(deepLink(served.url, { image: 'busybox', runtime: 'v86', cmd: "sh -c 'echo static-lazy'" }))
      expect(await waitForTerminal(page, /^static-lazy$[\s\S]*\[exited with code 0\]/m, 90_000)).toBeTruthy()
      await page.waitForTimeout(500)
      const sum = (prefix: string) => fetched.filter((f) => f.path.startsWith(prefix)).reduce((n, f) => n + f.bytes, 0)
      expect(fetched.filter((f) => f.path.startsWith('/images/lazy/')).length).toBeGreaterThan(0)
      expect(fetched.filter((f) => f.path.startsWith('/images/content/')).length).toBeGreaterThan(0)
      // Only index.json, manifests and configs came from blobs/: no layer.
      expect(sum('/images/blobs/')).toBeLessThan(64 * 1024)
      expect(errors).toEqual([])
      await page.close()
    } finally {
      await served.close()
    }
  })
})
