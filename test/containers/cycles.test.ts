// 50 run -d / stop / rm cycles leave nothing behind: no process, mount, cgroup or state
// directory (checked in /proc, /proc/self/mountinfo and each container's cgroups in the
// cgroup tree: only this file's, since other engineers' containers come and go meanwhile).

import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Sandbox, until } from './helpers.js'

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

/** The host cgroup directories of a running container's PID 1 (its pid from state.json). */
function cgroupsOf(name: string): string[] {
  const dir = readdirSync(join(box.state, 'containers')).map((id) => join(box.state, 'containers', id)).find((d) => {
    try {
      return (JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as { name: string }).name === name
    } catch {
      return false
    }
  })
  if (!dir) throw new Error(`no record for ${name}`)
  const { pid } = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { pid: number }
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .filter(([, controllers, path]) => controllers && !controllers.startsWith('name=') && path?.includes('boxplay-'))
    .map(([, controllers, path]) => `/sys/fs/cgroup/${controllers}${path}`)
}

const mountsOf = (needle: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(needle))

describe('run -d / stop / rm cycles', () => {
  it('leave no process, mount, cgroup or state dir after 50 cycles', async () => {
    const cgroups: string[] = []
    for (let i = 0; i < 50; i++) {
      const id = box.run(['run', '-d', '--name', `cycle${i}`, 'busybox', 'sh', '-c', 'trap "exit 0" TERM; echo up > /f; while true; do sleep 0.1; done'])
      expect(id.code, id.stderr).toBe(0)
      cgroups.push(...cgroupsOf(`cycle${i}`))
      expect(box.run(['stop', `cycle${i}`]).code).toBe(0)
      expect(box.run(['rm', `cycle${i}`]).code).toBe(0)
    }
    expect(box.run(['ps', '-a', '-q']).stdout).toBe('')
    expect(readdirSync(join(box.state, 'containers')).filter((n) => n !== '.lock')).toEqual([])
    expect(readdirSync(box.state).filter((n) => n !== 'containers')).toEqual([])
    expect(leftoverProcesses()).toEqual([])
    expect(mountsOf(box.state)).toEqual([])
    expect(cgroups.length).toBeGreaterThanOrEqual(50) // memory and pids at least, as root
    // The core removes a container's cgroups before it reports the exit; a loaded machine
    // may take a moment more to let the last one go, so allow a bounded wait, not a leak.
    await until(() => cgroups.every((c) => !existsSync(c)), 'the containers\' cgroups to go', 20_000).catch(() => undefined)
    expect(cgroups.filter((c) => existsSync(c))).toEqual([])
  }, 600_000)
})
