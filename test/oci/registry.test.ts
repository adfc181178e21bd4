import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { DigestMismatch } from '../../web/oci/digest.js'
import { buildRootFs, resolveImage } from '../../web/oci/image.js'
import * as MT from '../../web/oci/media-types.js'
import { type BlobProgress, RegistryClient, RegistryError, parseWwwAuthenticate } from '../../web/oci/registry.js'
import { readFile } from '../../web/oci/rootfs.js'
import { type LocalRegistry, type TokenServer, pushImage, pushViaApi, startRegistry, startTokenServer, tarTree } from '../helpers/registry.js'

const decode = (b: Uint8Array): string => new TextDecoder().decode(b)

async function fileText(fs: Awaited<ReturnType<typeof buildRootFs>>, path: string): Promise<string> {
  const node = fs.get(path)
  if (node.kind !== 'file') throw new Error(`${path} is a ${node.kind}`)
  return decode(await readFile(node))
}

describe('registry client against a real docker-registry (no auth)', () => {
  let registry: LocalRegistry
  let multi: Awaited<ReturnType<typeof pushImage>>
  beforeAll(async () => {
    registry = await startRegistry()
    const layer = (arch: string) => tarTree({ 'etc/arch': `${arch}\n`, 'bin/sh': { file: `sh for ${arch}`, mode: 0o755 } })
    multi = await pushImage(registry, 'test/multi:1', [
      { platform: { os: 'linux', architecture: '386' }, layers: [await layer('386')] },
      { platform: { os: 'linux', architecture: 'amd64' }, layers: [await layer('amd64')] },
      { platform: { os: 'wasi', architecture: 'wasm' }, layers: [await layer('wasm')], config: { Entrypoint: ['/app.wasm'] } },
    ])
    await pushImage(registry, 'test/two:1', [
      { platform: { os: 'linux', architecture: 'arm64' }, layers: [await layer('arm64')] },
      { platform: { os: 'linux', architecture: 'riscv64' }, layers: [await layer('riscv64')] },
    ])
  })
  afterAll(async () => {
    await registry?.stop()
  })

  const client = () => new RegistryClient({ registry: registry.host, insecure: true })

  test('pulls a single-platform OCI image pushed by skopeo and builds its rootfs', async () => {
    const base = await tarTree({ 'bin/hello': { file: '#!/bin/sh\necho hi\n', mode: 0o755 }, 'etc/os-release': 'ID=test\n', 'etc/motd': 'm' })
    const top = await tarTree({ 'etc/os-release': 'ID=top\n', 'etc/.wh.motd': '' })
    const pushed = await pushImage(registry, 'test/single:1.0', [{ platform: { os: 'linux', architecture: '386' }, layers: [base, top], config: { Cmd: ['/bin/hello'] } }])
    const ref = `${registry.host}/test/single:1.0`
    const image = await resolveImage(client().source(ref), ref)
    expect(image.digest).toBe(pushed.top.digest)
    expect(image.name).toBe(ref)
    expect(image.platform).toEqual({ os: 'linux', architecture: '386' })
    expect(image.platforms).toEqual([{ os: 'linux', architecture: '386' }])
    expect(image.index).toBeUndefined()
    expect(image.config.Cmd).toEqual(['/bin/hello'])
    expect(image.layers.map((l) => l.diffId)).toEqual(image.configFile.rootfs.diff_ids)
    const fs = await buildRootFs(image)
    expect(await fileText(fs, '/etc/os-release')).toBe('ID=top\n')
    expect(fs.lookup('/etc/motd')).toBeUndefined()
    expect(fs.get('/bin/hello').mode).toBe(0o755)
  })

  test('an index: the wanted platform, the documented default, and an error listing platforms', async () => {
    const ref = `${registry.host}/test/multi:1`
    const src = client().source(ref)
    const i386 = await resolveImage(src, ref, { os: 'linux', architecture: '386' })
    expect(i386.index?.manifests).toHaveLength(3)
    expect(i386.digest).toBe(multi.images[0]!.manifest.digest)
    expect(await fileText(await buildRootFs(i386), '/etc/arch')).toBe('386\n')
    const wasm = await resolveImage(src, ref, { os: 'wasi', architecture: 'wasm' })
    expect(wasm.config.Entrypoint).toEqual(['/app.wasm'])
    expect(wasm.platforms.map((p) => `${p.os}/${p.architecture}`)).toEqual(['linux/386', 'linux/amd64', 'wasi/wasm'])
    // no platform asked: linux/amd64 comes first in the default order
    expect((await resolveImage(src, ref)).platform).toEqual({ os: 'linux', architecture: 'amd64' })
    await expect(resolveImage(src, ref, { os: 'linux', architecture: 'arm64' })).rejects.toThrow(
      `image ${ref} has no linux/arm64 variant; it is available for: linux/386, linux/amd64, wasi/wasm`,
    )
    const two = `${registry.host}/test/two:1`
    await expect(resolveImage(client().source(two), two)).rejects.toThrow(/several platforms \(linux\/arm64, linux\/riscv64\) and none is a default: choose one with --platform/)
  })

  test('a reference pinned by digest, and manifests fetched by digest are checked', async () => {
    const pinned = `${registry.host}/test/multi@${multi.top.digest}`
    const image = await resolveImage(client().source(pinned), pinned, { os: 'linux', architecture: 'amd64' })
    expect(image.digest).toBe(multi.images[1]!.manifest.digest)
    const m = await client().getManifest('test/multi', multi.images[1]!.manifest.digest)
    expect(m.mediaType).toBe(MT.OCI_MANIFEST)
    expect(m.digest).toBe(multi.images[1]!.manifest.digest)
  })

  test('Docker v2 schema 2 images (manifest list, docker layer types) pulled the same way', async () => {
    const pushed = await pushViaApi(
      registry,
      'test/docker:v2',
      [
        { platform: { os: 'linux', architecture: '386' }, layers: [await tarTree({ 'etc/kind': 'docker\n' })] },
        { platform: { os: 'linux', architecture: 'amd64' }, layers: [await tarTree({ 'etc/kind': 'docker64\n' })] },
      ],
      { docker: true },
    )
    const top = await client().getManifest('test/docker', 'v2')
    expect(top.mediaType).toBe(MT.DOCKER_MANIFEST_LIST)
    expect(top.digest).toBe(pushed.top.digest)
    const ref = `${registry.host}/test/docker:v2`
    const image = await resolveImage(client().source(ref), ref, { os: 'linux', architecture: '386' })
    expect(image.manifest.mediaType).toBe(MT.DOCKER_MANIFEST)
    expect(image.layers[0]!.mediaType).toBe(MT.DOCKER_LAYER_GZIP)
    expect(await fileText(await buildRootFs(image), '/etc/kind')).toBe('docker\n')
  })

  test('blobs stream with progress; headBlob knows sizes and absences', async () => {
    const layer = multi.images[0]!.layers[0]!
    const events: BlobProgress[] = []
    const c = new RegistryClient({ registry: registry.host, insecure: true, onProgress: (p) => events.push(p) })
    const { size, stream } = await c.getBlob('test/multi', layer.digest, layer.size)
    expect(size).toBe(layer.size)
    const parts: Uint8Array[] = []
    for await (const chunk of stream) parts.push(chunk)
    expect(Buffer.compare(Buffer.concat(parts), layer.bytes)).toBe(0)
    expect(events.at(-1)).toEqual({ digest: layer.digest, received: layer.size, total: layer.size })
    expect(await c.headBlob('test/multi', layer.digest)).toEqual({ size: layer.size })
    expect(await c.headBlob('test/multi', `sha256:${'0'.repeat(64)}`)).toBeUndefined()
    await expect(c.getBlob('test/multi', layer.digest, layer.size + 1)).rejects.toThrow(/manifest says/)
  })

  test('unknown images and tags say so', async () => {
    const err = await client().getManifest('test/nothing', 'latest').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RegistryError)
    expect((err as RegistryError).code).toBe('NOT_FOUND')
    expect((err as Error).message).toBe(`${registry.host}/test/nothing:latest was not found: check the image name and tag exist on ${registry.host}`)
    await expect(client().getManifest('test/multi', 'no-such-tag')).rejects.toThrow(/test\/multi:no-such-tag was not found/)
    await expect(client().getBlobBytes('test/multi', `sha256:${'1'.repeat(64)}`)).rejects.toThrow(/blob sha256:1+ of .* was not found/)
  })

  test('an unreachable registry is a network error naming the registry', async () => {
    const c = new RegistryClient({ registry: '127.0.0.1:1', insecure: true, attempts: 2, backoffMs: 10 })
    const err = await c.getManifest('x/y', 'latest').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RegistryError)
    expect((err as RegistryError).code).toBe('NETWORK')
    expect((err as Error).message).toMatch(/cannot reach registry 127\.0\.0\.1:1/)
  })

  describe('through a misbehaving front (node:http proxy to the real registry)', () => {
    let front: Server
    let host: string
    let failures = 0
    let mode: 'pass' | 'fail503' | 'fail429' | 'redirect-blobs' | 'corrupt-blobs' | 'stall-blobs' = 'pass'
    const seen: string[] = []

    beforeAll(async () => {
      front = createServer((req: IncomingMessage, res: ServerResponse) => {
        seen.push(`${req.method} ${req.url}`)
        if ((mode === 'fail503' || mode === 'fail429') && failures > 0) {
          failures--
          res.writeHead(mode === 'fail503' ? 503 : 429, mode === 'fail429' ? { 'retry-after': '0' } : {}).end('busy')
          return
        }
        if (mode === 'stall-blobs' && req.url?.includes('/blobs/') && req.method === 'GET') {
          // Headers and a first piece, then silence (the connection stays open).
          res.writeHead(200, { 'content-length': '100000', 'content-type': 'application/octet-stream' })
          res.write(new Uint8Array(1000))
          return
        }
        if (mode === 'redirect-blobs' && req.url?.includes('/blobs/') && req.method === 'GET') {
          res.writeHead(307, { location: `${registry.url}${req.url}` }).end()
          return
        }
        void (async () => {
          const upstream = await fetch(`${registry.url}${req.url}`, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } })
          let body = new Uint8Array(await upstream.arrayBuffer())
          if (mode === 'corrupt-blobs' && req.url?.includes('/blobs/') && body.length > 0) {
            body = body.slice()
            body[body.length - 1] ^= 0xff
          }
          const headers: Record<string, string> = {}
          upstream.headers.forEach((v, k) => {
            if (k !== 'content-encoding' && k !== 'transfer-encoding') headers[k] = v
          })
          res.writeHead(upstream.status, headers).end(body)
        })()
      })
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
      const a = front.address()
      host = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
    })
    afterAll(async () => {
      front?.closeAllConnections()
      await new Promise<void>((resolve) => front?.close(() => resolve()))
    })

    const frontClient = (attempts = 4) => new RegistryClient({ registry: host, insecure: true, attempts, backoffMs: 5 })

    test('503s and 429s are retried with backoff, then succeed', async () => {
      mode = 'fail503'
      failures = 2
      seen.length = 0
      const m = await frontClient().getManifest('test/multi', '1')
      expect(m.digest).toBe(multi.top.digest)
      expect(seen.filter((s) => s.includes('/manifests/1'))).toHaveLength(3)
      mode = 'fail429'
      failures = 1
      expect((await frontClient().getManifest('test/multi', '1')).digest).toBe(multi.top.digest)
      expect(failures).toBe(0)
    })

    test('retries are bounded: a registry that keeps failing is reported as failing', async () => {
      mode = 'fail503'
      failures = 100
      const err = await frontClient(3).getManifest('test/multi', '1').catch((e: unknown) => e)
      expect((err as RegistryError).code).toBe('UNAVAILABLE')
      expect((err as Error).message).toMatch(/answered HTTP 503 .*try again later/)
      expect(failures).toBe(97)
      failures = 0
    })

    test('blob redirects (to another origin, as CDNs do) are followed', async () => {
      mode = 'redirect-blobs'
      seen.length = 0
      const ref = `${host}/test/multi:1`
      const image = await resolveImage(frontClient().source(ref), ref, { os: 'linux', architecture: '386' })
      expect(await fileText(await buildRootFs(image), '/etc/arch')).toBe('386\n')
      expect(seen.some((s) => s.startsWith('GET /v2/test/multi/blobs/'))).toBe(true)
    })

    test('a download that stalls fails with a clear error instead of hanging', async () => {
      mode = 'stall-blobs'
      const c = new RegistryClient({ registry: host, insecure: true, idleTimeoutMs: 300 })
      const layer = multi.images[0]!.layers[0]!
      const err = await c.getBlobBytes('test/multi', layer.digest).catch((e: unknown) => e)
      expect((err as RegistryError).code).toBe('NETWORK')
      expect((err as Error).message).toMatch(/download stalled \(nothing for 300 ms after 1000 bytes\)/)
      mode = 'pass'
    })

    test('a blob that does not match its digest is refused', async () => {
      mode = 'corrupt-blobs'
      const layer = multi.images[0]!.layers[0]!
      const err = await frontClient().getBlobBytes('test/multi', layer.digest).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DigestMismatch)
      expect((err as Error).message).toMatch(/does not match its digest/)
      mode = 'pass'
    })
  })
})

