// A container's writable layer in v86 (Node): a run started with a container's kept changes
// sees them over the image, its change set holds them plus its own (measured against the
// image, so deletions of image files are whiteouts and runtime-provided files are left out),
// and the image's shared tree is never changed.

import { describe, expect, test } from 'vitest'
import type { ChangeSet } from '../../web/oci/changes.js'
import { writeLayerTar } from '../../web/oci/layer-writer.js'
import { changesFromTar } from '../../web/store/layer-changes.js'
import { run } from './helpers.js'

const enc = new TextEncoder()
const describeChanges = (c: ChangeSet) => c.entries.map((e) => `${e.kind} ${e.path}`)

describe('v86 runs with a container’s kept files', () => {
  test('a second run sees the first run’s files, and its change set holds both runs’ changes', async () => {
    const first = await run({ cmd: ['sh', '-c', 'mkdir -p /root/work && echo one > /root/work/a.txt && rm /etc/motd 2>/dev/null; rm -f /bin/vi; echo done'] })
    expect(first.status.code).toBe(0)
    const kept = await first.run.changeSet()
    expect(describeChanges(kept)).toEqual(expect.arrayContaining(['dir /root', 'dir /root/work', 'file /root/work/a.txt', 'deleted /bin/vi']))
    expect(describeChanges(kept).some((p) => p.includes('/etc/hostname'))).toBe(false)

    // Kept as a layer and read back, as the browser's container store does.
    const { tar } = await writeLayerTar(kept, { epoch: 2_000_000_000 })
    const again = changesFromTar(tar)
    const second = await run({ changes: again, cmd: ['sh', '-c', 'cat /root/work/a.txt; ls /bin/vi 2>&1; echo two > /root/work/b.txt'] })
    expect(second.stdout).toMatch(/^one\n/)
    expect(second.stdout + second.stderr).toMatch(/No such file/)
    const both = describeChanges(await second.run.changeSet())
    expect(both).toEqual(expect.arrayContaining(['file /root/work/a.txt', 'file /root/work/b.txt', 'deleted /bin/vi']))

    // The image itself is untouched: a plain run has neither file.
    const plain = await run({ cmd: ['sh', '-c', 'ls /root/work 2>&1; ls /bin/vi'] })
    expect(plain.stdout).toContain('/bin/vi')
    expect(plain.stdout + plain.stderr).toMatch(/No such file/)
  }, 120_000)

  test('kept files hold their bytes and modes through the layer', async () => {
    const changes: ChangeSet = {
      entries: [
        { path: '/usr', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
        { path: '/usr/local', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
        { path: '/usr/local/bin', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
        { path: '/usr/local/bin/hi', kind: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 1, data: enc.encode('#!/bin/sh\necho hi from the layer\n') },
      ],
    }
    const r = await run({ changes, cmd: ['hi'] })
    expect(r.stdout).toBe('hi from the layer\n')
  }, 60_000)
})
