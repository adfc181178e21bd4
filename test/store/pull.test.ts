// `pull` against a real docker-registry on 127.0.0.1: single images and multi-arch indexes,
// platform choice, auth (Bearer tokens, Basic, docker config), interrupted downloads
// (connection cut, process killed) and two processes pulling the same image at once.

import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pull } from '../../server/image/pull.js'
import { Store } from '../../server/store/store.js'
import { type LocalRegistry, type TokenServer, pushImage, startRegistry, startTokenServer, tarTree, tempDir } from '../helpers/registry.js'
import { cliBin, cliProcess } from './helpers.js'

const run = promisify(execFile)

let registry: LocalRegistry
let root: string
let multi: Awaited<ReturnType<typeof pushImage>>
let single: Awaited<ReturnType<typeof pushImage>>
let big: Awaited<ReturnType<typeof pushImage>>

const linux386 = { os: 'linux', architecture: '386' }
const amd64 = { os: 'linux', architecture: 'amd64' }
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' }

function randomish(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

beforeAll(async () => {
  root = await tempDir('boxplay-pull-')
  registry = await startRegistry()
  const layer = async (text: string) => tarTree({ 'etc/os': text, 'bin/sh': { file: `shell for ${text}`, mode: 0o755 } })
  single = await pushImage(registry, 'single:1', [{ platform: linux386, layers: [await layer('single')] }])
  multi = await pushImage(registry, 'multi:1', [
    { platform: amd64, layers: [await layer('amd64')] },
    { platform: linux386, layers: [await layer('386')] },
    { platform: arm64, layers: [await layer('arm64')] },
  ])
  // incompressible, so the blob is big enough to interrupt mid-way
  big = await pushImage(registry, 'big:1', [{ platform: amd64, layers: [await tarTree({ blob: randomish(6 << 20, 7) })] }])
})

afterAll(async () => {
  await registry?.stop()
  await rm(root, { recursive: true, force: true })
})

let n = 0
async function freshStore(): Promise<Store> {
  return Store.open({ home: join(root, `home${n++}`), bundled: null })
}

describe('pull', () => {
  it('pulls a single-platform image under the name it was pulled by', async () => {
    const store = await freshStore()
    const res = await pull(store, `${registry.host}/single:1`)
    expect(res).toMatchObject({ name: `${registry.host}/single:1`, digest: single.top.digest, platforms: ['linux/386'], blobsFetched: 2 })
    const img = single.images[0]!
    for (const b of [img.manifest, img.config, ...img.layers]) expect(store.hasBlob(b.digest)).toBe(true)
    // skopeo reads it by the same name
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${store.home}:${registry.host}/single:1`])
    expect(JSON.parse(stdout).config.digest).toBe(img.config.digest)
    // pulling again fetches nothing
    const again = await pull(store, `${registry.host}/single:1`)
    expect(again).toMatchObject({ blobsFetched: 0, blobsSkipped: 2 })
    expect((await store.entries()).length).toBe(1)
  })

  it('pulls a multi-arch index: every manifest, layers for the platforms boxplay runs', async () => {
    const store = await freshStore()
    const res = await pull(store, `${registry.host}/multi:1`)
    expect(res.platforms.sort()).toEqual(['linux/386', 'linux/amd64'])
    const [a, b, c] = multi.images
    for (const img of [a!, b!, c!]) expect(store.hasBlob(img.manifest.digest)).toBe(true)
    expect(store.hasBlob(a!.layers[0]!.digest)).toBe(true)
    expect(store.hasBlob(b!.layers[0]!.digest)).toBe(true)
    expect(store.hasBlob(c!.layers[0]!.digest)).toBe(false)
    const image = await store.runImage(`${registry.host}/multi:1`, linux386)
    expect(image.digest).toBe(b!.manifest.digest)
    await expect(store.runImage(`${registry.host}/multi:1`, arm64)).rejects.toThrow(/--platform linux\/arm64/)
  })

  it('--platform fetches only that platform, and names what exists when it is missing', async () => {
    const store = await freshStore()
    const res = await pull(store, `${registry.host}/multi:1`, { platform: arm64 })
    expect(res.platforms).toEqual(['linux/arm64/v8'])
    expect(store.hasBlob(multi.images[2]!.layers[0]!.digest)).toBe(true)
    expect(store.hasBlob(multi.images[0]!.layers[0]!.digest)).toBe(false)
    await expect(pull(store, `${registry.host}/multi:1`, { platform: { os: 'wasi', architecture: 'wasm' } })).rejects.toThrow(
      /no wasi\/wasm variant.*linux\/amd64, linux\/386, linux\/arm64\/v8/,
    )
  })

  it('says clearly when the image does not exist', async () => {
    const store = await freshStore()
    await expect(pull(store, `${registry.host}/nothing:here`)).rejects.toThrow(/not found|unknown|does not exist/i)
    expect(await store.entries()).toEqual([])
  })
})

// A proxy in front of the registry that can cut or stall one blob's download half-way.
interface Proxy {
  host: string
  mode: 'pass' | 'cut' | 'stall'
  target: string
  halfSent: Promise<void>
  stop(): Promise<void>
}

async function startProxy(upstream: LocalRegistry, target: string): Promise<Proxy> {
  let markHalf!: () => void
  const proxy: Proxy = {
    host: '',
    mode: 'pass',
    target,
    halfSent: new Promise<void>((r) => (markHalf = r)),
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const up = request(`${upstream.url}${req.url}`, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (upRes) => {
      const isTarget = req.method === 'GET' && req.url?.includes(`/blobs/${proxy.target}`) && proxy.mode !== 'pass'
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      if (!isTarget) {
        upRes.pipe(res)
        return
      }
      const half = Math.floor(Number(upRes.headers['content-length']) / 2)
      let sent = 0
      upRes.on('data', (chunk: Buffer) => {
        if (sent >= half) return
        const part = chunk.subarray(0, Math.min(chunk.length, half - sent))
        sent += part.length
        res.write(part)
        if (sent >= half) {
          markHalf()
          upRes.destroy()
          if (proxy.mode === 'cut') setTimeout(() => res.socket?.destroy(), 20)
          // 'stall': keep the connection open, sending nothing more
        }
      })
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const addr = server.address()
  proxy.host = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
  return proxy
}

describe('interrupted pulls', () => {
  it('a connection cut mid-blob leaves no half blob and no name; a retry succeeds', async () => {
    const layer = big.images[0]!.layers[0]!
    const proxy = await startProxy(registry, layer.digest)
    try {
      const store = await freshStore()
      proxy.mode = 'cut'
      await expect(pull(store, `${proxy.host}/big:1`, { idleTimeoutMs: 1500 })).rejects.toThrow(/download|ended|failed|terminated|stalled/i)
      expect(store.hasBlob(layer.digest)).toBe(false)
      expect(readdirSync(store.paths.tmp)).toEqual([])
      expect(await store.entries()).toEqual([])
      proxy.mode = 'pass'
      const res = await pull(store, `${proxy.host}/big:1`)
      expect(res.blobsFetched).toBeGreaterThanOrEqual(1)
      expect(store.hasBlob(layer.digest)).toBe(true)
      await store.readBlob(layer.digest) // verified
    } finally {
      await proxy.stop()
    }
  })

  it('a pull process killed mid-blob leaves no half blob; the next pull cleans up and succeeds', async () => {
    cliBin()
    const layer = big.images[0]!.layers[0]!
    const proxy = await startProxy(registry, layer.digest)
    const home = join(root, `killed${n++}`)
    try {
      proxy.mode = 'stall'
      const child = spawn(process.execPath, [cliBin(), '--home', home, 'pull', '-q', `${proxy.host}/big:1`], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, BOXPLAY_BUNDLED_IMAGES: '' },
      })
      let stderr = ''
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
      const exited = new Promise<void>((_, reject) => child.once('exit', (code) => reject(new Error(`pull exited early (${code}): ${stderr}`))))
      await Promise.race([proxy.halfSent, exited])
      exited.catch(() => undefined)
      await new Promise((r) => setTimeout(r, 200)) // let the half reach the temp file
      const tmpDirs = readdirSync(join(home, 'tmp'))
      expect(tmpDirs.some((d) => d.startsWith(`${child.pid}-`))).toBe(true)
      child.kill('SIGKILL')
      await new Promise((r) => child.once('close', r))
      const store = await Store.open({ home, bundled: null })
      expect(store.hasBlob(layer.digest)).toBe(false)
      expect(readdirSync(join(home, 'tmp'))).toEqual([]) // the dead pull's temp dir is gone
      proxy.mode = 'pass'
      const res = await cliProcess(['--home', home, 'pull', '-q', `${proxy.host}/big:1`], { BOXPLAY_BUNDLED_IMAGES: '' })
      expect(res.stderr).toBe('')
      expect(res.code).toBe(0)
      expect(store.hasBlob(layer.digest)).toBe(true)
    } finally {
      await proxy.stop()
    }
  })

  it('two processes pulling the same image at once both succeed, with one name', async () => {
    const home = join(root, `twice${n++}`)
    const [a, b] = await Promise.all([
      cliProcess(['--home', home, 'pull', '-q', `${registry.host}/multi:1`]),
      cliProcess(['--home', home, 'pull', '-q', `${registry.host}/multi:1`]),
    ])
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', ''])
    const store = await Store.open({ home, bundled: null })
    expect((await store.entries()).map((e) => e.name).filter((x) => x?.startsWith(registry.host))).toEqual([`${registry.host}/multi:1`])
    for (const img of multi.images.slice(0, 2)) {
      for (const d of [img.manifest, img.config, ...img.layers]) await store.readBlob(d.digest)
    }
    expect(readdirSync(join(home, 'tmp'))).toEqual([])
  })
})

describe('pull with authentication', () => {
  let tokens: TokenServer
  let secured: LocalRegistry
  let basic: LocalRegistry
  const user = { username: 'alice', password: 's3cret:with:colons' }

  beforeAll(async () => {
    tokens = await startTokenServer(user)
    secured = await startRegistry(tokens.auth)
    basic = await startRegistry({ kind: 'htpasswd', ...user })
    const layer = await tarTree({ secret: 'data' })
    await pushImage(secured, 'private:1', [{ platform: amd64, layers: [layer] }], { creds: user })
    await pushImage(basic, 'private:1', [{ platform: amd64, layers: [layer] }], { creds: user })
  })
  afterAll(async () => {
    await secured?.stop()
    await basic?.stop()
    await tokens?.stop()
  })

  it('Bearer tokens: refused anonymously with a hint, pulled with --creds', async () => {
    const store = await freshStore()
    await expect(pull(store, `${secured.host}/private:1`)).rejects.toThrow(/--creds/)
    const res = await pull(store, `${secured.host}/private:1`, { creds: user })
    expect(res.blobsFetched).toBe(2)
    expect(tokens.requests.some((r) => r.granted && r.scopes.some((s) => s.includes('private:pull')))).toBe(true)
  })

  it('Basic auth with credentials from ~/.docker/config.json, through the CLI', async () => {
    const fakeHome = join(root, `userhome${n++}`)
    mkdirSync(join(fakeHome, '.docker'), { recursive: true })
    const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64')
    writeFileSync(join(fakeHome, '.docker', 'config.json'), JSON.stringify({ auths: { [basic.host]: { auth } } }))
    const res = await cliProcess(['pull', '-q', '--json', `${basic.host}/private:1`], { HOME: fakeHome, BOXPLAY_HOME: join(fakeHome, 'store') })
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ name: `${basic.host}/private:1`, blobsFetched: 2 })
    expect(existsSync(join(fakeHome, 'store', 'index.json'))).toBe(true)
    const denied = await cliProcess(['pull', '-q', `${basic.host}/private:1`], { HOME: join(root, 'nobody-home'), BOXPLAY_HOME: join(root, `s${n++}`) })
    expect(denied.code).toBe(125)
    expect(denied.stderr).toMatch(/--creds/)
  })
})
