// `save` read back by the tools people load images with: `podman load` + `podman image
// inspect` (Debian's podman, its own throwaway storage), skopeo's docker-archive: and
// oci-archive: transports, and `boxplay load` into a fresh store, which keeps the digests.
// Also: several images and names in one tarball, deterministic bytes, standard output (never
// a terminal), and bad input failing with exit 125 and no file left behind.

import { execFile, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../server/cli/main.js'
import { load } from '../../server/image/load.js'
import { Store } from '../../server/store/store.js'
import { type BuiltImage, buildImage, sha256, tarTree, tempDir, writeOciLayout } from '../helpers/registry.js'
import { cli, cliBin } from './helpers.js'

const run = promisify(execFile)
const NO_SEED = { BOXPLAY_BUNDLED_IMAGES: '' }
const amd64 = { os: 'linux', architecture: 'amd64' }
const linux386 = { os: 'linux', architecture: '386' }

let root: string
let home: string
let app: BuiltImage
let multi: BuiltImage[]
let multiDigest: string

beforeAll(async () => {
  root = await tempDir('boxplay-save-')
  home = join(root, 'home')
  const base = await tarTree({ 'bin/sh': { file: 'a shell', mode: 0o755 }, 'etc/os-release': 'ID=test\n' })
  app = buildImage({ platform: amd64, layers: [base, await tarTree({ 'app/run': { file: 'run', mode: 0o755 } })], config: { Cmd: ['/app/run'], Env: ['A=1'] } })
  multi = [buildImage({ platform: amd64, layers: [base] }), buildImage({ platform: linux386, layers: [await tarTree({ 'bin/sh': 'a 386 shell' })] })]
  await writeOciLayout(join(root, 'app'), 'app:1', [app])
  multiDigest = (await writeOciLayout(join(root, 'multi'), 'multi:1', multi)).digest
  for (const dir of ['app', 'multi']) expect((await cli(['--home', home, 'load', join(root, dir)], NO_SEED)).code).toBe(0)
  expect((await cli(['--home', home, 'tag', 'app:1', 'registry.example:5000/team/app:alias'], NO_SEED)).code).toBe(0)
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

async function members(file: string): Promise<string[]> {
  return (await run('tar', ['-tf', file])).stdout.trim().split('\n')
}
async function member(file: string, name: string): Promise<string> {
  return (await run('tar', ['-xOf', file, name], { maxBuffer: 1 << 26 })).stdout
}

/** podman with its own storage under the test's temp dir (vfs: no overlay mounts needed). */
async function podman(...args: string[]): Promise<string> {
  const dir = join(root, 'podman')
  const { stdout } = await run('podman', ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs', ...args], {
    env: { ...process.env, HOME: root, XDG_CONFIG_HOME: join(root, 'xdg') },
    maxBuffer: 1 << 26,
  })
  return stdout
}

async function storeDigests(storeHome: string): Promise<Record<string, string>> {
  const images = JSON.parse((await cli(['--home', storeHome, 'images', '--json'], NO_SEED)).stdout) as { name: string; digest: string }[]
  return Object.fromEntries(images.map((i) => [i.name, i.digest]))
}

/** A stream that says it is (or is not) a terminal and keeps what is written. */
class Sink extends Writable {
  text = ''
  bytes = 0
  constructor(readonly isTTY: boolean) {
    super()
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.bytes += chunk.byteLength
    this.text += chunk.toString()
    cb()
  }
}

let n = 0
const fresh = (): string => join(root, `fresh${n++}`)

describe('save --format docker-archive (default)', () => {
  it('writes docker save\'s layout for several images and names, the same bytes every time', async () => {
    const file = join(root, 'images.tar')
    const res = await cli(['--home', home, 'save', '-o', file, 'app:1', 'registry.example:5000/team/app:alias', 'multi:1', '--json'], NO_SEED)
    expect(res.code).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ format: 'docker-archive', images: [{ name: 'app:1' }, { name: 'registry.example:5000/team/app:alias' }, { name: 'multi:1', digest: multiDigest }] })
    const names = await members(file)
    for (const m of ['manifest.json', 'repositories', 'index.json', 'oci-layout']) expect(names).toContain(m)
    for (const b of [app.config, ...app.layers, multi[1]!.config]) expect(names).toContain(`blobs/sha256/${b.digest.slice(7)}`)
    const manifest = JSON.parse(await member(file, 'manifest.json')) as { Config: string; RepoTags: string[]; Layers: string[] }[]
    expect(manifest).toEqual([
      { Config: `blobs/sha256/${app.config.digest.slice(7)}`, RepoTags: ['app:1', 'registry.example:5000/team/app:alias'], Layers: app.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) },
      // the multi-platform image: its default platform, linux/amd64
      { Config: `blobs/sha256/${multi[0]!.config.digest.slice(7)}`, RepoTags: ['multi:1'], Layers: [`blobs/sha256/${multi[0]!.layers[0]!.digest.slice(7)}`] },
    ])
    expect(JSON.parse(await member(file, 'repositories'))).toEqual({
      app: { '1': app.layers[1]!.digest.slice(7) },
      'registry.example:5000/team/app': { alias: app.layers[1]!.digest.slice(7) },
      multi: { '1': multi[0]!.layers[0]!.digest.slice(7) },
    })
    // deterministic: a second save is byte for byte the same
    const again = join(root, 'again.tar')
    expect((await cli(['--home', home, 'save', '-o', again, 'app:1', 'registry.example:5000/team/app:alias', 'multi:1'], NO_SEED)).code).toBe(0)
    expect(sha256(readFileSync(again))).toBe(sha256(readFileSync(file)))

    // skopeo reads it as docker save's format
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', `docker-archive:${file}:app:1`])).stdout) as { config: { digest: string } }
    expect(raw.config.digest).toBe(app.config.digest)
    // podman loads it, names and all
    const loaded = await podman('load', '-i', file)
    expect(loaded).toMatch(/Loaded image.*app:1/)
    const [inspected] = JSON.parse(await podman('image', 'inspect', 'localhost/app:1')) as { Id: string; Architecture: string; Config: { Cmd: string[] }; RepoTags: string[] }[]
    expect(inspected).toMatchObject({ Id: app.config.digest.slice(7), Architecture: 'amd64', Config: { Cmd: ['/app/run'] } })
    expect(inspected!.RepoTags).toContain('registry.example:5000/team/app:alias')
    // boxplay load in a fresh store: the same names and digests as the store it came from
    const other = fresh()
    expect((await cli(['--home', other, 'load', file], NO_SEED)).code).toBe(0)
    expect(await storeDigests(other)).toEqual(await storeDigests(home))
  })

  it('--platform chooses the platform manifest.json describes', async () => {
    const file = join(root, 'multi-386.tar')
    expect((await cli(['--home', home, 'save', '--platform', 'linux/386', '-o', file, 'multi:1'], NO_SEED)).code).toBe(0)
    const manifest = JSON.parse(await member(file, 'manifest.json')) as { Config: string }[]
    expect(manifest).toEqual([{ Config: `blobs/sha256/${multi[1]!.config.digest.slice(7)}`, RepoTags: ['multi:1'], Layers: [`blobs/sha256/${multi[1]!.layers[0]!.digest.slice(7)}`] }])
    const arm = await cli(['--home', home, 'save', '--platform', 'linux/arm64', '-o', join(root, 'arm.tar'), 'multi:1'], NO_SEED)
    expect(arm).toMatchObject({ code: 125, stderr: expect.stringMatching(/arm64/) })
    expect(readdirSync(root)).not.toContain('arm.tar')
  })

  it('writes to standard output when it is not a terminal, and refuses a terminal', async () => {
    const file = join(root, 'app-o.tar')
    expect((await cli(['--home', home, 'save', '-o', file, 'app:1'], NO_SEED)).code).toBe(0)
    const piped = join(root, 'app-stdout.tar')
    const fd = openSync(piped, 'w')
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [cliBin(), '--home', home, 'save', 'app:1'], { env: { ...process.env, ...NO_SEED }, stdio: ['ignore', fd, 'inherit'] })
      child.on('error', reject)
      child.on('close', resolve)
    })
    closeSync(fd)
    expect(code).toBe(0)
    expect(sha256(readFileSync(piped))).toBe(sha256(readFileSync(file)))

    const terminal = new Sink(true)
    const stderr = new Sink(false)
    for (const args of [['save', 'app:1'], ['save', '-o', '-', 'app:1']]) {
      expect(await main(['--home', home, ...args], { stdout: terminal, stderr, env: { ...process.env, ...NO_SEED } })).toBe(125)
    }
    expect(stderr.text).toMatch(/refusing to write a tarball to a terminal: use -o FILE/)
    expect(terminal.bytes).toBe(0)
  })
})

