// The image tree as v86's 9p filesystem, through a real guest: contents are served lazily
// from the RootFs's FileData (a file nobody reads is never loaded), modes, owners and
// symlinks arrive as the image has them, and the image's tree is never modified by a run.

import { describe, expect, test } from 'vitest'
import { buildRootFs } from '../../web/oci/image.js'
import { type DirNode, type FileNode, RootFs } from '../../web/oci/rootfs.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { V86Runtime } from '../../web/runtimes/v86/runtime.js'
import { assets, bundled } from './helpers.js'

const enc = (s: string) => new TextEncoder().encode(s)

describe('v86 9p filesystem from a RootFs', () => {
  test('lazy contents, metadata, hardlinks as shared contents, and an untouched image', async () => {
    const image = await bundled('busybox')
    const base = await buildRootFs(image)
    const loads: string[] = []
    const lazy = (name: string, text: string): FileNode => ({
      kind: 'file', mode: 0o640, uid: 1234, gid: 5678, mtime: 1_700_000_000,
      data: { size: text.length, load: async () => (loads.push(name), enc(text)) },
    })
    const shared: FileNode = { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, data: enc('same bytes\n') }
    const extra: DirNode = {
      kind: 'dir', mode: 0o750, uid: 0, gid: 0, mtime: 0,
      entries: new Map<string, FileNode | { kind: 'symlink'; mode: number; uid: number; gid: number; mtime: number; target: string }>([
        ['read-me', lazy('read-me', 'fetched on demand\n')],
        ['never-read', lazy('never-read', 'nobody asked\n')],
        ['one', shared],
        ['two', shared],
        ['link', { kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, target: 'read-me' }],
      ]),
    }
    const root = new RootFs({ ...base.root, entries: new Map([...base.root.entries, ['extra', extra]]) })
    const runtime = new V86Runtime({ assets, rootFs: async () => root })

    const r = await runtime.start({
      image,
      cmd: ['sh', '-c', 'cat /extra/link; stat -c "%a %u %g %s" /extra/read-me; cat /extra/two; echo changed > /extra/one; stat -c %a /extra'],
    })
    const { stdout, status } = await collectOutput(r)
    expect(status.code).toBe(0)
    expect(stdout).toBe('fetched on demand\n640 1234 5678 18\nsame bytes\n750\n')
    expect(loads).toEqual(['read-me'])

    const after = await r.files()
    const one = after.get('/extra/one')
    expect(one.kind === 'file' && one.data instanceof Uint8Array && new TextDecoder().decode(one.data)).toBe('changed\n')
    // The image's own tree is untouched: the run wrote into its own view.
    expect(new TextDecoder().decode(shared.data as Uint8Array)).toBe('same bytes\n')
    // Unread lazy files come back as the image's FileData, still unloaded.
    const never = after.get('/extra/never-read')
    expect(never.kind === 'file' && never.data).toBe((extra.entries.get('never-read') as FileNode).data)
    expect(loads).toEqual(['read-me'])
  })
})
