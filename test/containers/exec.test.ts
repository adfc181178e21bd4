// exec into a running native container: the command shares PID 1's namespaces and cgroups
// and is confined as PID 1 is (capabilities, no_new_privs, seccomp); -u, -w, -e, -i; exit
// codes; -t; refusals for stopped and v86 containers.

import { readFileSync, readlinkSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { Sandbox, until } from './helpers.js'

const box = new Sandbox()
afterAll(() => box.cleanup())

describe('boxplay exec (native)', () => {
  it('joins the namespaces and cgroups of PID 1', async () => {
    expect(box.run(['run', '-d', '--name', 'target', '-e', 'FROM_RUN=1', 'busybox', 'sh', '-c', 'echo marker > /tmp/m; sleep 1000']).code).toBe(0)
    const [c] = JSON.parse(box.run(['inspect', 'target']).stdout) as [{ State: { Pid: number } }]
    const pid = c.State.Pid
    expect(pid).toBeGreaterThan(0)
    await until(() => box.run(['exec', 'target', 'cat', '/tmp/m']).stdout === 'marker\n', 'PID 1 to write its file')
    const names = ['user', 'mnt', 'pid', 'uts', 'ipc', 'net', 'cgroup']
    const inside = box.run(['exec', 'target', 'sh', '-c', names.map((n) => `readlink /proc/self/ns/${n}`).join('; ')])
    expect(inside.code).toBe(0)
    expect(inside.stdout.trim().split('\n')).toEqual(names.map((n) => readlinkSync(`/proc/${pid}/ns/${n}`)))
    expect(box.run(['exec', 'target', 'hostname']).stdout).toBe(readFileSync(`/proc/${pid}/root/etc/hostname`, 'utf8'))
    // Its own pid namespace: PID 1 is the container's command, and the exec'd process is in it.
    expect(box.run(['exec', 'target', 'cat', '/proc/1/cmdline']).stdout).toBe('sleep\u00001000\u0000')
    // The same cgroups as PID 1: its own cgroup is the exec'd process's cgroup root.
    const cgroupOf = (p: number | string) => readFileSync(`/proc/${p}/cgroup`, 'utf8').split('\n').filter((l) => /:(memory|pids):/.test(l))
    expect(cgroupOf(pid).join('\n')).toContain('boxplay-')
    const status = box.run(['exec', 'target', 'sh', '-c', 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; cat /proc/self/cgroup | grep -E ":(memory|pids):"'])
    expect(status.stdout).toContain('CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n')
    expect(status.stdout).toMatch(/:memory:\/\n/) // the container's cgroup is its root
    const uid = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)![1]
    expect(Number(uid)).toBeGreaterThan(0) // container root is not host root
  })

  it('takes -u, -w, -e and -i and exits with the command\'s code', () => {
    const r = box.run(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'FOO=bar', 'target', 'sh', '-c', 'id -u; pwd; echo $FOO $FROM_RUN; exit 7'])
    expect(r).toMatchObject({ code: 7, stdout: '65534\n/tmp\nbar 1\n' })
    expect(box.run(['exec', '-i', 'target', 'sh', '-c', 'tr a-z A-Z'], { input: 'piped in\n' }).stdout).toBe('PIPED IN\n')
    const missing = box.run(['exec', 'target', 'no-such-command'])
    expect(missing.code).toBe(127)
    expect(missing.stderr).toContain('executable file not found in $PATH')
  })

  it('gives the command a new terminal with -t (and its input with -it)', () => {
    const t = box.run(['exec', '-t', 'target', 'sh', '-c', 'tty; stty size; echo $TERM'])
    expect(t.code).toBe(0)
    expect(t.stdout).toMatch(/^\/dev\/pts\/\d+\r\n24 80\r\nxterm\r\n$/)
    const it = box.run(['exec', '-it', 'target', 'sh'], { input: 'echo "in a $(tty | cut -c1-8)"\nexit 3\n' })
    expect(it.code).toBe(3)
    expect(it.stdout).toContain('in a /dev/pts')
  })

  it('refuses stopped containers and v86 containers clearly', () => {
    expect(box.run(['kill', 'target']).code).toBe(0)
    expect(box.run(['wait', 'target']).code).toBe(0)
    const stopped = box.run(['exec', 'target', 'true'])
    expect(stopped.code).toBe(1)
    expect(stopped.stderr).toMatch(/^Error: container [0-9a-f]{64} is not running\n$/)
    box.run(['run', '-d', '--name', 'vmx', '--runtime', 'v86', 'busybox', 'sleep', '1000'])
    expect(box.run(['exec', 'vmx', 'true']).stderr).toContain('exec into a v86 container is not supported yet')
  })
})
