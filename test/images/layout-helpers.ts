// Reading the bundled OCI layout back for the image tests: resolve a ref and platform to
// its manifest, verify every blob against its digest, unpack layers into a directory. The
// tar parsing is web/oci/tar.ts; this only writes what it reports to disk.

import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, linkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { gunzipSync } from 'node:zlib'
import { verifyDigest } from '../../web/oci/digest.js'
import {
  type Descriptor,
  type ImageConfigFile,
  type ImageManifest,
  parseImageConfig,
  parseIndex,
  parseManifest,
  selectPlatform,
} from '../../web/oci/manifest.js'
import { OCI_INDEX } from '../../web/oci/media-types.js'
import { type Platform, formatPlatform } from '../../web/oci/platform.js'
import { readTarSync } from '../../web/oci/tar.js'

export const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..')
export const LAYOUT = join(ROOT, 'dist', 'images')
export const LINUX_386: Platform = { os: 'linux', architecture: '386' }
export const WASI: Platform = { os: 'wasi', architecture: 'wasm' }

export async function readBlob(layout: string, d: Pick<Descriptor, 'digest' | 'size'>): Promise<Uint8Array> {
  const bytes = new Uint8Array(readFileSync(join(layout, 'blobs', 'sha256', d.digest.slice(7))))
  await verifyDigest(bytes, d.digest, d.size)
  return bytes
}

export function refDescriptor(layout: string, ref: string): Descriptor {
  const index = parseIndex(readFileSync(join(layout, 'index.json')))
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref)
  if (!d) throw new Error(`${layout} has no image named ${ref}`)
  return d
}

export interface ResolvedImage {
  manifest: ImageManifest
  config: ImageConfigFile
  digest: string
}

export async function resolveImage(layout: string, ref: string, platform: Platform): Promise<ResolvedImage> {
  let d = refDescriptor(layout, ref)
  if (d.mediaType === OCI_INDEX) d = selectPlatform(parseIndex(await readBlob(layout, d)), platform, ref)
  else if (d.platform && formatPlatform(d.platform) !== formatPlatform(platform)) {
    throw new Error(`${ref} is ${formatPlatform(d.platform)}, not ${formatPlatform(platform)}`)
  }
  const manifest = parseManifest(await readBlob(layout, d))
  const config = parseImageConfig(await readBlob(layout, manifest.config))
  return { manifest, config, digest: d.digest }
}

/** Unpacks the image's layers into `dir` (entries are trusted: these are our own images). */
export async function unpackImage(layout: string, image: ResolvedImage, dir: string): Promise<void> {
  for (const [i, layer] of image.manifest.layers.entries()) {
    const tar = gunzipSync(await readBlob(layout, layer))
    await verifyDigest(tar, image.config.rootfs.diff_ids[i]!)
    for (const e of readTarSync(tar)) {
      const path = join(dir, e.path)
      if (e.type === 'dir') {
        mkdirSync(path, { recursive: true })
        chmodSync(path, e.mode)
      } else if (e.type === 'file') {
        writeFileSync(path, e.data)
        chmodSync(path, e.mode)
      } else if (e.type === 'symlink') symlinkSync(e.linkname, path)
      else if (e.type === 'hardlink') linkSync(join(dir, e.linkname), path)
      else throw new Error(`unexpected ${e.type} entry ${e.path} in ${layer.digest}`)
    }
  }
}

export interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

export function run(command: string, args: readonly string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Ran {
  const res = spawnSync(command, args, { input: opts.input ?? '', cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: 60_000 })
  if (res.error) throw res.error
  return { status: res.status, stdout: res.stdout, stderr: res.stderr }
}

const WASI_RUNNER = join(ROOT, 'test', 'images', 'run-wasi.mjs')

/** Runs a WASI module under node:wasi in a child process, with `rootDir` preopened as `/`. */
export function runWasi(rootDir: string, argv: readonly string[], opts: { input?: string; env?: string[] } = {}): Ran {
  return run(process.execPath, ['--no-warnings', WASI_RUNNER, rootDir, JSON.stringify(opts.env ?? []), ...argv], { input: opts.input ?? '' })
}
