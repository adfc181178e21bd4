// dist/images, as `npm test`'s setup builds it: a valid OCI layout other tools read, whose
// digests do not change when it is built again.

import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { hello } from '../../images/hello/build.js'
import { stepName } from '../../images/image-step.js'
import { mergeLayouts, writeLayout } from '../../images/oci-writer.js'
import { bundledImages } from '../../images/steps.js'
import { verifyDigest } from '../../web/oci/digest.js'
import { parseIndex, parseManifest } from '../../web/oci/manifest.js'
import { OCI_INDEX } from '../../web/oci/media-types.js'
import { LAYOUT, LINUX_386, ROOT, WASI, readBlob, refDescriptor, resolveImage } from './layout-helpers.js'

const REFS = ['busybox:latest', 'debian:latest', 'hello:latest', 'lua:latest', 'python:latest', 'sqlite:latest']
const tmp = mkdtempSync(join(tmpdir(), 'boxplay-layout-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function tool(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 })
  if (res.error) throw res.error
  return { status: res.status, stdout: res.stdout, stderr: res.stderr }
}

describe('dist/images', () => {
  test('is an OCI layout naming every bundled image', () => {
    expect(JSON.parse(readFileSync(join(LAYOUT, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' })
    const index = parseIndex(readFileSync(join(LAYOUT, 'index.json')))
    expect(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toEqual(REFS)
  })

  test('holds only blobs whose contents match their names, and every one is referenced', async () => {
    const names = readdirSync(join(LAYOUT, 'blobs', 'sha256'))
    for (const name of names) await verifyDigest(readFileSync(join(LAYOUT, 'blobs', 'sha256', name)), `sha256:${name}`)
    // Walk from index.json: every descriptor reachable must exist, and nothing else is there.
    const reached = new Set<string>()
    const walk = async (digest: string, size: number, mediaType: string): Promise<void> => {
      reached.add(digest.slice(7))
      const bytes = await readBlob(LAYOUT, { digest, size })
      if (mediaType === OCI_INDEX) {
        for (const m of parseIndex(bytes).manifests) await walk(m.digest, m.size, m.mediaType)
      } else {
        const manifest = parseManifest(bytes)
        for (const d of [manifest.config, ...manifest.layers]) {
          await readBlob(LAYOUT, d)
          reached.add(d.digest.slice(7))
        }
      }
    }
    for (const m of parseIndex(readFileSync(join(LAYOUT, 'index.json'))).manifests) await walk(m.digest, m.size, m.mediaType)
    expect([...reached].sort()).toEqual([...names].sort())
  })

  test('has the platforms and entrypoints the runtimes expect', async () => {
    const busybox = await resolveImage(LAYOUT, 'busybox:latest', LINUX_386)
    expect(busybox.config.config?.Cmd).toEqual(['sh'])
    expect(busybox.config.config?.Env?.some((e) => e.startsWith('PATH=') && e.includes('/bin'))).toBe(true)
    for (const [ref, name] of [['hello:latest', 'hello'], ['lua:latest', 'lua'], ['sqlite:latest', 'sqlite3']] as const) {
      expect(refDescriptor(LAYOUT, ref).mediaType).toBe(OCI_INDEX)
      const native = await resolveImage(LAYOUT, ref, LINUX_386)
      const wasm = await resolveImage(LAYOUT, ref, WASI)
      expect(native.config.config?.Entrypoint).toEqual([`/usr/bin/${name}`])
      expect(wasm.config.config?.Entrypoint).toEqual([`/usr/bin/${name}.wasm`])
      expect([native.config.os, native.config.architecture, wasm.config.os, wasm.config.architecture]).toEqual(['linux', '386', 'wasi', 'wasm'])
    }
    const python = await resolveImage(LAYOUT, 'python:latest', WASI)
    expect(python.config.config?.Entrypoint).toEqual(['/usr/bin/python.wasm'])
  })

  test('skopeo inspects busybox and the wasm variant of lua', () => {
    const busybox = tool('skopeo', ['inspect', `oci:${LAYOUT}:busybox:latest`])
    expect(busybox.stderr).toBe('')
    expect(JSON.parse(busybox.stdout)).toMatchObject({ Architecture: '386', Os: 'linux', Digest: refDescriptor(LAYOUT, 'busybox:latest').digest })
    const lua = tool('skopeo', ['inspect', '--override-os', 'wasi', '--override-arch', 'wasm', `oci:${LAYOUT}:lua:latest`])
    expect(lua.status).toBe(0)
    expect(JSON.parse(lua.stdout)).toMatchObject({ Architecture: 'wasm', Os: 'wasi' })
    // And a raw read of the multi-platform index resolves to the same digest as index.json says.
    const raw = tool('skopeo', ['inspect', '--raw', `oci:${LAYOUT}:hello:latest`])
    expect(parseIndex(raw.stdout).manifests.map((m) => m.platform?.os)).toEqual(['linux', 'wasi'])
  })

  test('umoci lists every image and unpacks busybox', () => {
    const res = tool('umoci', ['ls', '--layout', LAYOUT])
    expect(res.status).toBe(0)
    expect(res.stdout.trim().split('\n').sort()).toEqual(REFS)
    const bundle = join(tmp, 'umoci-busybox')
    const unpack = tool('umoci', ['unpack', '--rootless', '--image', `${LAYOUT}:busybox:latest`, bundle])
    expect(unpack.status).toBe(0)
    expect(readlinkSync(join(bundle, 'rootfs', 'bin', 'sh'))).toBe('/bin/busybox')
    expect(readFileSync(join(bundle, 'rootfs', 'etc', 'passwd'), 'utf8')).toMatch(/^root:/)
  })
})

describe('rebuilding', () => {
  // Once, against dist/images (packed by `boxplay setup` in another process): two packings
  // compared. Packing twice here doubled this test once debian (2 × 80 MB, gzip -9) came.
  test('repacking every image from its build artifacts gives byte-identical layouts, equal to dist/images', async () => {
    const run = join(tmp, 'a')
    const parts: string[] = []
    for (const image of bundledImages) {
      const part = join(run, image.name)
      await writeLayout(part, [await image.recipe(join(ROOT, '.cache', 'build', stepName(image)), ROOT)])
      parts.push(part)
    }
    mergeLayouts(join(run, 'images'), parts)
    expect(readFileSync(join(run, 'images', 'index.json'), 'utf8')).toBe(readFileSync(join(LAYOUT, 'index.json'), 'utf8'))
    expect(readdirSync(join(run, 'images', 'blobs', 'sha256')).sort()).toEqual(readdirSync(join(LAYOUT, 'blobs', 'sha256')).sort())
  })

  test('compiling hello from scratch in a fresh cache dir gives the same image digest', async () => {
    const cacheDir = join(tmp, 'hello-cache')
    await hello.build({ root: ROOT, cacheDir, distDir: join(tmp, 'dist'), log: () => {} })
    const layout = join(tmp, 'hello-layout')
    await writeLayout(layout, [await hello.recipe(cacheDir, ROOT)])
    expect(refDescriptor(layout, 'hello:latest').digest).toBe(refDescriptor(LAYOUT, 'hello:latest').digest)
  })
})
