// File contents kept and fetched ahead (web/runtimes/v86/file-prefetch.ts), through a real
// guest: a second run of a command loads nothing again, its reads are recorded per image and
// command, and a runtime that finds a record fetches those files before the guest asks.

import { describe, expect, test } from 'vitest'
import { buildRootFs } from '../../web/oci/image.js'
import { type FileNode, RootFs } from '../../web/oci/rootfs.js'
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
})
