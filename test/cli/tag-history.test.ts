// `boxplay tag` and `boxplay history` on a real store: names added in familiar form, the
// store untouched by a bad tag, and docker history's columns (`<missing>` ids below the top,
// 0B for steps without a layer, truncation and --no-trunc, --json, --platform).

import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Blob, type BuiltImage, buildImage, sha256, tarTree, tempDir, writeOciLayout } from '../helpers/registry.js'
import { cli } from '../store/helpers.js'

const NO_SEED = { BOXPLAY_BUNDLED_IMAGES: '' }
const LONG_RUN = '/bin/sh -c apk add --no-cache python3 py3-pip && pip install --no-cache-dir requests'

let root: string
let home: string
let amd64: BuiltImage
let i386: BuiltImage
let top: Blob

beforeAll(async () => {
  root = await tempDir('boxplay-tag-history-')
  home = join(root, 'home')
  const history = [
    { created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
    { created: '2024-01-01T00:00:01Z', created_by: '/bin/sh -c #(nop)  ENV A=1', empty_layer: true },
    { created: '2024-01-01T00:00:02Z', created_by: LONG_RUN, comment: 'buildkit.dockerfile.v0' },
    { created: '2024-01-01T00:00:03Z', created_by: '/bin/sh -c #(nop)  CMD ["/bin/sh"]', empty_layer: true },
  ]
  const layers = [await tarTree({ 'bin/sh': { file: 'sh', mode: 0o755 } }), await tarTree({ 'usr/bin/python3': 'py' })]
  amd64 = withHistory(buildImage({ platform: { os: 'linux', architecture: 'amd64' }, layers }), history)
  i386 = buildImage({ platform: { os: 'linux', architecture: '386' }, layers: [layers[0]!] })
  const layout = join(root, 'layout')
  top = await writeOciLayout(layout, 'multi:1', [amd64, i386])
  const loaded = await cli(['--home', home, 'load', layout], NO_SEED)
  expect(loaded).toMatchObject({ code: 0, stdout: 'Loaded image: multi:1\n' })
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

function blob(mediaType: string, value: unknown): Blob {
  const bytes = new TextEncoder().encode(JSON.stringify(value))
  return { mediaType, digest: sha256(bytes), size: bytes.byteLength, bytes }
}

/** buildImage's config has one generic history entry per layer: this one has `history`. */
function withHistory(image: BuiltImage, history: unknown[]): BuiltImage {
  const cfg = JSON.parse(new TextDecoder().decode(image.config.bytes)) as Record<string, unknown>
  const config = blob(image.config.mediaType, { ...cfg, history })
  const manifest = JSON.parse(new TextDecoder().decode(image.manifest.bytes)) as Record<string, unknown>
  return { ...image, config, manifest: blob(image.manifest.mediaType, { ...manifest, config: { mediaType: config.mediaType, digest: config.digest, size: config.size } }) }
}

const indexJson = (): string => readFileSync(join(home, 'index.json'), 'utf8')

describe('tag', () => {
  it('adds a name in familiar form that resolves to the same image', async () => {
    expect(await cli(['--home', home, 'tag', 'multi:1', 'docker.io/library/again'], NO_SEED)).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(await cli(['--home', home, 'tag', 'multi', '127.0.0.1:5000/team/app:2'], NO_SEED)).toMatchObject({ code: 125 }) // multi:latest does not exist
    expect(await cli(['--home', home, 'tag', top.digest.slice(7, 19), '127.0.0.1:5000/team/app:2'], NO_SEED)).toMatchObject({ code: 0 })
    const images = JSON.parse((await cli(['--home', home, 'images', '--json'], NO_SEED)).stdout) as { name: string; digest: string }[]
    expect(images.map((i) => [i.name, i.digest]).sort()).toEqual(
      [
        ['127.0.0.1:5000/team/app:2', top.digest],
        ['again:latest', top.digest],
        ['multi:1', top.digest],
      ].sort(),
    )
    // Tagging onto an existing name moves it, as docker tag does (here: to the same image).
    expect(await cli(['--home', home, 'tag', 'again', 'multi:1'], NO_SEED)).toMatchObject({ code: 0 })
    expect(JSON.parse(indexJson()).manifests).toHaveLength(3)
  })

  it('refuses a missing source or a bad target with exit 125 and leaves the store as it was', async () => {
    const before = indexJson()
    const missing = await cli(['--home', home, 'tag', 'nope:1', 'x:1'], NO_SEED)
    expect(missing).toMatchObject({ code: 125, stderr: expect.stringMatching(/no image "nope:1"/) })
    const bad = await cli(['--home', home, 'tag', 'multi:1', 'Bad Name'], NO_SEED)
    expect(bad).toMatchObject({ code: 125, stderr: expect.stringMatching(/cannot tag as "Bad Name"/) })
    const digest = await cli(['--home', home, 'tag', 'multi:1', `x@${top.digest}`], NO_SEED)
    expect(digest).toMatchObject({ code: 125, stderr: expect.stringMatching(/without a digest/) })
    expect(await cli(['--home', home, 'tag', 'multi:1'], NO_SEED)).toMatchObject({ code: 125 })
    expect(indexJson()).toBe(before)
  })
})

describe('history', () => {
  it('shows the steps newest first with docker history columns', async () => {
    const res = await cli(['--home', home, 'history', 'multi:1'], NO_SEED)
    expect(res.code).toBe(0)
    const lines = res.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/)
    expect(lines).toHaveLength(5)
    expect(lines[1]).toMatch(new RegExp(`^${top.digest.slice(7, 19)}\\s+\\d+ (years|months) ago\\s+/bin/sh -c #\\(nop\\)  CMD \\["/bin/sh"\\]\\s+0B$`))
    const layerSize = amd64.layers[1]!.size
    expect(lines[2]).toMatch(/^<missing>\s/)
    expect(lines[2]).toContain(`${LONG_RUN.slice(0, 44)}…`)
    expect(lines[2]).not.toContain('requests')
    expect(lines[2]).toMatch(new RegExp(`\\s${layerSize}B\\s+buildkit.dockerfile.v0$`))
    expect(lines[3]).toMatch(/^<missing>\s.*ENV A=1\s+0B$/)
    expect(lines[4]).toMatch(new RegExp(`^<missing>\\s.*ADD file:abc in /\\s+${amd64.layers[0]!.size}B$`))
  })

  it('--no-trunc shows full digests and commands; --json the rows; --platform another variant', async () => {
    const full = await cli(['--home', home, 'history', '--no-trunc', 'multi:1'], NO_SEED)
    expect(full.stdout).toContain(top.digest)
    expect(full.stdout).toContain(LONG_RUN)
    const rows = JSON.parse((await cli(['--home', home, 'history', 'multi:1', '--json'], NO_SEED)).stdout) as Record<string, unknown>[]
    expect(rows.map((r) => [r.id, r.size, r.emptyLayer, r.layer])).toEqual([
      [top.digest, 0, true, null],
      [null, amd64.layers[1]!.size, false, amd64.layers[1]!.digest],
      [null, 0, true, null],
      [null, amd64.layers[0]!.size, false, amd64.layers[0]!.digest],
    ])
    expect(rows[1]).toMatchObject({ created: '2024-01-01T00:00:02Z', createdBy: LONG_RUN, comment: 'buildkit.dockerfile.v0' })
    // the 386 image's config has buildImage's one generic entry per layer
    const other = JSON.parse((await cli(['--home', home, 'history', 'multi:1', '--platform', 'linux/386', '--json'], NO_SEED)).stdout) as Record<string, unknown>[]
    expect(other).toEqual([{ id: top.digest, created: null, createdBy: 'boxplay test', size: i386.layers[0]!.size, comment: '', emptyLayer: false, layer: i386.layers[0]!.digest }])
  })

  it('fails clearly for a missing image or platform', async () => {
    expect(await cli(['--home', home, 'history', 'nope'], NO_SEED)).toMatchObject({ code: 125, stderr: expect.stringMatching(/no image "nope"/) })
    expect(await cli(['--home', home, 'history', 'multi:1', '--platform', 'linux/arm64'], NO_SEED)).toMatchObject({ code: 125, stderr: expect.stringMatching(/arm64/) })
  })
})
