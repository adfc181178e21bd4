// A v86 container runs in its monitor process: detached, its log, stop, start on the files
// the VM left, and kill.

import { afterAll, describe, expect, it } from 'vitest'
import { Sandbox, until } from './helpers.js'

const box = new Sandbox()
afterAll(() => box.cleanup())

describe('v86 containers', () => {
  it('run -d boots the VM in a monitor; logs, stop (SIGTERM reaches the guest), start keeps files', async () => {
    const script = 'trap "echo stopping; exit 5" TERM; echo boot >> /runs; echo runs=$(wc -l < /runs); uname -r; while true; do sleep 0.2; done'
    const r = box.run(['run', '-d', '--name', 'vm', '--runtime', 'v86', 'busybox', 'sh', '-c', script])
    expect(r).toMatchObject({ code: 0, stderr: '' })
    await until(() => box.run(['logs', 'vm']).stdout.includes('runs=1'), 'the guest to print')
    const kernel = box.run(['logs', 'vm']).stdout.split('\n')[1]!
    expect(kernel).not.toBe(box.run(['run', '--runtime', 'native', 'busybox', 'uname', '-r']).stdout.trim())
    expect(box.run(['ps', '--format', 'json']).stdout).toContain('"Runtime":"v86"')
    expect(box.run(['stop', 'vm']).code).toBe(0)
    expect(box.run(['wait', 'vm']).stdout).toBe('5\n')
    expect(box.run(['logs', 'vm']).stdout).toMatch(/stopping\n$/)
    expect(box.run(['start', 'vm']).code).toBe(0)
    await until(() => box.run(['logs', 'vm']).stdout.includes('runs=2'), 'the second run')
    expect(box.run(['kill', 'vm']).code).toBe(0)
    expect(box.run(['wait', 'vm']).stdout).toBe('137\n')
    expect(box.run(['rm', 'vm']).code).toBe(0)
  })
})
