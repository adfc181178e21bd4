// The store on disk is an OCI image layout (so skopeo, umoci and friends read and write it),
// plus boxplay's own directories beside the standard ones:
//
//   oci-layout, index.json, blobs/sha256/<hex>   the OCI image layout
//   layers/<diffid-hex>/ + layers/<hex>.json      unpacked layers for the native runtime
//   tmp/<pid>-<random>/                          scratch, same filesystem (atomic renames)
//   index.json.lock                              held while index.json is rewritten
//   boxplay.json                                 which bundled images were seeded (see seed.ts)

import { randomBytes } from 'node:crypto'
import { existsSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { type Descriptor, parseIndex } from '../../web/oci/manifest.js'
import { OCI_INDEX } from '../../web/oci/media-types.js'

export const REF_NAME = 'org.opencontainers.image.ref.name'
/** containerd/Docker name annotation (full reference), found in `docker save` OCI layouts. */
export const CONTAINERD_NAME = 'io.containerd.image.name'

export interface LayoutPaths {
  home: string
  blobs: string
  layers: string
  tmp: string
  index: string
  lock: string
  state: string
}

export function layoutPaths(home: string): LayoutPaths {
  return {
    home,
    blobs: join(home, 'blobs', 'sha256'),
    layers: join(home, 'layers'),
    tmp: join(home, 'tmp'),
    index: join(home, 'index.json'),
    lock: join(home, 'index.json.lock'),
    state: join(home, 'boxplay.json'),
  }
}

/** index.json as stored: validated, but kept raw so fields we don't know survive rewrites. */
export interface RawIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: (Descriptor & Record<string, unknown>)[]
  [key: string]: unknown
}

export async function readIndex(path: string): Promise<RawIndex> {
  let text: string
  try {
    text = await fsp.readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }
    throw e
  }
  try {
    parseIndex(text)
  } catch (e) {
    throw new Error(`${path} is not a valid OCI index (${(e as Error).message}); fix or remove it`)
  }
  return JSON.parse(text) as RawIndex
}

/** Writes a JSON file via a temp file and rename: readers see the old or the new, never half. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  await fsp.writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o644 })
  try {
    await fsp.rename(tmp, path)
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined)
    throw e
  }
}

/** Creates the layout files if missing; returns true when this call created the store. */
export async function initLayout(paths: LayoutPaths): Promise<boolean> {
  await fsp.mkdir(paths.blobs, { recursive: true })
  await fsp.mkdir(paths.layers, { recursive: true })
  await fsp.mkdir(paths.tmp, { recursive: true })
  const layoutFile = join(paths.home, 'oci-layout')
  if (existsSync(layoutFile)) return false
  if (!existsSync(paths.index)) {
    // link() of a complete temp file: atomic AND exclusive, so a racing process's index
    // (perhaps already holding names) is never overwritten by an empty one.
    const tmp = `${paths.index}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
    await fsp.writeFile(tmp, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }, null, 2) + '\n')
    await fsp.link(tmp, paths.index).catch(() => undefined)
    await fsp.unlink(tmp).catch(() => undefined)
  }
  // Written last and exclusively: exactly one of several racing processes "creates" the store.
  try {
    await fsp.writeFile(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }) + '\n', { flag: 'wx' })
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  }
}

export function refName(d: { annotations?: Record<string, string> }): string | undefined {
  return d.annotations?.[REF_NAME]
}