describe('save --format oci-archive', () => {
  it('is an OCI layout in a tar, names as org.opencontainers.image.ref.name, read by skopeo, podman and boxplay load', async () => {
    const file = join(root, 'oci.tar')
    expect((await cli(['--home', home, 'save', '--format', 'oci-archive', '-o', file, 'multi:1', 'app:1'], NO_SEED)).code).toBe(0)
    const names = await members(file)
    expect(names).toContain('oci-layout')
    expect(names).not.toContain('manifest.json')
    const index = JSON.parse(await member(file, 'index.json')) as { manifests: { digest: string; annotations: Record<string, string> }[] }
    expect(index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest])).toEqual([
      ['multi:1', multiDigest],
      ['app:1', app.manifest.digest],
    ])
    expect(sha256((await run('skopeo', ['inspect', '--raw', `oci-archive:${file}:multi:1`])).stdout)).toBe(multiDigest)
    const { stdout } = await run('skopeo', ['inspect', '--override-arch', '386', `oci-archive:${file}:multi:1`])
    expect(JSON.parse(stdout)).toMatchObject({ Architecture: '386' })
    const other = fresh()
    expect((await cli(['--home', other, 'load', file], NO_SEED)).code).toBe(0)
    expect(await storeDigests(other)).toEqual({ 'multi:1': multiDigest, 'app:1': app.manifest.digest })
    // podman load takes one image per OCI archive
    const single = join(root, 'oci-app.tar')
    expect((await cli(['--home', home, 'save', '--format', 'oci-archive', '-o', single, 'app:1'], NO_SEED)).code).toBe(0)
    expect(await podman('load', '-i', single)).toMatch(/Loaded image/)
    const [inspected] = JSON.parse(await podman('image', 'inspect', 'localhost/app:1')) as { Id: string; Digest: string }[]
    expect(inspected).toMatchObject({ Id: app.config.digest.slice(7) })
  })
})

