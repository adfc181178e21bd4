// The boxplay CLI's image commands: help and version, usage errors (exit 125), options
// before or after the image, `--`, --home, and the --json outputs of images/inspect/load/
// rmi/prune against a real store.

import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../server/store/paths.js'
import { type BuiltImage, buildImage, tarTree, tempDir, writeOciLayout } from '../helpers/registry.js'
import { cli, cliProcess } from '../store/helpers.js'

const run = promisify(execFile)

let root: string
let layout: string
let image: BuiltImage

beforeAll(async () => {
  root = await tempDir('boxplay-cli-')
  layout = join(root, 'layout')
  image = buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [await tarTree({ 'bin/app': { file: 'app', mode: 0o755 } }), await tarTree({ 'etc/conf': 'c' })],
    config: { Entrypoint: ['/bin/app'], Env: ['A=1'] },
  })
  await writeOciLayout(layout, 'app:1', [image])
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

let n = 0
const freshHome = () => join(root, `home${n++}`)

describe('help, version and usage errors', () => {
  it('--version and --help', async () => {
    const version = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `boxplay ${version}\n`, stderr: '' })
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    for (const c of ['images', 'inspect', 'pull', 'load', 'rmi', 'prune']) expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'))
    const a = await cli(['help', 'pull'])
    const b = await cli(['pull', '--help'])
    expect(a).toEqual(b)
    expect(a.stdout).toMatch(/^Usage: boxplay pull REF/)
    expect(a.stdout).toContain('--platform P')
  })

  it('exits 125 with a clear message on bad usage', async () => {
    const none = await cli([])
    expect(none.code).toBe(125)
    expect(none.stderr).toContain('Usage: boxplay')
    expect(await cli(['frobnicate'])).toMatchObject({ code: 125, stderr: expect.stringMatching(/unknown command "frobnicate"/) })
    expect(await cli(['pull', '--bogus', 'x'])).toMatchObject({ code: 125, stderr: "boxplay: unknown option --bogus\nSee 'boxplay help pull'.\n" })
    expect(await cli(['inspect'])).toMatchObject({ code: 125, stderr: expect.stringMatching(/"boxplay inspect" needs an IMAGE/) })
    expect(await cli(['images', 'extra'])).toMatchObject({ code: 125, stderr: expect.stringMatching(/takes at most 0/) })
    expect(await cli(['pull', 'x', '--platform'])).toMatchObject({ code: 125, stderr: expect.stringMatching(/--platform needs a value/) })
    expect(await cli(['pull', 'NotValid!!'])).toMatchObject({ code: 125, stderr: expect.stringMatching(/invalid image reference/) })
  })

  it('the compiled bin behaves the same as a real process', async () => {
    const res = await cliProcess(['--home', freshHome(), 'inspect', 'no-such-image'])
    expect(res.code).toBe(125)
    expect(res.stderr).toMatch(/^boxplay: no image "no-such-image" in the store/)
    const ok = await cliProcess(['--version'])
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/^boxplay \d+\.\d+\.\d+\n$/) })
  })
})

describe('image commands', () => {
  it('load, images, inspect, rmi and prune with --json', async () => {
    const home = freshHome()
    const loaded = await cli(['load', layout, '--json', '--home', home])
    expect(loaded.code).toBe(0)
    expect(JSON.parse(loaded.stdout)).toEqual({ format: 'oci-layout', images: [{ name: 'app:1', digest: image.manifest.digest }] })

    const listed = await cli(['--home', home, 'images', '--json'])
    expect(listed.code).toBe(0)
    const rows = JSON.parse(listed.stdout) as Record<string, unknown>[]
    const app = rows.find((r) => r.name === 'app:1')
    expect(app).toEqual({
      name: 'app:1',
      repository: 'app',
      tag: '1',
      digest: image.manifest.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      platforms: ['linux/amd64'],
      pulledPlatforms: ['linux/amd64'],
      size: image.manifest.size + image.config.size + image.layers.reduce((s, l) => s + l.size, 0),
    })
    const table = await cli(['--home', home, 'images'])
    expect(table.stdout).toMatch(/^REPOSITORY +TAG +DIGEST +PLATFORMS +SIZE$/m)
    expect(table.stdout).toMatch(new RegExp(`^app +1 +${image.manifest.digest.slice(7, 19)} +linux/amd64 +`, 'm'))

    // options before or after the image give the same answer
    const after = await cli(['--home', home, 'inspect', 'app:1', '--json'])
    const before = await cli(['inspect', '--json', '--home', home, 'app:1'])
    expect(after).toEqual(before)
    const details = JSON.parse(after.stdout)
    expect(details.manifests).toHaveLength(1)
    expect(details.manifests[0].config.config).toEqual({ Entrypoint: ['/bin/app'], Env: ['A=1'] })
    expect(details.manifests[0].layers.map((l: { digest: string; present: boolean }) => [l.digest, l.present])).toEqual(image.layers.map((l) => [l.digest, true]))
    const text = await cli(['--home', home, 'inspect', 'app:1'])
    expect(text.stdout).toContain('Entrypoint: ["/bin/app"]')

    // `--` ends options: what follows is an image name, even if it looks like an option
    expect(await cli(['--home', home, 'rmi', '--', '--json'])).toMatchObject({ code: 125, stderr: expect.stringMatching(/no image "--json"/) })

    expect(await cli(['--home', home, 'rmi', 'app:1'])).toEqual({ code: 0, stdout: 'Untagged: app:1\n', stderr: '' })
    const pruned = await cli(['--home', home, 'prune', '--json'])
    const freed = JSON.parse(pruned.stdout)
    expect(freed.blobs).toBe(4)
    expect(freed.bytes).toBe(image.manifest.size + image.config.size + image.layers.reduce((s, l) => s + l.size, 0))
    expect(await cli(['--home', home, 'inspect', 'app:1'])).toMatchObject({ code: 125 })
    // and skopeo no longer sees it either
    await expect(run('skopeo', ['inspect', '--raw', `oci:${home}:app:1`])).rejects.toThrow()
  })

  it('BOXPLAY_HOME selects the store; --home wins over it', async () => {
    const envHome = freshHome()
    const flagHome = freshHome()
    expect((await cli(['load', '-h'])).code).toBe(0)
    await cli(['load', layout], { BOXPLAY_HOME: envHome })
    const viaEnv = JSON.parse((await cli(['images', '--json'], { BOXPLAY_HOME: envHome })).stdout) as { name: string }[]
    expect(viaEnv.map((r) => r.name)).toContain('app:1')
    const viaFlag = JSON.parse((await cli(['images', '--json', '--home', flagHome], { BOXPLAY_HOME: envHome })).stdout) as { name: string }[]
    expect(viaFlag.map((r) => r.name)).not.toContain('app:1')
  })
})
