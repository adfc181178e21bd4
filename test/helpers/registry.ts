// Shared test helpers: a real `docker-registry` on 127.0.0.1 (optionally behind htpasswd
// basic auth or token auth), OCI image layouts written by hand from real GNU tar layers,
// and pushing them with skopeo. Used by the oci and store suites.

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import type { ImageConfig } from '../../web/runtimes/runtime.js'
import type { Platform } from '../../web/oci/platform.js'

const run = promisify(execFile)

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

export async function tempDir(prefix = 'boxplay-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export type RegistryAuth =
  | { kind: 'htpasswd'; username: string; password: string }
  | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string }

export interface LocalRegistry {
  /** host:port, as in image references: 127.0.0.1:PORT */
  host: string
  /** http://127.0.0.1:PORT */
  url: string
  /** Temp dir holding the config and the storage. */
  dir: string
  stop(): Promise<void>
}

/** A bcrypt hash for htpasswd, via the C library's crypt (python3 is a test tool). */
export function bcryptHash(password: string): string {
  const r = spawnSync('python3', ['-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))', password], {
    encoding: 'utf8',
  })
  const hash = r.stdout.trim()
  if (r.status !== 0 || !hash.startsWith('$2')) throw new Error(`cannot make a bcrypt hash with python3's crypt: ${r.stderr}`)
  return hash
}

/**
 * Starts `docker-registry serve` on a free 127.0.0.1 port with its storage in a temp dir.
 * `relativeUrls`: upload Locations relative to the registry (distribution's http.relativeurls).
 */
export async function startRegistry(auth?: RegistryAuth, opts: { relativeUrls?: boolean } = {}): Promise<LocalRegistry> {
  const dir = await tempDir('boxplay-registry-')
  const port = await freePort()
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(opts.relativeUrls ? ['  relativeurls: true'] : []),
  ]
  if (auth?.kind === 'htpasswd') {
    await writeFile(join(dir, 'htpasswd'), `${auth.username}:${bcryptHash(auth.password)}\n`)
    lines.push('auth:', '  htpasswd:', '    realm: boxplay-test', `    path: ${join(dir, 'htpasswd')}`)
  } else if (auth?.kind === 'token') {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${auth.realm}`,
      `    service: ${auth.service}`,
      `    issuer: ${auth.issuer}`,
      `    rootcertbundle: ${auth.rootCertBundle}`,
    )
  }
  const config = join(dir, 'config.yml')
  await writeFile(config, lines.join('\n') + '\n')
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const url = `http://127.0.0.1:${port}`
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited at start: ${stderr}`)
    try {
      const res = await fetch(`${url}/v2/`)
      await res.body?.cancel()
      break // 200, or 401 when auth is on: either way it is serving
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`docker-registry did not start listening on ${url}: ${stderr}`)
      }
      await new Promise((r) => setTimeout(r, 30))
    }
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------------------------------
// Building images by hand.

/** A file tree for a layer: path → contents (string/bytes), or a small spec for other kinds. */
export type TreeEntry =
  | string
  | Uint8Array
  | { dir: true; mode?: number }
  | { symlink: string }
  | { hardlink: string }
  | { file: string | Uint8Array; mode?: number }

/** Writes a tree to disk and archives it with GNU tar (deterministic: sorted, fixed mtime, owner 0). */
export async function tarTree(tree: Record<string, TreeEntry>, format: 'pax' | 'gnu' | 'ustar' = 'pax'): Promise<Uint8Array> {
  const dir = await tempDir('boxplay-tree-')
  try {
    const links: [string, string][] = []
    for (const [path, entry] of Object.entries(tree)) {
      const full = join(dir, path)
      await mkdir(join(full, '..'), { recursive: true })
      if (typeof entry === 'string' || entry instanceof Uint8Array) await writeFile(full, entry)
      else if ('dir' in entry) await mkdir(full, { recursive: true, mode: entry.mode ?? 0o755 })
      else if ('symlink' in entry) spawnSync('ln', ['-s', entry.symlink, full])
      else if ('hardlink' in entry) links.push([entry.hardlink, full])
      else await writeFile(full, entry.file, { mode: entry.mode ?? 0o644 })
      if (typeof entry === 'object' && !(entry instanceof Uint8Array) && 'dir' in entry && entry.mode !== undefined) {
        spawnSync('chmod', [entry.mode.toString(8), full])
      }
    }
    for (const [target, full] of links) spawnSync('ln', [join(dir, target), full])
    const r = spawnSync(
      'tar',
      ['-C', dir, `--format=${format}`, '--sort=name', '--mtime=@1700000000', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'],
      { maxBuffer: 1 << 30 },
    )
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`)
    return new Uint8Array(r.stdout)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

export interface Blob {
  mediaType: string
  digest: string
  size: number
  bytes: Uint8Array
}