describe('bad input', () => {
  it('a missing image, an unknown format, a damaged blob: exit 125, no file, the store untouched', async () => {
    const before = readFileSync(join(home, 'index.json'), 'utf8')
    const out = join(root, 'bad')
    await run('mkdir', ['-p', out])
    expect(await cli(['--home', home, 'save', '-o', join(out, 'x.tar'), 'app:1', 'nope:1'], NO_SEED)).toMatchObject({ code: 125, stderr: expect.stringMatching(/no image "nope:1"/) })
    expect(await cli(['--home', home, 'save', '--format', 'zip', '-o', join(out, 'x.tar'), 'app:1'], NO_SEED)).toMatchObject({ code: 125, stderr: expect.stringMatching(/unknown --format "zip"/) })
    expect(await cli(['--home', home, 'save', '-o', join(root, 'no-such-dir', 'x.tar'), 'app:1'], NO_SEED)).toMatchObject({ code: 125, stderr: expect.stringMatching(/cannot write/) })
    // a layer damaged on disk is caught while it is copied; the half-written file is removed
    const damaged = fresh()
    const store = await Store.open({ home: damaged, bundled: null })
    await load(store, join(root, 'app'))
    const layer = store.blobPath(app.layers[1]!.digest)
    const bytes = readFileSync(layer)
    bytes[bytes.length - 1] ^= 0xff
    await rm(layer)
    writeFileSync(layer, bytes)
    expect(await cli(['--home', damaged, 'save', '-o', join(out, 'x.tar'), 'app:1'], NO_SEED)).toMatchObject({ code: 125, stderr: expect.stringMatching(/the store is damaged/) })
    expect(readdirSync(out)).toEqual([])
    expect(readFileSync(join(home, 'index.json'), 'utf8')).toBe(before)
  })
})
