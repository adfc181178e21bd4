// `load` of the formats people have at hand, made by the real tools: docker-archive and
// oci-archive tarballs from skopeo, OCI layout directories, a newer `docker save` (OCI layout
// plus manifest.json), gzipped tarballs, and broken ones.

import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { load } from '../../server/image/load.js'
import { Store } from '../../server/store/store.js'
import { type BuiltImage, buildImage, tarTree, tempDir, writeOciLayout } from '../helpers/registry.js'

const run = promisify(execFile)

let root: string
let src: string
let image: BuiltImage
let store: Store

beforeAll(async () => {
  root = await tempDir('boxplay-load-')
  src = join(root, 'src')
  const base = await tarTree({ 'bin/hello': { file: 'hello from the base', mode: 0o755 }, 'etc/x': 'x' })
  const top = await tarTree({ 'etc/x': 'x, changed' })
  image = buildImage({ platform: { os: 'linux', architecture: 'amd64' }, layers: [base, top], config: { Cmd: ['/bin/hello'] } })
  await writeOciLayout(src, 'app:1', [image])
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})
let n = 0
beforeEach(async () => {
  store = await Store.open({ home: join(root, `home${n++}`), bundled: null })
})

async function expectRunnable(name: string): Promise<void> {
  const img = await store.runImage(name)
  expect(img.config.Cmd).toEqual(['/bin/hello'])
  const dirs = await store.layerDirs(img)
  expect(readFileSync(join(dirs[0]!, 'etc', 'x'), 'utf8')).toBe('x, changed')
  expect(readFileSync(join(dirs[1]!, 'bin', 'hello'), 'utf8')).toBe('hello from the base')
}

describe('load', () => {
  it('a docker-archive (docker save) tarball written by skopeo', async () => {
    const file = join(root, 'docker.tar')
    await run('skopeo', ['copy', '--quiet', `oci:${src}:app:1`, `docker-archive:${file}:example.com/team/app:1`])
    const res = await load(store, file)
    expect(res.format).toBe('docker-archive')
    expect(res.images.map((i) => i.name)).toEqual(['example.com/team/app:1'])
    await expectRunnable('example.com/team/app:1')
    // layers stored as they were in the tarball: uncompressed tars, so digest = diff-id
    const img = await store.runImage('example.com/team/app:1')
    expect(img.layers.map((l) => l.mediaType)).toEqual(Array(2).fill('application/vnd.oci.image.layer.v1.tar'))
    expect(img.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.diffId))
  })

  it('a docker save whose layer files are symlinks (older docker versions dedupe that way)', async () => {
    const file = join(root, 'docker-links.tar')
    await run('skopeo', ['copy', '--quiet', `oci:${src}:app:1`, `docker-archive:${file}:linked:1`])
    const dir = join(root, 'docker-links')
    mkdirSync(dir)
    execFileSync('tar', ['-C', dir, '-xf', file])
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[]
    const first = manifest[0]!.Layers[0]!
    mkdirSync(join(dir, 'real'))
    execFileSync('mv', [join(dir, first), join(dir, 'real', 'layer.tar')])
    execFileSync('ln', ['-s', 'real/layer.tar', join(dir, first)])
    const relinked = join(root, 'docker-links-2.tar')
    execFileSync('tar', ['-C', dir, '-cf', relinked, '.'])
    expect((await load(store, relinked)).images.map((i) => i.name)).toEqual(['linked:1'])
    await expectRunnable('linked:1')
  })

  it('a gzipped docker save tarball, and Docker Hub names in familiar form', async () => {
    const file = join(root, 'docker2.tar')
    await run('skopeo', ['copy', '--quiet', `oci:${src}:app:1`, `docker-archive:${file}:docker.io/library/busybox:stable`])
    writeFileSync(`${file}.gz`, gzipSync(readFileSync(file)))
    const res = await load(store, `${file}.gz`)
    expect(res.images.map((i) => i.name)).toEqual(['busybox:stable'])
    await expectRunnable('busybox:stable')
  })

  it('an oci-archive written by skopeo', async () => {
    const file = join(root, 'oci.tar')
    await run('skopeo', ['copy', '--quiet', `oci:${src}:app:1`, `oci-archive:${file}:myimage:2`])
    const res = await load(store, file)
    expect(res).toEqual({ format: 'oci-archive', images: [{ name: 'myimage:2', digest: expect.stringMatching(/^sha256:/) }] })
    await expectRunnable('myimage:2')
  })

  it('an OCI layout directory: every named image in it', async () => {
    const dir = join(root, 'layout')
    await run('skopeo', ['copy', '--quiet', `oci:${src}:app:1`, `oci:${dir}:first:1`])
    await run('skopeo', ['copy', '--quiet', `oci:${src}:app:1`, `oci:${dir}:v2`])
    const res = await load(store, dir)
    expect(res.format).toBe('oci-layout')
    expect(res.images.map((i) => i.name).sort()).toEqual(['first:1', 'v2'])
    await expectRunnable('first:1')
    await expectRunnable('v2')
    // the store's index has exactly those names, and umoci agrees
    const { stdout } = await run('umoci', ['ls', '--layout', store.home])
    expect(stdout.trim().split('\n').sort()).toEqual(['first:1', 'v2'])
  })

  it('a newer docker save: an OCI layout with manifest.json beside it', async () => {
    const dir = join(root, 'newdocker')
    await writeOciLayout(dir, 'latest', [image])
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
    index.manifests[0].annotations['io.containerd.image.name'] = 'docker.io/me/tool:latest'
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index))
    const hex = (d: string) => `blobs/sha256/${d.slice(7)}`
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: hex(image.config.digest), RepoTags: ['me/tool:latest'], Layers: image.layers.map((l) => hex(l.digest)) }]))
    const file = join(root, 'newdocker.tar')
    execFileSync('tar', ['-C', dir, '-cf', file, '.'])
    const res = await load(store, file)
    expect(res.format).toBe('docker-archive')
    expect(res.images).toEqual([{ name: 'me/tool:latest', digest: image.manifest.digest }])
    await expectRunnable('me/tool')
  })

  it('refuses broken input clearly and stores nothing', async () => {
    const junk = join(root, 'junk.tar')
    writeFileSync(junk, 'this is not a tar file at all'.repeat(40))
    await expect(load(store, junk)).rejects.toThrow(/cannot read .* as a tar archive/)
    await expect(load(store, join(root, 'missing.tar'))).rejects.toThrow(/no such file/)

    const plain = join(root, 'plain.tar')
    execFileSync('tar', ['-C', root, '-cf', plain, 'src/oci-layout'])
    await expect(load(store, plain)).rejects.toThrow(/neither a docker save tarball .* nor an OCI archive/)

    // a blob whose content does not match its name
    const bad = join(root, 'bad')
    await writeOciLayout(bad, 'x', [image])
    writeFileSync(join(bad, 'blobs', 'sha256', image.layers[0]!.digest.slice(7)), 'tampered')
    const badTar = join(root, 'bad.tar')
    execFileSync('tar', ['-C', bad, '-cf', badTar, '.'])
    await expect(load(store, badTar)).rejects.toThrow(/does not match its name/)
    await expect(load(store, bad)).rejects.toThrow(/does not match its digest.*the layout is corrupt|has digest/)
    expect(await store.entries()).toEqual([])
    expect(readdirSync(store.paths.tmp)).toEqual([])
    mkdirSync(join(root, 'emptydir'), { recursive: true })
    await expect(load(store, join(root, 'emptydir'))).rejects.toThrow(/not an OCI image layout/)
  })
})
