// 50 run -d / stop / rm cycles leave nothing behind: no process, mount, cgroup or state
// directory (checked in /proc, /proc/self/mountinfo and the cgroup tree).

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Sandbox } from './helpers.js'

const box = new Sandbox()
afterAll(() => box.cleanup())

/** Processes whose command line names this sandbox's state dir, or the core's helper. */
function leftoverProcesses(): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
    } catch {
      continue
    }
    if (cmdline.includes(box.state)) found.push(`${pid}: ${cmdline}`)
  }
  return found
}

/** cgroup directories named boxplay-… anywhere under the v1 controllers and the unified tree. */
function boxplayCgroups(): Set<string> {
  const found = new Set<string>()
  const walk = (dir: string, depth: number) => {
    if (depth > 8) return
    let names: string[]
    try {
      names = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
    } catch {
      return
    }
    for (const name of names) {
      if (name.startsWith('boxplay-') && name !== 'boxplay-host') found.add(join(dir, name))
      walk(join(dir, name), depth + 1)
    }
  }
  for (const controller of ['memory', 'pids', 'cpu,cpuacct', 'unified']) walk(`/sys/fs/cgroup/${controller}`, 0)
  return found
}

const mountsOf = (needle: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(needle))

describe('run -d / stop / rm cycles', () => {
  it('leave no process, mount, cgroup or state dir after 50 cycles', () => {
    const cgroupsBefore = boxplayCgroups()
    for (let i = 0; i < 50; i++) {
      const id = box.run(['run', '-d', '--name', `cycle${i}`, 'busybox', 'sh', '-c', 'trap "exit 0" TERM; echo up > /f; while true; do sleep 0.1; done'])
      expect(id.code, id.stderr).toBe(0)
      expect(box.run(['stop', `cycle${i}`]).code).toBe(0)
      expect(box.run(['rm', `cycle${i}`]).code).toBe(0)
    }
    expect(box.run(['ps', '-a', '-q']).stdout).toBe('')
    expect(readdirSync(join(box.state, 'containers')).filter((n) => !n.startsWith('.'))).toEqual([])
    expect(readdirSync(box.state).filter((n) => n !== 'containers')).toEqual([])
    expect(leftoverProcesses()).toEqual([])
    expect(mountsOf(box.state)).toEqual([])
    const cgroupsAfter = [...boxplayCgroups()].filter((c) => !cgroupsBefore.has(c))
    expect(cgroupsAfter).toEqual([])
  }, 600_000)
})
