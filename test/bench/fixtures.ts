// Deterministic bench inputs, cached under .cache/bench: a large gzip layer shaped like a
// real distro layer (tens of thousands of files, mostly small, text-like and binary content,
// directories, symlinks, hardlinks) and OCI layouts/registries built from it.

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, promises as fsp, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../../server/store/paths.js'

export function benchCache(): string {
  const dir = join(packageRoot(), '.cache', 'bench')
  mkdirSync(dir, { recursive: true })
  return dir
}

/** A small, fast PRNG (mulberry32): the same seed makes the same tree on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you ' +
  'were her she there been one all we their has would when if so no will can more out other into some could them ' +
  'then what only its time these two may first any new like our over such man me even most made after also did many ' +
  'int return void static const struct include define unsigned char size_t error buffer length value config module'
).split(' ')

export interface LayerSpec {
  files: number
  seed: number
}

export const BIG_LAYER: LayerSpec = { files: 48_000, seed: 2 }

/** Writes the tree to `dir` (content is a pure function of the spec). */
async function writeTree(dir: string, spec: LayerSpec): Promise<void> {
  const rnd = prng(spec.seed)
  // Shared pools: files take slices at random offsets, so content varies without
  // generating 500 MB of randomness byte by byte.
  const textParts: string[] = []
  let textLen = 0
  while (textLen < 8 << 20) {
    const w = WORDS[Math.floor(rnd() * WORDS.length)]!
    textParts.push(w, rnd() < 0.1 ? '\n' : ' ')
    textLen += w.length + 1
  }
  const text = Buffer.from(textParts.join(''))
  const binary = Buffer.alloc(8 << 20)
  for (let i = 0; i < binary.length; i += 4) binary.writeUInt32LE(Math.floor(rnd() * 2 ** 32), i)

  const dirs: string[] = ['']
  const filesMade: string[] = []
  for (let i = 0; i < spec.files; i++) {
    if (i % 20 === 0 || dirs.length < 8) {
      const parent = dirs[Math.floor(rnd() * dirs.length)]!
      const depth = parent.split('/').length
      const d = depth > 6 ? dirs[Math.floor(rnd() * 8)]! : `${parent}/d${dirs.length}`
      if (!dirs.includes(d)) {
        mkdirSync(join(dir, d), { recursive: true })
        dirs.push(d)
      }
    }
    const parent = dirs[Math.floor(rnd() * dirs.length)]!
    const path = `${parent}/f${i}${rnd() < 0.5 ? '.txt' : '.bin'}`
    // Log-uniform sizes between 64 B and 64 KiB, a few up to 1 MiB: ~11 KiB average.
    const size = Math.floor(rnd() < 0.005 ? 2 ** (16 + rnd() * 4) : 2 ** (6 + rnd() * 10))
    const pool = rnd() < 0.7 ? text : binary
    const off = Math.floor(rnd() * (pool.length - size))
    writeFileSync(join(dir, path), pool.subarray(off, off + size), { mode: rnd() < 0.2 ? 0o755 : 0o644 })
    filesMade.push(path)
    if (i % 60 === 0) {
      await fsp.symlink(`..${path}`, join(dir, `${parent}/l${i}`)).catch(() => undefined)
    }
    if (i % 500 === 0 && filesMade.length > 1) {
      await fsp.link(join(dir, filesMade[Math.floor(rnd() * (filesMade.length - 1))]!), join(dir, `${parent}/h${i}`)).catch(() => undefined)
    }
  }
}

/**
 * The big gzip layer (~500 MB of tar, ~56k files); made once and cached. `tar` with sorted
 * names and fixed owners/mtimes keeps it byte-identical across runs of the same tar.
 */
export async function bigLayer(): Promise<{ path: string; tarBytes: number; gzBytes: number }> {
  const cache = benchCache()
  const path = join(cache, `layer-${BIG_LAYER.seed}-${BIG_LAYER.files}.tar.gz`)
  if (!existsSync(path)) {
    const tree = join(cache, 'layer-tree.tmp')
    rmSync(tree, { recursive: true, force: true })
    mkdirSync(tree)
    await writeTree(tree, BIG_LAYER)
    const tmp = `${path}.tmp`
    execFileSync('sh', ['-c', 'tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner --format=pax --pax-option=delete=atime,delete=ctime -cf - -C "$1" . | gzip -6 -n > "$2"', 'sh', tree, tmp])
    renameSync(tmp, path)
    rmSync(tree, { recursive: true, force: true })
  }
  const gzBytes = statSync(path).size
  const sizeFile = `${path}.size`
  let tarBytes: number
  if (existsSync(sizeFile)) tarBytes = Number((await fsp.readFile(sizeFile, 'utf8')).trim())
  else {
    tarBytes = Number(execFileSync('sh', ['-c', 'gzip -dc "$1" | wc -c', 'sh', path], { encoding: 'utf8' }).trim())
    writeFileSync(sizeFile, String(tarBytes))
  }
  return { path, tarBytes, gzBytes }
}

/** sha256 of a file's (decompressed, when gzip) content, via the system tools. */
export function fileDigest(path: string, gunzip = false): string {
  const cmd = gunzip ? 'gzip -dc "$1" | sha256sum' : 'sha256sum < "$1"'
  return 'sha256:' + execFileSync('sh', ['-c', cmd, 'sh', path], { encoding: 'utf8' }).split(' ')[0]!
}

/** The big layer's diff-id (sha256 of the tar), computed once and cached beside it. */
export async function bigLayerDiffId(path: string): Promise<string> {
  const file = `${path}.diffid`
  if (existsSync(file)) return (await fsp.readFile(file, 'utf8')).trim()
  const d = fileDigest(path, true)
  writeFileSync(file, d)
  return d
}

/**
 * An OCI layout holding one image whose only layer is the big layer (hardlinked): what umoci
 * unpacks and what skopeo pushes to the bench registry.
 */
export async function bigLayout(): Promise<{ dir: string; tag: string; layerBytes: number }> {
  const layer = await bigLayer()
  const diffId = await bigLayerDiffId(layer.path)
  const dir = join(benchCache(), `layout-${BIG_LAYER.seed}-${BIG_LAYER.files}`)
  const tag = 'big'
  if (!existsSync(join(dir, 'index.json'))) {
    const tmp = `${dir}.tmp`
    rmSync(tmp, { recursive: true, force: true })
    mkdirSync(join(tmp, 'blobs', 'sha256'), { recursive: true })
    const layerDigest = fileDigest(layer.path)
    await fsp.link(layer.path, join(tmp, 'blobs', 'sha256', layerDigest.slice(7))).catch(async () => fsp.copyFile(layer.path, join(tmp, 'blobs', 'sha256', layerDigest.slice(7))))
    const put = (text: string): { digest: string; size: number } => {
      const bytes = Buffer.from(text)
      const digest = 'sha256:' + execFileSync('sha256sum', { input: bytes, encoding: 'utf8' }).split(' ')[0]!
      writeFileSync(join(tmp, 'blobs', 'sha256', digest.slice(7)), bytes)
      return { digest, size: bytes.length }
    }
    const config = put(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [diffId] } }))
    const manifest = put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.gzBytes }],
      }),
    )
    writeFileSync(join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
    writeFileSync(
      join(tmp, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
      }),
    )
    rmSync(dir, { recursive: true, force: true })
    renameSync(tmp, dir)
  }
  return { dir, tag, layerBytes: layer.gzBytes }
}
