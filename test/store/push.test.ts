// `push` against a real docker-registry on 127.0.0.1: a multi-platform index goes up with
// every platform manifest, and skopeo and a pull into a fresh store see the same digest;
// HEAD skips what is there, cross-repo mounts link what another repository has (even layers
// the store never pulled), chunked uploads above the threshold and monolithic below, relative
// and absolute upload Locations, and the pull auth flows (Bearer tokens, Basic via --creds or
// ~/.docker/config.json).

import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { load } from '../../server/image/load.js'
import { pull } from '../../server/image/pull.js'
import { push } from '../../server/image/push.js'
import { tagImage } from '../../server/image/tag.js'
import { Store } from '../../server/store/store.js'
import { type BuiltImage, type LocalRegistry, type TokenServer, buildImage, freePort, sha256, startRegistry, startTokenServer, tarTree, tempDir, writeOciLayout } from '../helpers/registry.js'
import { cli } from './helpers.js'

const run = promisify(execFile)
const NO_SEED = { BOXPLAY_BUNDLED_IMAGES: '' }

const amd64 = { os: 'linux', architecture: 'amd64' }
const linux386 = { os: 'linux', architecture: '386' }

let root: string
let registry: LocalRegistry
let layout: string
let images: BuiltImage[]
let indexDigest: string

beforeAll(async () => {
  root = await tempDir('boxplay-push-')
  registry = await startRegistry()
  images = [
    // incompressible, so the layer is big enough to go up in several chunks
    buildImage({ platform: amd64, layers: [await tarTree({ 'bin/sh': { file: 'sh', mode: 0o755 } }), await tarTree({ 'big/blob': new Uint8Array(randomBytes(3 << 20)) })] }),
    buildImage({ platform: linux386, layers: [await tarTree({ 'bin/sh': { file: 'sh for 386', mode: 0o755 } })] }),
  ]
  layout = join(root, 'layout')
  indexDigest = (await writeOciLayout(layout, 'app:1', images)).digest
})
afterAll(async () => {
  await registry?.stop()
  await rm(root, { recursive: true, force: true })
})

let n = 0
async function freshStore(): Promise<Store> {
  return Store.open({ home: join(root, `home${n++}`), bundled: null })
}

/** A store holding the test image as `name`. */
async function storeWith(name: string): Promise<Store> {
  const store = await freshStore()
  await load(store, layout)
  await tagImage(store, 'app:1', name)
  return store
}

async function skopeoRaw(ref: string, extra: string[] = []): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', ...extra, `docker://${ref}`], { env: { ...process.env, HOME: root } })
  return stdout
}

const allBlobs = (): number => new Set(images.flatMap((i) => [i.config, ...i.layers].map((b) => b.digest))).size

