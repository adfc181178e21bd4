// Cleanup, always: many runs (some killed mid-way, some timed out, some failing) leave no
// mount, cgroup, process or directory behind; and when the server itself is SIGKILLed
// mid-run, the next start sweeps up what it left.

import { spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NativeRuntime } from '../../server/native/index.js'
import { loadCore } from '../../server/native/core.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { Run } from '../../web/runtimes/runtime.js'
import { image, tempDir, unpackBusybox } from './fixture.js'

let work: string
let base: string
let stateRoot: string

beforeAll(() => {
  work = tempDir('lifecycle')
  base = unpackBusybox(work)
  stateRoot = join(work, 'state')
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Every cgroup directory a run with this container id could have made. */
function cgroupDirs(id: string): string[] {
  const out: string[] = []
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, ctrls, path] = line.split(':') as [string, string, string]
    for (const ctrl of ctrls === '' ? ['unified', ''] : ctrls.split(',')) {
      out.push(join('/sys/fs/cgroup', ctrl, path, `boxplay-${id}`))
    }
  }
  return out
}

/** Running (not gone, not a zombie waiting for a reaper). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

function helperChildren(): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (stat.includes('(boxplay-init)') && Number(fields[1]) === process.pid) pids.push(Number(name))
    } catch {
      // gone while we looked
    }
  }
  return pids
}

function leftovers(runs: Run[]): string[] {
  const left: string[] = []
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')
  if (mountinfo.includes(stateRoot) || mountinfo.includes('boxplay')) left.push('a mount in the host namespace')
  for (const r of runs) {
    const id = String(r.facts.containerId)
    for (const d of cgroupDirs(id)) if (existsSync(d)) left.push(`cgroup ${d}`)
    const pid = Number(r.facts.pid1)
    if (pid > 0 && alive(pid)) {
      const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      if (cg.includes(`boxplay-${id}`)) left.push(`process ${pid} of ${id}`)
    }
  }
  if (existsSync(stateRoot) && readdirSync(stateRoot).length > 0) left.push(`run dirs: ${readdirSync(stateRoot).join(', ')}`)
  if (helperChildren().length > 0) left.push(`boxplay-init processes ${helperChildren().join(', ')}`)
  return left
}

describe('native cleanup', () => {
  it('200 runs, some killed mid-way, timed out or failing, leave nothing behind', async () => {
    const { image: img } = image([base])
    const runtime = new NativeRuntime({ layerDirs: async () => [base], stateRoot })
    const runs: Run[] = []
    const statuses: string[] = []
    let next = 0
    const worker = async () => {
      while (next < 200) {
        const i = next++
        const kind = i % 10
        if (kind === 3) {
          // killed mid-way, at a moment that varies from "still setting up" to "running"
          const r = await runtime.start({ image: img, cmd: ['sleep', '30'] })
          runs.push(r)
          setTimeout(() => r.kill(), i % 7)
          statuses.push((await r.exit).reason)
        } else if (kind === 6) {
          const r = await runtime.start({ image: img, cmd: ['sh', '-c', 'sleep 30 & sleep 30'], limits: { timeoutMs: 20 + (i % 5) * 10 } })
          runs.push(r)
          statuses.push((await r.exit).reason)
        } else if (kind === 8) {
          // fails at exec, or (every other time) in the middle of building the rootfs
          const broken = i % 20 === 8 ? { mounts: [{ hostPath: join(work, 'no-such-dir'), guestPath: '/data' }] } : {}
          const r = await runtime.start({ image: img, cmd: ['/no/such/thing'], ...broken })
          runs.push(r)
          statuses.push((await r.exit).reason)
        } else {
          const r = await runtime.start({ image: img, cmd: ['sh', '-c', `echo run-${i} > /tmp/x; cat /tmp/x`], limits: { memoryBytes: 64 << 20, pids: 32 } })
          runs.push(r)
          const { stdout, status } = await collectOutput(r)
          expect(stdout).toBe(`run-${i}\n`)
          statuses.push(status.reason)
        }
      }
    }
    await Promise.all(Array.from({ length: 6 }, worker))
    expect(runs).toHaveLength(200)
    expect(statuses.filter((s) => s === 'exited'), statuses.join(' ')).toHaveLength(140)
    expect(statuses.filter((s) => s === 'killed' || s === 'error').length).toBeGreaterThanOrEqual(40)
    expect(statuses.filter((s) => s === 'timeout')).toHaveLength(20)
    expect(runs.every((r) => r.facts.cleanupError === undefined)).toBe(true)
    expect(leftovers(runs)).toEqual([])
  }, 120_000)

  it('sweeps what a SIGKILLed server left behind on the next start', async () => {
    const { helper } = loadCore()
    const script = join(work, 'server.mjs')
    // A stand-in "server": starts one container through the addon and waits to be killed.
    writeFileSync(
      script,
      `import { createRequire } from 'node:module'
const core = createRequire(import.meta.url)(process.argv[2])
const spec = { id: 'crashed', ownerPid: process.pid, stateRoot: process.argv[4], lowerDirs: [process.argv[5]],
  argv: ['sleep', '300'], env: ['PATH=/bin'], cwd: '/', user: '', hostname: 'doomed', tty: false,
  limits: { memoryBytes: 33554432 }, rlimits: [], seccomp: true, mounts: [] }
core.spawn(process.argv[3], JSON.stringify(spec), 0, 0, false, (kind, data) => {
  if (kind === 'event') process.stdout.write(String(data) + '\\n')
})
`,
    )
    const addon = join(helper, '..', 'boxplay-core.linux-x64-gnu.node')
    const server = spawn(process.execPath, [script, addon, helper, stateRoot, base], { stdio: ['ignore', 'pipe', 'inherit'] })
    const started = await new Promise<{ hostPid: number; cgroup: string }>((resolve, reject) => {
      let text = ''
      server.stdout.on('data', (d: Buffer) => {
        text += d.toString()
        const line = text.split('\n').find((l) => l.includes('"started"'))
        if (line) resolve(JSON.parse(line) as { hostPid: number; cgroup: string })
      })
      server.on('exit', () => reject(new Error(`the stand-in server exited early: ${text}`)))
    })
    const status = readFileSync(`/proc/${started.hostPid}/status`, 'utf8')
    const helperPid = Number(/^PPid:\s+(\d+)/m.exec(status)![1])
    // Freeze the helper so it cannot clean up, then kill everything as a crash would.
    process.kill(helperPid, 'SIGSTOP')
    server.kill('SIGKILL')
    await new Promise((r) => server.once('exit', r))
    process.kill(helperPid, 'SIGKILL')
    while (alive(started.hostPid) || alive(helperPid)) await new Promise((r) => setTimeout(r, 10))

    const runDir = readdirSync(stateRoot).find((n) => n.endsWith('-crashed'))
    expect(runDir).toBeDefined() // the crash left its run dir …
    expect(existsSync(started.cgroup)).toBe(true) // … and its cgroup

    const runtime = new NativeRuntime({ layerDirs: async () => [base], stateRoot })
    const swept = runtime.sweep()
    expect(swept).toEqual({ removed: [runDir], failed: [] })
    expect(existsSync(started.cgroup)).toBe(false)
    expect(readdirSync(stateRoot)).toEqual([])
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toMatch(/crashed/)
  }, 60_000)
})