function blob(mediaType: string, bytes: Uint8Array | string): Blob {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes
  return { mediaType, digest: sha256(b), size: b.byteLength, bytes: b }
}

export interface ImageSpec {
  platform: Platform
  /** Uncompressed layer tars, bottom first. */
  layers: Uint8Array[]
  config?: ImageConfig
  /** Layer compression (default gzip); zstd uses the zstd tool. */
  compression?: 'gzip' | 'none' | 'zstd'
  /** Docker v2 schema 2 media types instead of OCI ones. */
  docker?: boolean
}

export interface BuiltImage {
  manifest: Blob
  config: Blob
  layers: Blob[]
  platform: Platform
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const compression = spec.docker ? 'gzip' : (spec.compression ?? 'gzip')
  const layerType = spec.docker
    ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
    : { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' }[compression]
  const compress = (tar: Uint8Array): Uint8Array => {
    if (compression === 'gzip') return new Uint8Array(gzipSync(tar))
    if (compression === 'none') return tar
    const r = spawnSync('zstd', ['-c', '-q'], { input: tar, maxBuffer: 1 << 30 })
    if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`)
    return new Uint8Array(r.stdout)
  }
  const layers = spec.layers.map((tar) => blob(layerType, compress(tar)))
  const configJson = {
    architecture: spec.platform.architecture,
    os: spec.platform.os,
    ...(spec.platform.variant ? { variant: spec.platform.variant } : {}),
    config: spec.config ?? { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: spec.layers.map((t) => sha256(t)) },
    history: spec.layers.map(() => ({ created_by: 'boxplay test' })),
  }
  const config = blob(spec.docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', JSON.stringify(configJson))
  const manifestType = spec.docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json'
  const manifest = blob(
    manifestType,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  )
  return { manifest, config, layers, platform: spec.platform }
}

/** An index over several single-platform images (OCI, or a Docker manifest list). */
export function buildIndex(images: BuiltImage[], docker = false): Blob {
  const type = docker ? 'application/vnd.docker.distribution.manifest.list.v2+json' : 'application/vnd.oci.image.index.v1+json'
  return blob(
    type,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: type,
      manifests: images.map((i) => ({ mediaType: i.manifest.mediaType, digest: i.manifest.digest, size: i.manifest.size, platform: i.platform })),
    }),
  )
}

/**
 * Writes an OCI image layout holding `images` under `tag`: one image is tagged directly,
 * several are tagged through an index. Returns the tagged descriptor's blob.
 */
export async function writeOciLayout(dir: string, tag: string, images: BuiltImage[], docker = false): Promise<Blob> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true })
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  const put = async (b: Blob): Promise<void> => writeFile(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes)
  for (const image of images) {
    for (const b of [image.manifest, image.config, ...image.layers]) await put(b)
  }
  const top = images.length === 1 ? images[0]!.manifest : buildIndex(images, docker)
  await put(top)
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  )
  return top
}

export interface PushOptions {
  creds?: { username: string; password: string }
}

/** skopeo copy of every platform in the layout's `tag` to `registry/name:tag`. */
export async function pushLayout(registry: LocalRegistry, layoutDir: string, tag: string, name: string, opts: PushOptions = {}): Promise<void> {
  const args = ['copy', '--quiet', '--all', '--preserve-digests', '--dest-tls-verify=false']
  if (opts.creds) args.push('--dest-creds', `${opts.creds.username}:${opts.creds.password}`)
  args.push(`oci:${layoutDir}:${tag}`, `docker://${registry.host}/${name}`)
  try {
    await run('skopeo', args, { env: { ...process.env, HOME: registry.dir } })
  } catch (e) {
    const err = e as Error & { stderr?: string }
    throw new Error(`skopeo copy to ${registry.host}/${name} failed: ${err.stderr ?? err.message}`)
  }
}

/** Uploads one blob with the registry API (monolithic POST+PUT), if it is not there yet. */
async function putBlob(registry: LocalRegistry, name: string, b: Blob): Promise<void> {
  const head = await fetch(`${registry.url}/v2/${name}/blobs/${b.digest}`, { method: 'HEAD' })
  if (head.ok) return
  const start = await fetch(`${registry.url}/v2/${name}/blobs/uploads/`, { method: 'POST' })
  const location = start.headers.get('location')
  if (start.status !== 202 || !location) throw new Error(`registry refused a blob upload: HTTP ${start.status}`)
  const url = new URL(location, registry.url)
  url.searchParams.set('digest', b.digest)
  const put = await fetch(url, { method: 'PUT', body: b.bytes as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream' } })
  if (put.status !== 201) throw new Error(`registry refused blob ${b.digest}: HTTP ${put.status} ${await put.text()}`)
}

async function putManifest(registry: LocalRegistry, name: string, reference: string, b: Blob): Promise<void> {
  const res = await fetch(`${registry.url}/v2/${name}/manifests/${reference}`, { method: 'PUT', body: b.bytes as Uint8Array<ArrayBuffer>, headers: { 'content-type': b.mediaType } })
  if (res.status !== 201) throw new Error(`registry refused manifest ${name}:${reference}: HTTP ${res.status} ${await res.text()}`)
}

/**
 * Pushes with the registry's own HTTP API instead of skopeo: needed for Docker v2 schema 2
 * media types, which skopeo's oci: transport will not read from a layout. No auth.
 */
export async function pushViaApi(registry: LocalRegistry, nameAndTag: string, images: ImageSpec[], opts: { docker?: boolean } = {}): Promise<{ top: Blob; images: BuiltImage[] }> {
  const colon = nameAndTag.lastIndexOf(':')
  const name = nameAndTag.slice(0, colon)
  const tag = nameAndTag.slice(colon + 1)
  const built = images.map((spec) => buildImage({ ...spec, docker: opts.docker ?? spec.docker }))
  for (const image of built) {
    for (const b of [image.config, ...image.layers]) await putBlob(registry, name, b)
    await putManifest(registry, name, image.manifest.digest, image.manifest)
  }
  const top = built.length === 1 ? built[0]!.manifest : buildIndex(built, opts.docker)
  await putManifest(registry, name, tag, top)
  return { top, images: built }
}

/** Builds and pushes an image (one platform) or an index (several) as registry/name:tag. */
export async function pushImage(registry: LocalRegistry, nameAndTag: string, images: ImageSpec[], opts: PushOptions & { docker?: boolean } = {}): Promise<{ top: Blob; images: BuiltImage[] }> {
  const colon = nameAndTag.lastIndexOf(':')
  const tag = colon > 0 ? nameAndTag.slice(colon + 1) : 'latest'
  const built = images.map((spec) => buildImage({ ...spec, docker: opts.docker ?? spec.docker }))
  const dir = await tempDir('boxplay-layout-')
  try {
    const top = await writeOciLayout(dir, tag, built, opts.docker)
    await pushLayout(registry, dir, tag, colon > 0 ? nameAndTag : `${nameAndTag}:${tag}`, opts)
    return { top, images: built }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------
// A token server for `auth: token` registries: the Bearer flow Docker Hub and most
// registries use. It signs JWTs (RS256, certificate in x5c) with a throwaway key and cert
// made by openssl, grants what is asked to the right user, and nothing to anyone else.

export interface TokenServer {
  auth: Extract<RegistryAuth, { kind: 'token' }>
  /** Token requests seen, with the scopes asked for and whether credentials matched. */
  requests: { scopes: string[]; user: string | undefined; granted: boolean }[]
  stop(): Promise<void>
}

export async function startTokenServer(user: { username: string; password: string }): Promise<TokenServer> {
  const { createServer: createHttpServer } = await import('node:http')
  const { X509Certificate, createPrivateKey, sign, randomUUID } = await import('node:crypto')
  const { readFile } = await import('node:fs/promises')
  const dir = await tempDir('boxplay-token-')
  const keyPath = join(dir, 'key.pem')
  const certPath = join(dir, 'cert.pem')
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=boxplay-test-token'])
  if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.stderr.toString()}`)
  const key = createPrivateKey(await readFile(keyPath))
  const certDer = new X509Certificate(await readFile(certPath)).raw.toString('base64')
  const issuer = 'boxplay-test-issuer'
  const service = 'boxplay-test-registry'
  const requests: TokenServer['requests'] = []
  const b64url = (v: Buffer | string): string => Buffer.from(v).toString('base64url')

  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const scopes = url.searchParams.getAll('scope')
    const header = req.headers.authorization ?? ''
    let who: string | undefined
    let ok = false
    if (header.startsWith('Basic ')) {
      const [name, ...pass] = Buffer.from(header.slice(6), 'base64').toString().split(':')
      who = name
      ok = name === user.username && pass.join(':') === user.password
    }
    requests.push({ scopes, user: who, granted: ok })
    if (who !== undefined && !ok) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}')
      return
    }
    // Anonymous callers get a token that grants nothing, as Docker Hub does for private repos.
    const access = ok
      ? scopes.map((s) => {
          const [type, name, actions] = s.split(':')
          return { type, name, actions: (actions ?? '').split(',').filter(Boolean) }
        })
      : []
    const now = Math.floor(Date.now() / 1000)
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer] }))
    const claims = b64url(JSON.stringify({ iss: issuer, sub: who ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }))
    const signature = b64url(sign('sha256', Buffer.from(`${head}.${claims}`), key))
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${head}.${claims}.${signature}`, expires_in: 300 }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    auth: { kind: 'token', realm: `http://127.0.0.1:${port}/token`, service, issuer, rootCertBundle: certPath },
    requests,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    },
  }
}
