// Detached and named native containers through the CLI, with Docker's output and exit
// codes: run -d, ps, logs, stop, kill, wait, rm, inspect, start, a name in use, a missing
// container. Real containers (the Rust core, as root here).

import { afterAll, describe, expect, it } from 'vitest'
import { Sandbox, until } from './helpers.js'

const box = new Sandbox()
afterAll(() => box.cleanup())

// PID 1 ignores SIGTERM without a handler: these containers have one, so stop is prompt.
const SERVICE = ['sh', '-c', 'trap "echo bye; exit 3" TERM; echo hello; echo oops >&2; while true; do sleep 0.1; done']

describe('boxplay run -d and the verbs on it (native)', () => {
  let id = ''

  it('run -d prints the full id and returns once the container runs', () => {
    const r = box.run(['run', '-d', '--name', 'svc', '--runtime', 'native', 'busybox', ...SERVICE])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    id = r.stdout.trim()
    expect(id).toMatch(/^[0-9a-f]{64}$/)
  })

  it('ps shows it with Docker\'s columns; -q, --no-trunc and --format json too', () => {
    const r = box.run(['ps'])
    const [header, row] = r.stdout.trimEnd().split('\n')
    expect(header).toMatch(/^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/)
    expect(row).toContain(id.slice(0, 12))
    expect(row).toMatch(/busybox +"sh -c trap "echo by…" +.* ago +Up .* +svc$/)
    expect(box.run(['ps', '-q']).stdout).toBe(`${id.slice(0, 12)}\n`)
    expect(box.run(['ps', '-q', '--no-trunc']).stdout).toBe(`${id}\n`)
    expect(box.run(['ps', '-aq']).stdout).toBe(box.run(['ps', '-a', '-q']).stdout) // short flags bundle, as Docker's
    const json = JSON.parse(box.run(['ps', '--format', 'json']).stdout) as Record<string, string>
    expect(json).toMatchObject({ ID: id.slice(0, 12), Names: 'svc', Image: 'busybox', State: 'running', Runtime: 'native' })
  })

  it('logs gives stdout and stderr apart, with -t timestamps and --tail', async () => {
    await until(() => box.run(['logs', 'svc']).stdout === 'hello\n', 'the first output')
    const r = box.run(['logs', 'svc'])
    expect(r.stdout).toBe('hello\n')
    expect(r.stderr).toBe('oops\n')
    expect(box.run(['logs', '-t', 'svc']).stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello\n$/)
    expect(box.run(['logs', '--tail', '0', 'svc']).stdout).toBe('')
  })

  it('inspect shows the container as docker inspect does (before the image of that name)', () => {
    const [c] = JSON.parse(box.run(['inspect', 'svc']).stdout) as [{ Id: string; Name: string; State: { Status: string; Running: boolean }; Config: { Image: string } }]
    expect(c).toMatchObject({ Id: id, Name: '/svc', State: { Status: 'running', Running: true }, Config: { Image: 'busybox' } })
    expect(box.run(['inspect', id.slice(0, 8)]).stdout).toContain(`"Id": "${id}"`)
    expect(box.run(['inspect', 'busybox']).stdout).toContain('Name:       busybox:latest')
  })

  it('a name in use is refused with 125 and Docker\'s message', () => {
    const r = box.run(['run', '-d', '--name', 'svc', 'busybox', 'true'])
    expect(r.code).toBe(125)
    expect(r.stderr).toContain(`Conflict. The container name "/svc" is already in use by container "${id}"`)
    expect(box.run(['run', '-d', '--name', '-bad', 'busybox', 'true']).code).toBe(125)
  })

  it('a running container is not removed without -f', () => {
    const r = box.run(['rm', 'svc'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cannot remove container "/svc": container is running')
  })

  it('logs -f follows until the container stops; stop sends SIGTERM; wait prints the code', async () => {
    const follow = box.start(['logs', '-f', 'svc'])
    const waiting = box.start(['wait', 'svc'])
    const stop = box.run(['stop', 'svc'])
    expect(stop).toMatchObject({ code: 0, stdout: 'svc\n' })
    expect((await follow.done).stdout).toBe('hello\nbye\n')
    expect(await waiting.done).toMatchObject({ code: 0, stdout: '3\n' })
    expect(box.run(['ps', '-a']).stdout).toMatch(/Exited \(3\) .* ago +svc\n/)
    expect(box.run(['ps', '-q']).stdout).toBe('')
  })

  it('start runs it again on the same files; start -a exits with its code', () => {
    expect(box.run(['run', '--name', 'keep', 'busybox', 'sh', '-c', 'echo run >> /count; wc -l < /count; exit 4']).code).toBe(4)
    const again = box.run(['start', '-a', 'keep'])
    expect(again).toMatchObject({ code: 4, stdout: '2\n' })
    expect(box.run(['start', 'keep']).stdout).toBe('keep\n')
    expect(box.run(['wait', 'keep']).stdout).toBe('4\n')
    expect(box.run(['logs', 'keep']).stdout).toBe('1\n2\n3\n')
    expect(box.run(['inspect', 'keep']).stdout).toContain('"Runs": 3')
  })

  it('two starts at once run the container once', async () => {
    const id = box.run(['run', '-d', '--name', 'once', 'busybox', 'sleep', '1000']).stdout.trim()
    expect(box.run(['kill', 'once']).code).toBe(0)
    expect(box.run(['wait', 'once']).stdout).toBe('137\n')
    const [a, b] = await Promise.all([box.start(['start', 'once']).done, box.start(['start', 'once']).done])
    // One started it; the other found it running (0), or lost the race to claim it (125).
    expect([a.code, b.code].sort()).toEqual(a.code === 0 && b.code === 0 ? [0, 0] : [0, 125])
    if (a.code !== 0 || b.code !== 0) expect(a.stderr + b.stderr).toContain('container once is already running')
    const { readdirSync, readFileSync } = await import('node:fs')
    const monitors = () =>
      readdirSync('/proc').filter((p) => {
        try {
          return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`monitor-main.js\u0000${box.state}/containers/${id}`)
        } catch {
          return false // gone meanwhile, or a zombie (empty cmdline)
        }
      })
    // A monitor that lost the claim says so and leaves: wait for it to be gone.
    await until(() => monitors().length <= 1, 'the losing monitor to leave')
    expect(monitors()).toHaveLength(1)
    expect(box.run(['inspect', 'once']).stdout).toContain('"Runs": 2')
    expect(box.run(['rm', '-f', 'once']).code).toBe(0)
  })

  it('stop -t gives up on a process that ignores SIGTERM and kills it (137); kill -s sends a signal', () => {
    box.run(['run', '-d', '--name', 'stubborn', 'busybox', 'sleep', '1000'])
    expect(box.run(['stop', '-t', '1', 'stubborn']).code).toBe(0)
    expect(box.run(['wait', 'stubborn']).stdout).toBe('137\n')
    box.run(['start', 'svc'])
    expect(box.run(['kill', '-s', 'TERM', 'svc'])).toMatchObject({ code: 0, stdout: 'svc\n' })
    expect(box.run(['wait', 'svc']).stdout).toBe('3\n')
    expect(box.run(['kill', 'svc']).code).toBe(1)
  })

  it('a missing container: "Error: No such container: x" and 1, the others still done', () => {
    for (const verb of [['logs'], ['stop'], ['kill'], ['wait'], ['start'], ['diff'], ['inspect']]) {
      const r = box.run([...verb, 'nothere'])
      if (verb[0] === 'inspect') {
        expect(r.code).toBe(125) // neither a container nor an image
        continue
      }
      expect(r.code).toBe(1)
      expect(r.stderr).toBe('Error: No such container: nothere\n')
    }
    const r = box.run(['rm', 'nothere', 'stubborn'])
    expect(r).toMatchObject({ code: 1, stdout: 'stubborn\n', stderr: 'Error: No such container: nothere\n' })
  })

  it('--rm removes the container when it exits; rm -f removes a running one', async () => {
    const fg = box.run(['run', '--rm', '--name', 'gone', 'busybox', 'echo', 'hi'])
    expect(fg).toMatchObject({ code: 0, stdout: 'hi\n' })
    expect(box.run(['ps', '-a']).stdout).not.toContain('gone')
    const bg = box.run(['run', '-d', '--rm', 'busybox', 'true']).stdout.trim()
    await until(() => !box.run(['ps', '-a', '-q', '--no-trunc']).stdout.includes(bg), 'the --rm container to go')
    box.run(['start', 'svc'])
    expect(box.run(['rm', '-f', 'svc'])).toMatchObject({ code: 0, stdout: 'svc\n' })
    expect(box.run(['ps', '-a']).stdout).not.toContain('svc')
  })

  it('a monitor killed outright takes its container with it, and the record says so', async () => {
    box.run(['run', '-d', '--name', 'orphan', 'busybox', 'sleep', '1000'])
    const state = JSON.parse((await import('node:fs')).readFileSync(`${box.state}/containers/${JSON.parse(box.run(['inspect', 'orphan']).stdout)[0].Id}/state.json`, 'utf8')) as { monitorPid: number; pid: number }
    process.kill(state.monitorPid, 'SIGKILL')
    await until(() => {
      try {
        process.kill(state.pid, 0)
        return false
      } catch {
        return true
      }
    }, 'the container to die with its monitor')
    expect(box.run(['ps', '-a']).stdout).toMatch(/Exited \(137\) .* orphan\n/)
    const [c] = JSON.parse(box.run(['inspect', 'orphan']).stdout) as [{ State: { Error: string; Running: boolean } }]
    expect(c.State).toMatchObject({ Running: false, Error: expect.stringContaining('monitor process ended') })
    // It starts again (the killed monitor's socket file is no obstacle).
    expect(box.run(['start', 'orphan'])).toMatchObject({ code: 0, stdout: 'orphan\n' })
    expect(box.run(['ps']).stdout).toMatch(/Up .* orphan\n/)
    expect(box.run(['rm', '-f', 'orphan']).code).toBe(0)
  })

  it('a random Docker-like name when none is given; a broken record is skipped with a warning', async () => {
    const id2 = box.run(['run', '-d', 'busybox', 'true']).stdout.trim()
    const [c] = JSON.parse(box.run(['inspect', id2]).stdout) as [{ Name: string }]
    expect(c.Name).toMatch(/^\/[a-z]+_[a-z]+\d*$/)
    const { mkdirSync, writeFileSync } = await import('node:fs')
    const broken = `${box.state}/containers/${'f'.repeat(64)}`
    mkdirSync(broken)
    writeFileSync(`${broken}/config.json`, '{not json')
    writeFileSync(`${broken}/state.json`, '{}')
    const r = box.run(['ps', '-a'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('keep')
    expect(r.stderr).toContain(`skipping container ffffffffffff: ${broken}/config.json is not valid JSON`)
  })
})
