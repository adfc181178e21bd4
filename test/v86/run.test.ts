// The v86 runtime in Node, for real: the boxplay kernel boots (or resumes) in v86, init
// mounts the image over 9p and runs the command. Runs share one asset adapter; states the
// runs save land in a temp dir.

import { describe, expect, test } from 'vitest'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { OutputChunk } from '../../web/runtimes/runtime.js'
import { bundled, run, runtime } from './helpers.js'

const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** Resolves once the run's stdout contains `needle`. */
function waitForOutput(r: { onOutput(l: (c: OutputChunk) => void): () => void }, needle: string): Promise<string> {
  return new Promise((resolve) => {
    let seen = ''
    r.onOutput((c) => {
      seen += text(c.data)
      if (seen.includes(needle)) resolve(seen)
    })
  })
}

describe('v86 runtime (Node)', () => {
  test('runs argv through the image, separates stdout and stderr, reports a non-zero exit code', async () => {
    const r = await run({ cmd: ['sh', '-c', 'echo "args: $0 $1"; echo oops >&2; exit 7', 'one', 'two'] })
    expect(r.stdout).toBe('args: one two\n')
    expect(r.stderr).toBe('oops\n')
    expect(r.status).toEqual({ code: 7, reason: 'exited' })
  })

  test('the guest runs its own i686 kernel, the one boxplay built', async () => {
    const r = await run({ cmd: ['uname', '-r', '-m'] })
    expect(r.status.code).toBe(0)
    expect(r.stdout.trim()).toMatch(/^6\.1\.\d+ i686$/)
    expect(r.run.facts.kernel).toBe(r.stdout.trim().split(' ')[0])
  })

  test('applies env, cwd (created when missing), hostname and the image config', async () => {
    const r = await run({
      cmd: ['sh', '-c', 'echo "$GREETING $PATH"; pwd; hostname; echo "home=$HOME"'],
      env: ['GREETING=hi'],
      cwd: '/work/here',
      hostname: 'vmbox',
    })
    expect(r.status.code).toBe(0)
    const [env, pwd, host, home] = r.stdout.trim().split('\n')
    expect(env).toMatch(/^hi \/usr\/local\/sbin:/)
    expect(pwd).toBe('/work/here')
    expect(host).toBe('vmbox')
    expect(home).toBe('home=/root')
  })

  test('switches to a user by name, from the image\'s /etc/passwd', async () => {
    const r = await run({ cmd: ['id'], user: 'nobody' })
    expect(r.stdout.trim()).toBe('uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)')
    const numeric = await run({ cmd: ['id', '-u'], user: '1234:65534' })
    expect(numeric.stdout.trim()).toBe('1234')
    const named = await run({ cmd: ['id'], user: 'nobody:root' })
    expect(named.stdout.trim()).toBe('uid=65534(nobody) gid=0(root) groups=0(root)')
  })

  test('an unknown user is an error that says what is wrong', async () => {
    const r = await run({ cmd: ['id'], user: 'nosuchuser' })
    expect(r.status.reason).toBe('error')
    expect(r.status.message).toMatch(/unable to find user nosuchuser/)
  })

  test('a missing command exits 127 with a message', async () => {
    const r = await run({ cmd: ['/no/such/program'] })
    expect(r.status.code).toBe(127)
    expect(r.stderr).toMatch(/cannot run \/no\/such\/program: No such file or directory/)
  })

  test('pipes stdin to the command until it is closed', async () => {
    const image = await bundled('busybox')
    const r = await runtime.start({ image, cmd: ['sh', '-c', 'wc -l; echo done'], stdin: true })
    const out = collectOutput(r)
    r.write('one\ntwo\n')
    r.write(new TextEncoder().encode('three\n'))
    r.closeStdin()
    const { stdout, status } = await out
    expect(stdout.trim().split('\n')).toEqual(['3', 'done'])
    expect(status.code).toBe(0)
  })

  test('large stdin arrives intact (flow-controlled, nothing dropped by the guest tty)', async () => {
    const image = await bundled('busybox')
    const data = new Uint8Array(600_000)
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251
    const r = await runtime.start({ image, cmd: ['sha256sum'], stdin: true })
    const out = collectOutput(r)
    for (let at = 0; at < data.length; at += 100_000) r.write(data.subarray(at, at + 100_000))
    r.closeStdin()
    const { stdout, status } = await out
    const { createHash } = await import('node:crypto')
    expect(stdout.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'))
    expect(status.code).toBe(0)
  })

  test('without stdin the command reads EOF at once', async () => {
    const r = await run({ cmd: ['sh', '-c', 'cat; echo "eof:$?"'] })
    expect(r.stdout).toBe('eof:0\n')
  })

  test('the host reads back what the guest wrote; the next run starts from the image again', async () => {
    const r = await run({
      cmd: ['sh', '-c', 'mkdir -p /data && echo written > /data/note && ln -s note /data/link && rm /etc/group && chmod 600 /data/note'],
    })
    expect(r.status.code).toBe(0)
    const files = await r.run.files()
    const note = files.get('/data/note')
    expect(note.kind).toBe('file')
    if (note.kind !== 'file' || !(note.data instanceof Uint8Array)) throw new Error('expected written bytes')
    expect(text(note.data)).toBe('written\n')
    expect(note.mode).toBe(0o600)
    const link = files.get('/data/link', false)
    expect(link.kind === 'symlink' && link.target).toBe('note')
    expect(files.lookup('/etc/group')).toBeUndefined()
    expect(files.lookup('/etc/passwd')?.kind).toBe('file')

    const again = await run({ cmd: ['sh', '-c', 'cat /data/note; cat /etc/group'] })
    expect(again.stderr).toMatch(/can't open '\/data\/note'/)
    expect(again.stdout).toBe('root:x:0:\nnogroup:x:65534:\n')
  })

  test('boots cold when asked, and resumes from the saved state otherwise', async () => {
    const cold = await run({ cmd: ['echo', 'cold'], options: { cold: true } })
    expect(cold.stdout).toBe('cold\n')
    expect(cold.run.facts.boot).toBe('cold')
    expect(cold.run.timings.map((p) => p.name)).toEqual(['load', 'emulator', 'bios', 'kernel', 'init', 'command'])

    const warm = await run({ cmd: ['echo', 'warm'] })
    expect(warm.stdout).toBe('warm\n')
    expect(warm.run.facts.boot).toBe('restored')
    expect(warm.run.timings.map((p) => p.name)).toEqual(['load', 'restore', 'init', 'command'])
  })

  test('kill() ends a running command: SIGKILL and SIGTERM', async () => {
    const image = await bundled('busybox')
    for (const [signal, code] of [['SIGKILL', 137], ['SIGTERM', 143]] as const) {
      const r = await runtime.start({ image, cmd: ['sh', '-c', 'echo started; exec sleep 600'] })
      const out = collectOutput(r)
      await waitForOutput(r, 'started')
      r.kill(signal)
      const { status } = await out
      expect(status).toEqual({ code, signal, reason: 'killed' })
    }
  })

  test('a kill that lands while the guest waits on 9p ends the run at once (kernel patch: no 9p flush)', async () => {
    const image = await bundled('busybox')
    // Right after "started" the shell is exec'ing sleep: PATH lookups and page-ins over 9p.
    // Unpatched, a kill there made the guest flush a request v86 answered late, and the
    // guest kernel oopsed (about one run in six): the host then waited 3 s and pulled the plug.
    for (let i = 0; i < 12; i++) {
      const r = await runtime.start({ image, cmd: ['sh', '-c', 'echo started; exec sleep 600'] })
      const out = collectOutput(r)
      await waitForOutput(r, 'started')
      r.kill('SIGKILL')
      const { status } = await out
      expect(status).toEqual({ code: 137, signal: 'SIGKILL', reason: 'killed' })
    }
  })

  test('kill() before the command has started stops the VM and says so', async () => {
    const image = await bundled('busybox')
    const r = await runtime.start({ image, cmd: ['sleep', '600'] })
    r.kill()
    const status = await r.exit
    expect(status).toMatchObject({ code: 137, signal: 'SIGKILL', reason: 'killed' })
    expect(status.message).toMatch(/before the command started/)
  })

  test('a timeout stops the VM', async () => {
    const r = await run({ cmd: ['sleep', '600'], limits: { timeoutMs: 3000 } })
    expect(r.status.reason).toBe('timeout')
    expect(r.status.code).toBe(137)
  })

  test('tty mode: a terminal of the given size, resize, and Ctrl-C reaching the foreground process', async () => {
    const image = await bundled('busybox')
    const r = await runtime.start({
      image,
      cmd: ['sh', '-c', 'stty size; echo ready; read line; stty size; echo "got $line"; exec sleep 600'],
      tty: { cols: 100, rows: 30 },
      stdin: true,
    })
    const out = collectOutput(r)
    await waitForOutput(r, 'ready')
    r.resize(120, 40)
    r.write('hello\r')
    await waitForOutput(r, 'got hello')
    r.write('\x03')
    const { stdout, status } = await out
    expect(stdout).toContain('30 100\r\nready\r\n')
    expect(stdout).toContain('40 120\r\ngot hello\r\n')
    expect(status).toEqual({ code: 130, signal: 'SIGINT', reason: 'signaled' })
  })

  test('the hello image (no shell in it) runs its entrypoint', async () => {
    const r = await run({ image: 'hello', cmd: ['--facts', 'extra-arg'] })
    expect(r.status.code).toBe(0)
    expect(r.stdout).toMatch(/linux\/386/)
    expect(r.stdout).toMatch(/extra-arg/)
    const wrote = await run({ image: 'hello', cmd: ['--write', '/out.txt', 'from hello', '--read', '/out.txt', '--exit', '4'] })
    expect(wrote.stdout).toContain('from hello\n')
    expect(wrote.status.code).toBe(4)
    const file = (await wrote.run.files()).get('/out.txt')
    expect(file.kind === 'file' && file.data instanceof Uint8Array && text(file.data)).toBe('from hello\n')
  })

  test('refuses images for other platforms with a clear error', async () => {
    const image = await bundled('busybox')
    await expect(runtime.start({ ...{ image: { ...image, platform: { os: 'wasi', architecture: 'wasm' } } }, cmd: ['true'] })).rejects.toThrow(
      /runs linux\/386 images/,
    )
  })
})

describe('v86 tty details', () => {
  test('an interactive busybox shell: prompt queries are filtered, commands run, exit code comes back', async () => {
    const image = await bundled('busybox')
    const r = await runtime.start({ image, cmd: ['sh'], tty: { cols: 80, rows: 24 }, stdin: true })
    const out = collectOutput(r)
    r.write('echo $((6*7))\r')
    await waitForOutput(r, '42')
    r.write('exit 3\r')
    const { stdout, status } = await out
    expect(stdout).toContain('42\r\n')
    expect(stdout).not.toContain('\x1b[6n')
    expect(status).toEqual({ code: 3, reason: 'exited' })
  })
})
