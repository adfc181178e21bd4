// A run started with keepChanges: after it exits, files() is the image's tree with exactly
// what the container wrote, deleted (whiteouts, an opaque dir) and made; reading removes
// the kept run dir, and a run that never gets read leaves nothing once discarded.

import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NativeRuntime } from '../../server/native/index.js'
import type { NativeRun } from '../../server/native/run.js'
import { readFile } from '../../web/oci/rootfs.js'
import { diffTrees } from '../../web/ui/file-diff.js'
import { buildRootFs } from '../../web/oci/image.js'
import type { RunImage } from '../../web/runtimes/runtime.js'
import { busyboxLayerBlob, tempDir, unpackBusybox } from './fixture.js'

let work: string
let base: string
let stateRoot: string
let busybox: RunImage

beforeAll(() => {
  work = tempDir('kept')
  base = unpackBusybox(work)
  stateRoot = join(work, 'state')
  const blobPath = busyboxLayerBlob()
  // The same layer the lower dir was unpacked from, as a RunImage files() can merge.
  busybox = {
    name: 'busybox:latest',
    digest: 'sha256:' + '0'.repeat(64),
    platform: { os: 'linux', architecture: '386' },
    config: { Cmd: ['sh'] },
    layers: [{ digest: 'sha256:' + blobPath.split('/').pop()!, diffId: '', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 0 }],
    blob: async () => new Uint8Array(readFileSync(blobPath)),
  }
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

function runtime(): NativeRuntime {
  return new NativeRuntime({ layerDirs: async () => [base], stateRoot })
}

const SCRIPT = [
  'echo hello > /new.txt',
  'rm /etc/group',
  'echo extra:x:5:5::/:/bin/sh >> /etc/passwd',
  'mkdir /made && ln -s /new.txt /made/link && echo deep > /made/file',
  'rm -rf /usr/share/doc && mkdir /usr/share/doc && echo fresh > /usr/share/doc/only',
  'chown 1000:1000 /made/file',
].join(' && ')

describe('native runs keep their changes when asked', () => {
  it('files() shows exactly what the run wrote, deleted and made; reading removes the kept dir', async () => {
    const run = (await runtime().start({ image: busybox, cmd: ['sh', '-c', SCRIPT], options: { keepChanges: true } })) as NativeRun
    const status = await run.exit
    expect(status).toEqual({ code: 0, reason: 'exited' })
    // Kept on the host until read.
    expect(readdirSync(stateRoot).filter((n) => n.includes(run.facts.containerId as string))).toHaveLength(1)

    const files = await run.files()
    const image = await buildRootFs(busybox)
    const changes = diffTrees(image, files).map((c) => `${c.change} ${c.path}`).sort()
    expect(changes).toEqual(
      [
        'added /made',
        'added /made/file',
        'added /made/link',
        'added /new.txt',
        'added /usr/share/doc/only',
        'deleted /etc/group',
        'deleted /usr/share/doc/busybox-static',
        'modified /etc/passwd',
        // The runtime writes these three into every container, as Docker does.
        'added /etc/hostname',
        'added /etc/hosts',
        'added /etc/resolv.conf',
      ].sort(),
    )
    const newTxt = files.lookup('/new.txt')
    expect(newTxt?.kind).toBe('file')
    if (newTxt?.kind === 'file') expect(new TextDecoder().decode(await readFile(newTxt))).toBe('hello\n')
    const link = files.lookup('/made/link', false)
    expect(link?.kind === 'symlink' && link.target).toBe('/new.txt')
    // Owners are the container's ids, not the host's shifted ones.
    expect(files.lookup('/made/file')).toMatchObject({ uid: 1000, gid: 1000 })
    expect(files.lookup('/new.txt')).toMatchObject({ uid: 0, gid: 0 })
    // Everything the image had and the run left alone is still there.
    expect(files.lookup('/bin/busybox')?.kind).toBe('file')

    expect(readdirSync(stateRoot).filter((n) => n.includes(run.facts.containerId as string))).toHaveLength(0)
    // Read once, answered again from memory.
    expect((await run.changes()).entries.length).toBeGreaterThan(0)
  })

  it('a kept run that is never read is removed by discard()', async () => {
    const run = (await runtime().start({ image: busybox, cmd: ['sh', '-c', 'echo x > /x'], options: { keepChanges: true } })) as NativeRun
    await run.exit
    expect(readdirSync(stateRoot).filter((n) => n.includes(run.facts.containerId as string))).toHaveLength(1)
    run.discard()
    expect(readdirSync(stateRoot).filter((n) => n.includes(run.facts.containerId as string))).toHaveLength(0)
    await expect(run.changes()).rejects.toThrow(/discarded/)
  })

  it('without keepChanges nothing is kept and files() says how to get them', async () => {
    const run = (await runtime().start({ image: busybox, cmd: ['sh', '-c', 'echo x > /x'] })) as NativeRun
    await run.exit
    expect(readdirSync(stateRoot).filter((n) => n.includes(run.facts.containerId as string))).toHaveLength(0)
    await expect(run.files()).rejects.toThrow(/keepChanges/)
  })

  it('the sweep of a later server removes changes its dead predecessor kept', async () => {
    const rt = runtime()
    const run = (await rt.start({ image: busybox, cmd: ['sh', '-c', 'echo x > /x'], options: { keepChanges: true } })) as NativeRun
    await run.exit
    const [name] = readdirSync(stateRoot).filter((n) => n.includes(run.facts.containerId as string))
    expect(name).toBeDefined()
    // Make its owner a process that has exited, as a killed server's would be.
    const dead = spawnSync('true').pid!
    const statePath = join(stateRoot, name!, 'state.json')
    writeFileSync(statePath, JSON.stringify({ ...JSON.parse(readFileSync(statePath, 'utf8')), ownerPid: dead }))
    expect(rt.sweep().removed).toContain(name)
    expect(readdirSync(stateRoot)).not.toContain(name)
    run.discard() // already gone: nothing to do, no error
  })
})
