// The store as an OCI image layout: what skopeo/umoci make of it and it of them, verified
// blobs, the index lock under concurrent processes, stale lock/temp recovery, seeding of
// bundled images, images for the runtimes, rmi and prune.

import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { withLock } from '../../server/store/lock.js'
import { Store } from '../../server/store/store.js'
import { type BuiltImage, buildImage, tarTree, tempDir, writeOciLayout } from '../helpers/registry.js'

const run = promisify(execFile)

let root: string
let home: string
let bundled: string

async function busyboxLike(text: string): Promise<BuiltImage> {
  const base = await tarTree({ 'bin/sh': { file: '#!fake shell\n', mode: 0o755 }, 'etc/motd': text })
  const top = await tarTree({ 'etc/motd': `${text} (top)`, 'etc/.wh.gone': '' })
  return buildImage({ platform: { os: 'linux', architecture: '386' }, layers: [base, top], config: { Cmd: ['/bin/sh'] } })
}

async function makeBundled(dir: string, text: string): Promise<BuiltImage> {
  const image = await busyboxLike(text)
  await writeOciLayout(dir, 'busybox:latest', [image])
  return image
}

/** A pid that is certainly not running (a process that already exited). */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' })
  return Number(r.stdout.trim())
}

beforeEach(async () => {
  root = await tempDir('boxplay-store-')
  home = join(root, 'home')
  bundled = join(root, 'bundled')
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('the store layout', () => {
  it('is created as an OCI layout and seeded with the bundled images', async () => {
    const image = await makeBundled(bundled, 'bundled v1')
    const store = await Store.open({ home, bundled })
    expect(JSON.parse(readFileSync(join(home, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' })
    const entries = await store.entries()
    expect(entries.map((e) => e.name)).toEqual(['busybox:latest'])
    expect(entries[0]!.descriptor.digest).toBe(image.manifest.digest)
    for (const b of [image.manifest, image.config, ...image.layers]) expect(store.hasBlob(b.digest)).toBe(true)
    // found by any spelling of the name, and by digest prefix
    for (const q of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', image.manifest.digest.slice(7, 19)]) {
      expect((await store.get(q)).descriptor.digest).toBe(image.manifest.digest)
    }
    await expect(store.get('nope')).rejects.toThrow(/no image "nope".*boxplay pull nope/)
  })

  it('does not re-add a bundled image the user removed, but follows a rebuilt one', async () => {
    await makeBundled(bundled, 'v1')
    let store = await Store.open({ home, bundled })
    expect(await store.removeNames(['busybox'])).toEqual(['busybox:latest'])
    store = await Store.open({ home, bundled })
    expect(await store.entries()).toEqual([])

    // another store that kept the name follows a rebuilt bundle
    const home2 = join(root, 'home2')
    await Store.open({ home: home2, bundled })
    await rm(bundled, { recursive: true })
    const v2 = await makeBundled(bundled, 'v2')
    const store2 = await Store.open({ home: home2, bundled })
    expect((await store2.get('busybox')).descriptor.digest).toBe(v2.manifest.digest)
    expect(await (await Store.open({ home, bundled })).entries()).toEqual([])
  })

  it('seeds a store for an unprivileged user without network', async () => {
    await makeBundled(bundled, 'v1')
    execFileSync('chmod', ['-R', 'a+rX', root])
    const userHome = join(root, 'nobody')
    mkdirSync(userHome)
    execFileSync('chown', ['65534:65534', userHome])
    const dist = join(process.cwd(), 'dist', 'server', 'store', 'store.js')
    const code = `const { Store } = await import(${JSON.stringify(dist)});
      const s = await Store.open({ home: ${JSON.stringify(join(userHome, 'store'))}, bundled: ${JSON.stringify(bundled)} });
      const img = await s.runImage('busybox');
      const dirs = await s.layerDirs(img);
      console.log(JSON.stringify({ names: (await s.entries()).map((e) => e.name), dirs }));`
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    const out = JSON.parse(r.stdout) as { names: string[]; dirs: string[] }
    expect(out.names).toEqual(['busybox:latest'])
    expect(readFileSync(join(out.dirs[0]!, 'etc', 'motd'), 'utf8')).toBe('v1 (top)')
  })

  it('is readable by skopeo and umoci, and reads what skopeo writes', async () => {
    await makeBundled(bundled, 'v1')
    const store = await Store.open({ home, bundled })
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${home}:busybox:latest`])
    expect(JSON.parse(stdout).layers).toHaveLength(2)
    const ls = await run('umoci', ['ls', '--layout', home])
    expect(ls.stdout.trim().split('\n')).toContain('busybox:latest')
    const out = join(root, 'copy')
    await run('skopeo', ['copy', '--quiet', `oci:${home}:busybox:latest`, `oci:${out}:copied`])
    expect(existsSync(join(out, 'index.json'))).toBe(true)

    // skopeo writes into the store; boxplay reads it (a name that is just a tag, too)
    const src = join(root, 'src')
    const other = buildImage({ platform: { os: 'linux', architecture: 'amd64' }, layers: [await tarTree({ hello: 'from skopeo' })] })
    await writeOciLayout(src, 'x', [other])
    await run('skopeo', ['copy', '--quiet', `oci:${src}:x`, `oci:${home}:mine`])
    const image = await store.runImage('mine')
    expect(image.platform).toEqual({ os: 'linux', architecture: 'amd64' })
    const [dir] = await store.layerDirs(image)
    expect(readFileSync(join(dir!, 'hello'), 'utf8')).toBe('from skopeo')
    expect((await store.entries()).map((e) => e.name).sort()).toEqual(['busybox:latest', 'mine'])
  })

  it('refuses content that does not match its digest and leaves no file', async () => {
    const store = await Store.open({ home, bundled: null })
    const wrong = `sha256:${'a'.repeat(64)}`
    await expect(store.withTemp((tmp) => store.putBytes(tmp, new TextEncoder().encode('hi'), { digest: wrong }))).rejects.toThrow(/has digest sha256:[0-9a-f]+ where .* was expected/)
    await expect(store.withTemp((tmp) => store.putBytes(tmp, new TextEncoder().encode('hi'), { size: 1 }))).rejects.toThrow(/larger than/)
    expect(readdirSync(join(home, 'blobs', 'sha256'))).toEqual([])
    expect(readdirSync(join(home, 'tmp'))).toEqual([])
    // a blob damaged on disk is caught when read
    const ok = await store.withTemp((tmp) => store.putBytes(tmp, new TextEncoder().encode('hello')))
    writeFileSync(store.blobPath(ok.digest), 'jello')
    await expect(store.readBlob(ok.digest)).rejects.toThrow(/damaged/)
  })

  it('keeps every name when several processes add names at once', async () => {
    await Store.open({ home, bundled: null })
    const dist = join(process.cwd(), 'dist', 'server', 'store', 'store.js')
    const N = 6
    const children = Array.from({ length: N }, (_, i) => {
      const code = `const { Store } = await import(${JSON.stringify(dist)});
        const s = await Store.open({ home: ${JSON.stringify(home)}, bundled: null });
        for (let j = 0; j < 5; j++) {
          const w = await s.withTemp((t) => s.putBytes(t, new TextEncoder().encode('{"schemaVersion":2,"manifests":[]}' + ' '.repeat(${i} * 5 + j))));
          await s.setNames([{ name: 'img${i}-' + j + ':latest', descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: w.digest, size: w.size } }]);
        }`
      return new Promise<number | null>((resolve) => spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'inherit' }).on('close', resolve))
    })
    expect(await Promise.all(children)).toEqual(Array(N).fill(0))
    const store = await Store.open({ home, bundled: null })
    expect((await store.entries()).length).toBe(N * 5)
    expect(existsSync(join(home, 'index.json.lock'))).toBe(false)
  })

  it('breaks a lock left by a dead process, and waits for (then times out on) a live one', async () => {
    const store = await Store.open({ home, bundled: null })
    writeFileSync(join(home, 'index.json.lock'), JSON.stringify({ pid: deadPid(), host: (await import('node:os')).hostname(), token: 'x', time: Date.now() }))
    await store.setNames([])
    expect(existsSync(join(home, 'index.json.lock'))).toBe(false)

    const lock = join(root, 'test.lock')
    let release!: () => void
    const held = withLock(lock, () => new Promise<void>((r) => (release = r)))
    await new Promise((r) => setTimeout(r, 50))
    await expect(withLock(lock, async () => 1, { timeoutMs: 300 })).rejects.toThrow(/timed out waiting for the store lock .* pid \d+/)
    const waiting = withLock(lock, async () => 'got it', { timeoutMs: 10_000 })
    release()
    await held
    expect(await waiting).toBe('got it')
  })

  it('removes temp dirs left by killed processes when opened', async () => {
    await Store.open({ home, bundled: null })
    const stale = join(home, 'tmp', `${deadPid()}-abcdef`)
    mkdirSync(stale)
    writeFileSync(join(stale, 'half-blob'), 'partial')
    const mine = join(home, 'tmp', `${process.pid}-keepme`)
    mkdirSync(mine)
    await Store.open({ home, bundled: null })
    expect(existsSync(stale)).toBe(false)
    expect(existsSync(mine)).toBe(true)
  })
})

describe('images for the runtimes, rmi and prune', () => {
  it('resolves a RunImage and unpacks its layers in lowerdir order (top first)', async () => {
    const built = await makeBundled(bundled, 'v1')
    const store = await Store.open({ home, bundled })
    const image = await store.runImage('busybox', { os: 'linux', architecture: '386' })
    expect(image.name).toBe('busybox:latest')
    expect(image.digest).toBe(built.manifest.digest)
    expect(image.config.Cmd).toEqual(['/bin/sh'])
    const dirs = await store.layerDirs(image)
    expect(dirs).toHaveLength(2)
    expect(readFileSync(join(dirs[0]!, 'etc', 'motd'), 'utf8')).toBe('v1 (top)')
    expect(readFileSync(join(dirs[1]!, 'bin', 'sh'), 'utf8')).toBe('#!fake shell\n')
    expect(new TextDecoder().decode(await image.blob(built.config.digest))).toContain('"diff_ids"')
    await expect(store.runImage('busybox', { os: 'wasi', architecture: 'wasm' })).rejects.toThrow(/linux\/386/)
  })

  it('two processes unpacking the same layers at once get the same, whole directories', async () => {
    await makeBundled(bundled, 'v1')
    await Store.open({ home, bundled })
    const dist = join(process.cwd(), 'dist', 'server', 'store', 'store.js')
    const code = `const { Store } = await import(${JSON.stringify(dist)});
      const s = await Store.open({ home: ${JSON.stringify(home)}, bundled: null });
      console.log(JSON.stringify(await s.layerDirs(await s.runImage('busybox'))));`
    const one = () =>
      new Promise<string>((resolve, reject) => {
        let out = ''
        const c = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
        c.stdout.on('data', (d: Buffer) => (out += d.toString()))
        c.on('close', (status) => (status === 0 ? resolve(out) : reject(new Error(`exit ${status}`))))
      })
    const [a, b] = await Promise.all([one(), one()])
    expect(a).toBe(b)
    const dirs = JSON.parse(a) as string[]
    expect(readFileSync(join(dirs[0]!, 'etc', 'motd'), 'utf8')).toBe('v1 (top)')
    expect(readdirSync(join(home, 'layers')).sort()).toHaveLength(4) // two dirs + two records
    expect(readdirSync(join(home, 'tmp'))).toEqual([])
  })

  it('prune frees only what no name reaches', async () => {
    const built = await makeBundled(bundled, 'v1')
    const store = await Store.open({ home, bundled })
    await store.layerDirs(await store.runImage('busybox'))
    // a second name on the same image keeps everything alive
    await store.setNames([{ name: 'alias:1', descriptor: (await store.get('busybox')).descriptor }])
    expect(await store.removeNames(['busybox'])).toEqual(['busybox:latest'])
    expect(await store.prune()).toEqual({ blobs: 0, layers: 0, bytes: 0 })
    await store.removeNames(['alias:1'])
    const freed = await store.prune()
    const blobBytes = [built.manifest, built.config, ...built.layers].reduce((n, b) => n + b.size, 0)
    expect(freed.blobs).toBe(4)
    expect(freed.layers).toBe(2)
    expect(freed.bytes).toBeGreaterThan(blobBytes)
    expect(readdirSync(join(home, 'blobs', 'sha256'))).toEqual([])
    expect(readdirSync(join(home, 'layers'))).toEqual([])
    await expect(store.removeNames(['busybox'])).rejects.toThrow(/no image "busybox"/)
  })

  it('prune refuses while another process is adding content', async () => {
    const store = await Store.open({ home, bundled: null })
    const child = spawn('sleep', ['30'])
    try {
      mkdirSync(join(home, 'tmp', `${child.pid}-busy`))
      await expect(store.prune()).rejects.toThrow(/another boxplay process .* is adding/)
    } finally {
      child.kill()
    }
  })
})
