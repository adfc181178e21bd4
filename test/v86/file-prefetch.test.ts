// File contents kept and fetched ahead (web/runtimes/v86/file-prefetch.ts), through a real
// guest: a second run of a command loads nothing again, its reads are recorded per image and
// command, and a runtime that finds a record fetches those files before the guest asks.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { startServer } from '../../server/http/server.js'
import { storeImages } from '../../server/http/store-images.js'
import { Store } from '../../server/store/store.js'
import { buildRootFs, resolveImage } from '../../web/oci/image.js'
import { buildLazyRootFs } from '../../web/oci/layer-index.js'
import { HttpLayerIndexSource } from '../../web/runtimes/remote/layer-index-source.js'
import { ServerSource } from '../../web/runtimes/remote/sources.js'
import { HostProcessRuntime } from '../server/fixtures.js'
import { type FileNode, RootFs, readFile } from '../../web/oci/rootfs.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { ContentMemo, memoryRecorder, recordKey } from '../../web/runtimes/v86/file-prefetch.js'
import { V86Runtime } from '../../web/runtimes/v86/runtime.js'
import { assets, bundled } from './helpers.js'

const enc = (s: string) => new TextEncoder().encode(s)

function lazyFile(name: string, text: string, loads: string[]): FileNode {
  return { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, data: { size: text.length, load: async () => (loads.push(name), enc(text)) } }
}

describe('v86 file contents kept and fetched ahead', () => {
  test('ContentMemo keeps loads within its budget, oldest out first, and forgets failures', async () => {
    const loads: string[] = []
    const memo = new ContentMemo(10)
    const data = (name: string, size: number, fail = false) => ({ size, load: async () => (loads.push(name), fail ? Promise.reject(new Error('gone')) : new Uint8Array(size)) })
    const a = data('a', 4)
    const b = data('b', 4)
    const c = data('c', 4)
    await memo.load(a)
    await memo.load(b)
    await memo.load(a) // a is now the newest
    await memo.load(c) // 12 > 10: b goes
    expect(memo.has(a) && memo.has(c) && !memo.has(b)).toBe(true)
    await memo.load(b)
    expect(loads).toEqual(['a', 'b', 'c', 'b'])
    const bad = data('bad', 1, true)
    await expect(memo.load(bad)).rejects.toThrow('gone')
    expect(memo.has(bad)).toBe(false)
  })

  test('a repeated command loads nothing again; a recorded one is fetched ahead in a new runtime', async () => {
    const image = await bundled('busybox')
    const base = await buildRootFs(image)
    const loads: string[] = []
    const tree = () =>
      new RootFs({
        ...base.root,
        entries: new Map([...base.root.entries, ['one', lazyFile('one', 'first\n', loads)], ['two', lazyFile('two', 'second\n', loads)], ['three', lazyFile('three', 'third\n', loads)]]),
      })
    const recorder = memoryRecorder()
    const first = new V86Runtime({ assets, rootFs: async () => tree(), recorder })
    const cmd = ['cat', '/one', '/two']
    for (let i = 0; i < 2; i++) {
      const out = await collectOutput(await first.start({ image, cmd }))
      expect(out.stdout).toBe('first\nsecond\n')
    }
    // The tree is reused per image and its contents kept: the second run loaded nothing.
    expect(loads).toEqual(['one', 'two'])
    await new Promise((r) => setTimeout(r, 0))
    expect(await recorder.get(recordKey(image.digest, cmd))).toEqual(['/one', '/two'])

    // A fresh runtime (a new page) with the record, and a run that reads only /one: /two is
    // fetched anyway, ahead, because the last run of this command read it.
    loads.length = 0
    const later = new V86Runtime({ assets, rootFs: async () => tree(), recorder })
    await recorder.set(recordKey(image.digest, ['cat', '/one']), ['/one', '/two', '/missing', '/bin'])
    const out = await collectOutput(await later.start({ image, cmd: ['cat', '/one'] }))
    expect(out.stdout).toBe('first\n')
    expect([...loads].sort()).toEqual(['one', 'two'])
    expect(loads).not.toContain('three')
  })

  test("the host's own reads (the user from /etc/passwd and /etc/group) are kept across runs too", async () => {
    const image = await bundled('busybox')
    const base = await buildRootFs(image)
    const loads: string[] = []
    const etc = base.get('/etc')
    if (etc.kind !== 'dir') throw new Error('busybox has no /etc')
    const text = async (path: string) => {
      const node = base.get(path)
      if (node.kind !== 'file') throw new Error(`${path} is not a file in busybox`)
      return new TextDecoder().decode(await readFile(node))
    }
    const passwd = await text('/etc/passwd')
    const group = await text('/etc/group')
    const tree = new RootFs({
      ...base.root,
      entries: new Map([...base.root.entries, ['etc', { ...etc, entries: new Map([...etc.entries, ['passwd', lazyFile('passwd', passwd, loads)], ['group', lazyFile('group', group, loads)]]) }]]),
    })
    const runtime = new V86Runtime({ assets, rootFs: async () => tree })
    for (let i = 0; i < 2; i++) expect((await collectOutput(await runtime.start({ image, cmd: ['true'], user: 'nobody' }))).status.code).toBe(0)
    expect(loads.filter((l) => l === 'passwd')).toHaveLength(1)
    expect(loads.filter((l) => l === 'group')).toHaveLength(1)
  })

  test("from a boxplay server, a recorded command's files come in one batched request in a new page", async () => {
    const home = await mkdtemp(join(tmpdir(), 'boxplay-prefetch-batch-'))
    const server = await startServer({ port: 0, images: storeImages(await Store.open({ home })), runtimes: [new HostProcessRuntime()] })
    try {
      const headers = { authorization: `Bearer ${server.token}` }
      const image = await resolveImage(new ServerSource(server.origin, { headers }), 'busybox:latest', { os: 'linux', architecture: '386' })
      const recorder = memoryRecorder()
      const cmd = ['sh', '-c', 'cat /etc/passwd /etc/group >/dev/null && echo read']
      /** A new runtime over its own source (a new page), counting its content requests. */
      const page = () => {
        const urls: string[] = []
        const counting: typeof fetch = (input, init) => (urls.push(String(input)), fetch(input, init))
        const source = new HttpLayerIndexSource(server.origin, 'server', { headers, fetch: counting })
        const runtime = new V86Runtime({ assets, rootFs: (img) => buildLazyRootFs(img, source), recorder })
        return { runtime, contents: () => urls.filter((u) => /\/api\/contents?[/?]/.test(u)) }
      }
      const first = page()
      expect((await collectOutput(await first.runtime.start({ image, cmd }))).stdout).toBe('read\n')
      expect(first.contents().length).toBeGreaterThan(1) // one by one as the guest read them
      await new Promise((r) => setTimeout(r, 0))
      const recorded = await recorder.get(recordKey(image.digest, cmd))
      expect(recorded).toEqual(expect.arrayContaining(['/etc/passwd', '/etc/group']))

      const second = page()
      expect((await collectOutput(await second.runtime.start({ image, cmd }))).stdout).toBe('read\n')
      // Everything the first run read came in one batch, before the guest asked.
      expect(second.contents()).toHaveLength(1)
      expect(second.contents()[0]).toContain('/api/contents?sha256=')
    } finally {
      await server.close()
      await rm(home, { recursive: true, force: true })
    }
  })
})