describe('push', () => {
  it('pushes an index with every platform; skopeo and a pull into a fresh store see the same digests', async () => {
    const store = await storeWith(`${registry.host}/app:1`)
    const home = store.home
    const res = await cli(['--home', home, 'push', `${registry.host}/app:1`], NO_SEED)
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(new RegExp(`^${registry.host}/app:1: digest: ${indexDigest} size: \\d+\\n$`))
    expect(res.stderr).toMatch(/Pushed/)
    // the bytes the registry serves are ours, for the index and each platform manifest
    expect(sha256(await skopeoRaw(`${registry.host}/app:1`))).toBe(indexDigest)
    for (const image of images) expect(sha256(await skopeoRaw(`${registry.host}/app@${image.manifest.digest}`))).toBe(image.manifest.digest)
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--override-arch', '386', `docker://${registry.host}/app:1`], { env: { ...process.env, HOME: root } })
    expect(JSON.parse(stdout)).toMatchObject({ Digest: indexDigest, Architecture: '386', Os: 'linux' })
    const fresh = await freshStore()
    const pulled = await pull(fresh, `${registry.host}/app:1`)
    expect(pulled).toMatchObject({ digest: indexDigest, platforms: ['linux/amd64', 'linux/386'] })
    for (const image of images) for (const b of [image.manifest, image.config, ...image.layers]) expect(fresh.hasBlob(b.digest)).toBe(true)

    // a second push sends no blob: HEAD finds them all
    const again = await cli(['--home', home, 'push', `${registry.host}/app:1`, '--json', '-q'], NO_SEED)
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ digest: indexDigest, manifests: 3, blobsPushed: 0, blobsSkipped: allBlobs(), blobsMounted: 0 })
  })

  it('mounts blobs from another repository of the same registry, even layers the store never pulled', async () => {
    const store = await storeWith(`${registry.host}/src:1`)
    const first = await push(store, `${registry.host}/src:1`, undefined)
    expect(first).toMatchObject({ blobsPushed: allBlobs(), blobsMounted: 0 })
    // a store that pulled only linux/386 still pushes the whole index to another repository
    const partial = await freshStore()
    await pull(partial, `${registry.host}/src:1`, { platform: linux386 })
    expect(partial.hasBlob(images[0]!.layers[1]!.digest)).toBe(false)
    await tagImage(partial, `${registry.host}/src:1`, `${registry.host}/team/copy:2`)
    const res = await push(partial, `${registry.host}/team/copy:2`, undefined)
    expect(res).toMatchObject({ digest: indexDigest, blobsPushed: 0, blobsMounted: allBlobs() })
    expect(sha256(await skopeoRaw(`${registry.host}/team/copy:2`))).toBe(indexDigest)
    const fresh = await freshStore()
    expect((await pull(fresh, `${registry.host}/team/copy:2`, { platform: 'all' })).digest).toBe(indexDigest)
    expect(fresh.hasBlob(images[0]!.layers[1]!.digest)).toBe(true)
  })

  it('uploads through the session a declined mount opens', async () => {
    // the store believes `ghost` (never pushed) holds the blobs: the registry answers 202
    const store = await storeWith(`${registry.host}/ghost:1`)
    await tagImage(store, 'app:1', `${registry.host}/real:1`)
    const res = await push(store, `${registry.host}/real:1`, undefined)
    expect(res).toMatchObject({ digest: indexDigest, blobsPushed: allBlobs(), blobsMounted: 0 })
    const fresh = await freshStore()
    expect((await pull(fresh, `${registry.host}/real:1`)).digest).toBe(indexDigest)
    expect(fresh.hasBlob(images[0]!.layers[1]!.digest)).toBe(true)
  })

  it('refuses, before sending anything, an image whose missing layers nobody can lend; exit 125', async () => {
    const other = await startRegistry()
    try {
      const partial = await freshStore()
      await pull(partial, `${registry.host}/app:1`, { platform: linux386 })
      await tagImage(partial, `${registry.host}/app:1`, `${other.host}/lonely:1`)
      const res = await cli(['--home', partial.home, 'push', `${other.host}/lonely:1`], NO_SEED)
      expect(res).toMatchObject({ code: 125, stderr: expect.stringMatching(/lacks 3 blob\(s\) of linux\/amd64.*--platform all/) })
      const catalog = (await (await fetch(`${other.url}/v2/_catalog`)).json()) as { repositories: string[] }
      expect(catalog.repositories).toEqual([])
    } finally {
      await other.stop()
    }
  })

  it('uploads in chunks above the threshold and in one PUT below, through relative Locations', async () => {
    const relative = await startRegistry(undefined, { relativeUrls: true })
    const seen: { method: string; path: string; range: string | undefined; length: number }[] = []
    const proxy = await recordingProxy(relative, seen)
    try {
      const host = `127.0.0.1:${proxy.port}`
      const store = await storeWith(`${host}/chunked:1`)
      const chunkSize = 256 << 10
      const res = await push(store, `${host}/chunked:1`, undefined, { chunkThreshold: 1 << 20, chunkSize })
      expect(res).toMatchObject({ digest: indexDigest, blobsPushed: allBlobs() })
      const big = images[0]!.layers[1]!
      expect(big.size).toBeGreaterThan(1 << 20)
      const patches = seen.filter((r) => r.method === 'PATCH')
      expect(patches).toHaveLength(Math.ceil(big.size / chunkSize))
      let at = 0
      for (const p of patches) {
        expect(p.range).toBe(`${at}-${at + p.length - 1}`)
        at += p.length
      }
      expect(at).toBe(big.size)
      // every upload went through the proxy: the relative Locations were resolved against it
      const puts = seen.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'))
      expect(puts).toHaveLength(allBlobs())
      expect(puts.filter((p) => p.length > 0).map((p) => p.length).sort()).toEqual(
        [...images.flatMap((i) => [i.config, ...i.layers])].filter((b, i, a) => b.digest !== big.digest && a.findIndex((x) => x.digest === b.digest) === i).map((b) => b.size).sort(),
      )
      const fresh = await freshStore()
      expect((await pull(fresh, `${host}/chunked:1`)).digest).toBe(indexDigest)
      expect(fresh.hasBlob(big.digest)).toBe(true)
    } finally {
      await proxy.stop()
      await relative.stop()
    }
  })

  it('fails clearly: a missing image, a digest target, an unreachable registry', async () => {
    const store = await storeWith(`${registry.host}/app:1`)
    expect(await cli(['--home', store.home, 'push', 'nope:1'], NO_SEED)).toMatchObject({ code: 125, stderr: expect.stringMatching(/no image "nope:1"/) })
    expect(await cli(['--home', store.home, 'push', `${registry.host}/app:1`, `${registry.host}/app@${indexDigest}`], NO_SEED)).toMatchObject({
      code: 125,
      stderr: expect.stringMatching(/push to a tag/),
    })
    const port = await freePort()
    expect(await cli(['--home', store.home, 'push', `${registry.host}/app:1`, `127.0.0.1:${port}/app:1`], NO_SEED)).toMatchObject({
      code: 125,
      stderr: expect.stringMatching(/cannot reach registry 127\.0\.0\.1:\d+/),
    })
  })
})

