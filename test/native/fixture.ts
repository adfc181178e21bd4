// Root filesystems for the native tests: the bundled busybox image's layer (dist/images,
// built by `boxplay setup`) unpacked with tar, plus small layers each test writes itself.

import { execFileSync } from 'node:child_process'
import { chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ImageConfig, RunImage } from '../../web/runtimes/runtime.js'
import { NativeRuntime } from '../../server/native/index.js'
import { packageRoot } from '../../server/native/paths.js'

interface Descriptor {
  digest: string
  annotations?: Record<string, string>
}

/** The path of the bundled busybox image's (single) layer blob. */
export function busyboxLayerBlob(): string {
  const images = join(packageRoot(), 'dist', 'images')
  const blob = (d: string) => join(images, 'blobs', 'sha256', d.replace(/^sha256:/, ''))
  let index: { manifests: Descriptor[] }
  try {
    index = JSON.parse(readFileSync(join(images, 'index.json'), 'utf8')) as { manifests: Descriptor[] }
  } catch {
    throw new Error('dist/images/index.json is missing: run `npm run setup` to build the bundled images')
  }
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'busybox:latest')
  if (!entry) throw new Error('the bundled busybox image is not built: run `npm run setup`')
  const manifest = JSON.parse(readFileSync(blob(entry.digest), 'utf8')) as { layers: Descriptor[] }
  return blob(manifest.layers[0]!.digest)
}

/** A fresh directory holding busybox unpacked (owned by `uid` when given: rootless tests). */
export function unpackBusybox(parent: string, uid?: number): string {
  const dir = join(parent, 'busybox')
  mkdirSync(dir)
  if (uid === undefined) {
    execFileSync('tar', ['-xzf', busyboxLayerBlob(), '-C', dir, '--numeric-owner'])
  } else {
    chownSync(dir, uid, uid)
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'tar', '-xzf', busyboxLayerBlob(), '-C', dir, '--no-same-owner'])
  }
  return dir
}

/** A layer made of the given files (path → content; content starting with '->' is a symlink). */
export function makeLayer(parent: string, name: string, files: Record<string, string>): string {
  const dir = join(parent, name)
  mkdirSync(dir)
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path)
    mkdirSync(join(full, '..'), { recursive: true })
    if (content.startsWith('->')) execFileSync('ln', ['-s', content.slice(2), full])
    else if (path.endsWith('/')) mkdirSync(full, { recursive: true })
    else writeFileSync(full, content)
  }
  return dir
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `boxplay-native-${prefix}-`))
}

/** A RunImage over ready-made layer directories (no store involved), top layer first. */
export function image(layers: string[], config: ImageConfig = { Cmd: ['sh'] }, architecture = '386'): { image: RunImage; runtime: NativeRuntime } {
  const img: RunImage = {
    name: 'fixture',
    digest: 'sha256:' + '0'.repeat(64),
    platform: { os: 'linux', architecture },
    config,
    layers: [],
    blob: async () => {
      throw new Error('fixture images have no blobs')
    },
  }
  return { image: img, runtime: new NativeRuntime({ layerDirs: async () => layers }) }
}
