// The per-boot memo of the host probes: answers come back only for the same boot, uid and
// helper binary; a changed helper (a rebuilt core) asks again.

import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readHostProbes, writeHostProbes } from '../../server/native/host-probes.js'

const dir = mkdtempSync(join(tmpdir(), 'boxplay-probes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('host probe memo', () => {
  it('keeps answers for the same helper and forgets them when the helper changes', () => {
    const stateRoot = join(dir, 'state')
    const helper = join(dir, 'boxplay-init')
    writeFileSync(helper, 'one')
    expect(readHostProbes(stateRoot, helper)).toEqual({})
    writeHostProbes(stateRoot, { i386: false }, helper)
    writeHostProbes(stateRoot, { namespaces: true }, helper)
    expect(readHostProbes(stateRoot, helper)).toEqual({ i386: false, namespaces: true })
    writeFileSync(helper, 'two!')
    utimesSync(helper, new Date(), new Date(Date.now() + 5000))
    expect(readHostProbes(stateRoot, helper)).toEqual({})
  })

  it('keeps one memo per helper, so two installs on one host do not overwrite each other', () => {
    const stateRoot = join(dir, 'two-installs')
    const [a, b] = [join(dir, 'init-a'), join(dir, 'init-b')]
    writeFileSync(a, 'a')
    writeFileSync(b, 'bb')
    writeHostProbes(stateRoot, { i386: true }, a)
    writeHostProbes(stateRoot, { i386: false }, b)
    expect(readHostProbes(stateRoot, a)).toEqual({ i386: true })
    expect(readHostProbes(stateRoot, b)).toEqual({ i386: false })
  })

  it('ignores a memo it cannot parse', () => {
    const stateRoot = join(dir, 'broken')
    const helper = join(dir, 'init-broken')
    writeFileSync(helper, 'x')
    writeHostProbes(stateRoot, { i386: true }, helper)
    const memo = readdirSync(dir).find((n) => n.startsWith('broken.host-probes-'))
    expect(memo).toBeDefined()
    writeFileSync(join(dir, memo!), '{not json')
    expect(readHostProbes(stateRoot, helper)).toEqual({})
  })
})
