// keepChanges must not let a container fill the host's disk: as root its writes still go to
// a tmpfs of scratchBytes (in the helper's own mount namespace, never the host's), and only
// a capped copy of them lands in the run dir after exit.

import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NativeRuntime, type NativeOptions } from '../../server/native/index.js'
import type { NativeRun } from '../../server/native/run.js'
import { fileSize, readFile } from '../../web/oci/rootfs.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { image, tempDir, unpackBusybox } from './fixture.js'

const MiB = 1 << 20
let work: string
let base: string
let stateRoot: string

beforeAll(() => {
  work = tempDir('kept-bounded')
  base = unpackBusybox(work)
  stateRoot = join(work, 'state')
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function run(script: string, options: NativeOptions): Promise<{ run: NativeRun; stdout: string; stderr: string; code: number }> {
  const rt = new NativeRuntime({ layerDirs: async () => [base], stateRoot })
  const r = (await rt.start({ image: image([base]).image, cmd: ['sh', '-c', script], options: { ...options } })) as NativeRun
  const { stdout, stderr, status } = await collectOutput(r)
  return { run: r, stdout, stderr, code: status.code }
}

/** Mount points (field 5 of mountinfo) under the test's state root, as the host sees them. */
function hostMountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(dir))
}

function keptDir(r: NativeRun): string {
  const [name] = readdirSync(stateRoot).filter((n) => n.includes(r.facts.containerId as string))
  if (!name) throw new Error(`no kept run dir for ${String(r.facts.containerId)} in ${stateRoot}`)
  return join(stateRoot, name)
}

describe.runIf(process.getuid?.() === 0)('kept changes stay bounded (root)', () => {
  it('a write past scratchBytes gets ENOSPC in the container, and nothing stays mounted on the host', async () => {
    const script = 'echo before > /before.txt; dd if=/dev/zero of=/big bs=1M count=64; echo "dd=$?"'
    const { run: r, stdout, stderr, code } = await run(script, { keepChanges: true, scratchBytes: 16 * MiB })
    expect(code).toBe(0)
    expect(stderr).toMatch(/No space left on device/)
    expect(stdout).toMatch(/dd=1/)
    expect(hostMountsUnder(stateRoot)).toEqual([])

    // What fit is kept: the small file with its bytes, the big one cut short by the tmpfs.
    const dir = keptDir(r)
    expect(readdirSync(dir).sort()).toEqual(['opaque', 'state.json', 'upper'])
    expect(statSync(join(dir, 'upper', 'big')).size).toBeLessThanOrEqual(16 * MiB)
    const files = await r.files()
    const before = files.lookup('/before.txt')
    expect(before?.kind).toBe('file')
    if (before?.kind === 'file') expect(new TextDecoder().decode(await readFile(before))).toBe('before\n')
    expect(readdirSync(stateRoot).filter((n) => n.includes(r.facts.containerId as string))).toHaveLength(0)
  })

  it('the scratch tmpfs is never in the host mount table, not even while the container runs', async () => {
    const rt = new NativeRuntime({ layerDirs: async () => [base], stateRoot })
    const r = (await rt.start({ image: image([base]).image, cmd: ['sh', '-c', 'echo x > /x && echo ready && sleep 30'], options: { keepChanges: true } })) as NativeRun
    const ready = new Promise<void>((resolve) => r.onOutput((c) => new TextDecoder().decode(c.data).includes('ready') && resolve()))
    await ready
    // The container sees its writable layer on a tmpfs; the host sees no mount under the run dir.
    expect(readdirSync(keptDir(r))).toContain('scratch')
    expect(hostMountsUnder(stateRoot)).toEqual([])
    r.kill()
    await r.exit
    expect(hostMountsUnder(stateRoot)).toEqual([])
    expect(readFileSync(join(keptDir(r), 'upper', 'x'), 'utf8')).toBe('x\n')
    r.discard()
  })

  it('copies at most 64 MiB of file bytes out: a bigger file keeps its size, not its bytes', async () => {
    const script = 'dd if=/dev/zero of=/big bs=1M count=70 2>/dev/null && echo hi > /small.txt && mkdir /d && echo x > /d/f && rm /etc/group'
    const { run: r, code, stderr } = await run(script, { keepChanges: true, scratchBytes: 128 * MiB })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(hostMountsUnder(stateRoot)).toEqual([])

    const dir = keptDir(r)
    const big = statSync(join(dir, 'upper', 'big'))
    expect(big.size).toBe(70 * MiB)
    // Sparse on the host: its size is recorded without the disk blocks behind it.
    expect(big.blocks * 512).toBeLessThan(MiB)
    expect(readFileSync(join(dir, 'upper', 'small.txt'), 'utf8')).toBe('hi\n')
    const whiteout = statSync(join(dir, 'upper', 'etc', 'group'))
    expect(whiteout.isCharacterDevice() && whiteout.rdev).toBe(0)

    const files = await r.files()
    expect(files.lookup('/etc/group')).toBeUndefined()
    expect(files.lookup('/d/f')?.kind).toBe('file')
    const bigNode = files.lookup('/big')
    expect(bigNode?.kind === 'file' && fileSize(bigNode.data)).toBe(70 * MiB)
  })
})
