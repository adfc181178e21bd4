// A container's writable layer in the wasi runtime (Node): a run given a container's kept
// changes sees them over the image, its change set (over the image) holds both runs'
// changes, and the image's shared tree in a reused worker is not changed.

import { afterAll, describe, expect, test } from 'vitest'
import { writeLayerTar } from '../../web/oci/layer-writer.js'
import { changesFromTar } from '../../web/store/layer-changes.js'
import type { WasiRun } from '../../web/runtimes/wasi/wasi-run.js'
import { bundledWasiImage } from './images.js'
import { makeRuntime, runToEnd } from './helpers.js'

const runtime = makeRuntime()
afterAll(() => runtime.close())

describe('wasi runs with a container’s kept files', () => {
  test('a second run reads the first run’s file; the image stays as it was', async () => {
    const image = await bundledWasiImage('lua')
    const first = await runToEnd(runtime, { image, cmd: ['-e', "local f = io.open('/kept.txt', 'w'); f:write('one'); f:close()"] })
    expect(first.status.code).toBe(0)
    const kept = await (first.run as WasiRun).changeSet()
    expect(kept.entries.map((e) => `${e.kind} ${e.path}`)).toEqual(['file /kept.txt'])

    const { tar } = await writeLayerTar(kept, { epoch: 2_000_000_000 })
    const second = await runToEnd(runtime, {
      image,
      changes: changesFromTar(tar),
      cmd: ['-e', "print(io.open('/kept.txt'):read('a')); local f = io.open('/more.txt', 'w'); f:write('two'); f:close()"],
    })
    expect(second.stdout).toBe('one\n')
    expect((await (second.run as WasiRun).changeSet()).entries.map((e) => `${e.kind} ${e.path}`)).toEqual(['file /kept.txt', 'file /more.txt'])

    const plain = await runToEnd(runtime, { image, cmd: ['-e', "print(io.open('/kept.txt') == nil)"] })
    expect(plain.stdout).toBe('true\n')
  }, 60_000)
})