describe('registry with htpasswd basic auth', () => {
  let registry: LocalRegistry
  const creds = { username: 'alice', password: 's3cret:with-colon' }
  beforeAll(async () => {
    registry = await startRegistry({ kind: 'htpasswd', ...creds })
    await pushImage(registry, 'private/app:1', [{ platform: { os: 'linux', architecture: '386' }, layers: [await tarTree({ secret: 'basic\n' })] }], { creds })
  })
  afterAll(async () => {
    await registry?.stop()
  })

  test('with credentials the image resolves and its layers build', async () => {
    const ref = `${registry.host}/private/app:1`
    const c = new RegistryClient({ registry: registry.host, insecure: true, credentials: (h) => (h === registry.host ? creds : undefined) })
    const image = await resolveImage(c.source(ref), ref)
    expect(await fileText(await buildRootFs(image), '/secret')).toBe('basic\n')
  })

  test('without credentials: a clear request to log in', async () => {
    const c = new RegistryClient({ registry: registry.host, insecure: true })
    const err = await c.getManifest('private/app', '1').catch((e: unknown) => e)
    expect((err as RegistryError).code).toBe('UNAUTHORIZED')
    expect((err as Error).message).toMatch(/needs a login .* pass --creds USER:PASSWORD/)
  })

  test('wrong credentials: says they were rejected', async () => {
    const c = new RegistryClient({ registry: registry.host, insecure: true, credentials: () => ({ username: 'alice', password: 'nope' }) })
    await expect(c.getManifest('private/app', '1')).rejects.toThrow(/rejected the credentials .* --creds/)
  })
})