describe('push with authentication', () => {
  const user = { username: 'learner', password: 's3cret pass' }
  let tokens: TokenServer
  let secured: LocalRegistry
  let basic: LocalRegistry
  beforeAll(async () => {
    tokens = await startTokenServer(user)
    secured = await startRegistry(tokens.auth)
    basic = await startRegistry({ kind: 'htpasswd', ...user })
  })
  afterAll(async () => {
    await secured?.stop()
    await basic?.stop()
    await tokens?.stop()
  })

  it('Bearer tokens: refused anonymously with a hint; pushed and mounted with --creds', async () => {
    const store = await storeWith(`${secured.host}/private:1`)
    const denied = await cli(['--home', store.home, 'push', `${secured.host}/private:1`], NO_SEED)
    expect(denied).toMatchObject({ code: 125, stderr: expect.stringMatching(/--creds/) })
    const res = await push(store, `${secured.host}/private:1`, undefined, { creds: user })
    expect(res).toMatchObject({ digest: indexDigest, blobsPushed: allBlobs() })
    expect(tokens.requests.some((r) => r.granted && r.scopes.includes('repository:private:pull,push'))).toBe(true)
    // a mount needs pull on the source too: both scopes, one scope= parameter each
    await tagImage(store, `${secured.host}/private:1`, `${secured.host}/mirror:1`)
    const mounted = await push(store, `${secured.host}/mirror:1`, undefined, { creds: user })
    expect(mounted).toMatchObject({ blobsPushed: 0, blobsMounted: allBlobs() })
    expect(tokens.requests.some((r) => r.granted && r.scopes.includes('repository:mirror:pull,push') && r.scopes.includes('repository:private:pull'))).toBe(true)
    expect(sha256(await skopeoRaw(`${secured.host}/mirror:1`, ['--creds', `${user.username}:${user.password}`]))).toBe(indexDigest)
  })

  it('Basic auth: --creds through the CLI, and ~/.docker/config.json', async () => {
    const store = await storeWith(`${basic.host}/private:1`)
    expect(await cli(['--home', store.home, 'push', `${basic.host}/private:1`], NO_SEED)).toMatchObject({ code: 125, stderr: expect.stringMatching(/needs a login.*--creds/) })
    const wrong = await cli(['--home', store.home, 'push', `${basic.host}/private:1`, '--creds', 'learner:nope'], NO_SEED)
    expect(wrong).toMatchObject({ code: 125, stderr: expect.stringMatching(/rejected the credentials/) })
    const ok = await cli(['--home', store.home, 'push', '-q', `${basic.host}/private:1`, '--creds', `${user.username}:${user.password}`], NO_SEED)
    expect(ok).toMatchObject({ code: 0, stderr: '' })
    const dockerHome = join(root, 'docker-home')
    mkdirSync(join(dockerHome, '.docker'), { recursive: true })
    const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64')
    writeFileSync(join(dockerHome, '.docker', 'config.json'), JSON.stringify({ auths: { [basic.host]: { auth } } }))
    await tagImage(store, `${basic.host}/private:1`, `${basic.host}/private:2`)
    const viaConfig = await cli(['--home', store.home, 'push', `${basic.host}/private:2`, '--json', '-q'], { ...NO_SEED, HOME: dockerHome, DOCKER_CONFIG: '' })
    expect(viaConfig.code).toBe(0)
    expect(JSON.parse(viaConfig.stdout)).toMatchObject({ digest: indexDigest, blobsSkipped: allBlobs() })
    expect(sha256(await skopeoRaw(`${basic.host}/private:2`, ['--creds', `${user.username}:${user.password}`]))).toBe(indexDigest)
  })
})

/** An HTTP proxy in front of a registry that records each request's method, path and Content-Range. */
async function recordingProxy(target: LocalRegistry, seen: { method: string; path: string; range: string | undefined; length: number }[]): Promise<{ port: number; stop(): Promise<void> }> {
  const upstream = new URL(target.url)
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method ?? '', path: req.url ?? '', range: req.headers['content-range'], length: body.byteLength })
      const headers = { ...req.headers, host: upstream.host }
      const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      out.on('error', () => res.destroy())
      out.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
