// cgroup limits on real workloads: a memory hog, a fork bomb, a CPU hog. Each is held or
// killed inside its container, with the reason reported, and the host goes on unaffected.

import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { RunSpec } from '../../web/runtimes/runtime.js'
import { image, tempDir, unpackBusybox } from './fixture.js'

let work: string
let base: string

beforeAll(() => {
  work = tempDir('limits')
  base = unpackBusybox(work)
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function run(cmd: string, extra: Partial<RunSpec> = {}) {
  const { image: img, runtime } = image([base])
  const r = await runtime.start({ image: img, cmd: ['sh', '-c', cmd], ...extra })
  return { run: r, ...(await collectOutput(r)) }
}

describe('native limits', () => {
  it('kills a memory hog with the OOM reason and reports the peak', async () => {
    // Doubles a shell variable until the 32 MiB limit stops it.
    const hog = 'x=0123456789abcdef; while :; do x="$x$x"; done'
    const { status, run: r } = await run(hog, { limits: { memoryBytes: 32 * 1024 * 1024, timeoutMs: 30_000 } })
    expect(status.reason).toBe('oom')
    expect(status.signal).toBe('SIGKILL')
    expect(status.code).toBe(137)
    expect(status.message).toMatch(/out of memory \(limit 32 MiB\)/)
    expect(Number(r.facts.memoryPeakBytes)).toBeGreaterThan(16 * 1024 * 1024)
    expect(Number(r.facts.memoryPeakBytes)).toBeLessThanOrEqual(32 * 1024 * 1024)
  })

  it('holds a fork bomb at the pids limit while the host keeps forking', async () => {
    const bomb = 'b() { b | b & }; b; sleep 30'
    const { image: img, runtime } = image([base])
    const r = await runtime.start({ image: img, cmd: ['sh', '-c', bomb], limits: { pids: 16, timeoutMs: 3000 } })
    const done = collectOutput(r)
    await new Promise((res) => setTimeout(res, 500))
    expect(execFileSync('sh', ['-c', 'echo host-forks']).toString()).toBe('host-forks\n')
    const { status } = await done
    expect(status.reason).toBe('timeout')
    expect(Number(r.facts.pidsLimitHits)).toBeGreaterThan(0)
    if (r.facts.pidsPeak !== undefined) expect(Number(r.facts.pidsPeak)).toBeLessThanOrEqual(16)
  })

  it('throttles a CPU hog to its share, and the timeout stops it', async () => {
    const { status, run: r } = await run('while :; do :; done', { limits: { cpus: 0.2, timeoutMs: 1500 } })
    expect(status.reason).toBe('timeout')
    expect(status.signal).toBe('SIGKILL')
    const wallMs = r.timings.find((t) => t.name === 'run')!.ms
    const cpuMs = Number(r.facts.cpuTimeMs)
    expect(cpuMs).toBeGreaterThan(0)
    // 0.2 CPUs of a ≥1.5 s run: far less than one full core's worth.
    expect(cpuMs).toBeLessThan(wallMs * 0.5)
  })

  it('leaves the host unaffected: a plain run works right after', async () => {
    const { stdout, status } = await run('echo still-fine')
    expect(status).toEqual({ code: 0, reason: 'exited' })
    expect(stdout).toBe('still-fine\n')
  })

  it('reports CPU time and memory peak for an ordinary run', async () => {
    const { run: r } = await run('i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done')
    expect(Number(r.facts.cpuTimeMs)).toBeGreaterThan(0)
    expect(Number(r.facts.memoryPeakBytes)).toBeGreaterThan(0)
  })
})