describe('registry with token (Bearer) auth and a token server', () => {
  let tokens: TokenServer
  let registry: LocalRegistry
  const creds = { username: 'bob', password: 'hunter2' }
  beforeAll(async () => {
    tokens = await startTokenServer(creds)
    registry = await startRegistry(tokens.auth)
    await pushImage(registry, 'team/tool:2', [{ platform: { os: 'linux', architecture: 'amd64' }, layers: [await tarTree({ 'tool.txt': 'bearer\n' })] }], { creds })
  })
  afterAll(async () => {
    await registry?.stop()
    await tokens?.stop()
  })

  test('fetches a token for the repository scope once and reuses it', async () => {
    tokens.requests.length = 0
    const c = new RegistryClient({ registry: registry.host, insecure: true, credentials: () => creds })
    const ref = `${registry.host}/team/tool:2`
    const image = await resolveImage(c.source(ref), ref)
    expect(await fileText(await buildRootFs(image), '/tool.txt')).toBe('bearer\n')
    expect(tokens.requests).toEqual([{ scopes: ['repository:team/tool:pull'], user: 'bob', granted: true }])
  })

  test('anonymous pulls get an empty token and a clear request to log in', async () => {
    const c = new RegistryClient({ registry: registry.host, insecure: true })
    const err = await c.getManifest('team/tool', '2').catch((e: unknown) => e)
    expect((err as RegistryError).code).toBe('UNAUTHORIZED')
    expect((err as Error).message).toMatch(/needs a login .* --creds/)
  })

  test('wrong credentials are refused by the token service', async () => {
    const c = new RegistryClient({ registry: registry.host, insecure: true, credentials: () => ({ username: 'bob', password: 'wrong' }) })
    await expect(c.getManifest('team/tool', '2')).rejects.toThrow(/refused the given credentials .* check the username and password/)
  })
})

test('WWW-Authenticate parsing', () => {
  expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ])
  expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }])
  expect(parseWwwAuthenticate('Bearer realm=x, error="insufficient_scope"')[0]!.params).toEqual({ realm: 'x', error: 'insufficient_scope' })
})
