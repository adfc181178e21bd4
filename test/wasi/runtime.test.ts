// The wasi runtime end to end in Node worker threads: the bundled hello, python and lua
// images (dist/images), interactive stdin, streamed output, the cooked tty, kill, timeout,
// the memory cap, traps, copy-on-write isolation, files after exit and host directories.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from '../../web/oci/rootfs.js'
import type { OutputChunk, Run } from '../../web/runtimes/runtime.js'
import type { WasiRun } from '../../web/runtimes/wasi/wasi-run.js'
import type { WasiRuntime } from '../../web/runtimes/wasi/runtime.js'
import { conformanceTree, makeRuntime, programImage, runToEnd } from './helpers.js'
import { bundledWasiImage } from './images.js'

let runtime: WasiRuntime
beforeAll(() => {
  runtime = makeRuntime()
})
afterAll(() => runtime.close())

/** Resolves once the run's combined output contains `text`; returns all output so far. */
function waitForOutput(run: Run, text: string): Promise<string> {
  let seen = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" in output; got ${JSON.stringify(seen)}`)), 20_000)
    run.onOutput((c: OutputChunk) => {
      seen += new TextDecoder().decode(c.data)
      if (seen.includes(text)) {
        clearTimeout(timer)
        resolve(seen)
      }
    })
  })
}

describe('bundled images', () => {
  it('hello: argv from the image Entrypoint plus cmd, env from the image plus the spec, exit code', async () => {
    const image = await bundledWasiImage('hello')
    const { stdout, status } = await runToEnd(runtime, { image, cmd: ['first', 'sëcond'], env: ['FOO=bar'] })
    expect(stdout).toContain('hello from boxplay (wasi/wasm)')
    expect(stdout).toContain('argv[0]: /usr/bin/hello.wasm\nargv[1]: first\nargv[2]: sëcond\n')
    expect(stdout).toContain('env: PATH=/usr/local/sbin')
    expect(stdout).toContain('env: FOO=bar')
    expect(status).toEqual({ code: 0, reason: 'exited' })
    const exit = await runToEnd(runtime, { image, cmd: ['--stderr', 'oops', '--exit', '7'] })
    expect(exit.stderr).toBe('oops\n')
    expect(exit.status).toEqual({ code: 7, reason: 'exited' })
  })

  it('the working directory (-w) reaches the bundled programs as PWD, and they start there (python too)', async () => {
    const hello = await runToEnd(runtime, { image: await bundledWasiImage('hello'), cmd: ['--facts'], cwd: '/tmp' })
    expect(hello.stdout).toContain('cwd: /tmp\n')
    expect((await runToEnd(runtime, { image: await bundledWasiImage('hello'), cmd: ['--facts'] })).stdout).toContain('cwd: /\n')
    const python = await runToEnd(runtime, { image: await bundledWasiImage('python'), cmd: ['-c', 'import os; print(os.getcwd())'], cwd: '/tmp' })
    expect(python.stdout).toBe('/tmp\n')
    // A working directory the image lacks is made for the run, as Docker does; the image stays as it was.
    const made = await runToEnd(runtime, { image: await bundledWasiImage('hello'), cmd: ['--facts'], cwd: '/made/for/this/run' })
    expect(made.stdout).toContain('cwd: /made/for/this/run\n')
    const after = await runToEnd(runtime, { image: await bundledWasiImage('hello'), cmd: ['--read', '/made'] })
    expect(after.status.code).toBe(1)
    const dir = mkdtempSync(join(tmpdir(), 'boxplay-wasi-cwd-'))
    try {
      writeFileSync(join(dir, 'rel.lua'), 'print(io.open("data.txt"):read("a"))')
      writeFileSync(join(dir, 'data.txt'), 'read by a relative name')
      const lua = await runToEnd(runtime, { image: await bundledWasiImage('lua'), cmd: ['rel.lua'], cwd: '/work', mounts: [{ hostPath: dir, guestPath: '/work' }] })
      expect(lua.stderr).toBe('')
      expect(lua.stdout).toBe('read by a relative name\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("python: reads a program from stdin until EOF (echo 'print(6*7)' | python)", async () => {
    const image = await bundledWasiImage('python')
    const run = await runtime.start({ image, stdin: true })
    run.write('print(6*7)\n')
    run.closeStdin()
    const { collectOutput } = await import('../../web/runtimes/run-base.js')
    const { stdout, status } = await collectOutput(run)
    expect(stdout).toBe('42\n')
    expect(status.code).toBe(0)
  })

  it('python: time.sleep(0.5) sleeps, files and env work', async () => {
    const image = await bundledWasiImage('python')
    const code = [
      'import os, time',
      't = time.monotonic(); time.sleep(0.5); d = time.monotonic() - t',
      'print("slept", d >= 0.5)',
      'open("/tmp/py.txt", "w").write("from python")',
      'print(open("/tmp/py.txt").read(), os.environ["WHO"])',
      'print(sorted(os.listdir("/tmp")))',
    ].join('\n')
    const { stdout, status } = await runToEnd(runtime, { image, cmd: ['-c', code], env: ['WHO=me'] })
    expect(stdout).toBe("slept True\nfrom python me\n['py.txt']\n")
    expect(status.code).toBe(0)
  })

  it('lua: runs a script given on the command line', async () => {
    const image = await bundledWasiImage('lua')
    const { stdout, status } = await runToEnd(runtime, { image, cmd: ['-e', 'print(6*7, _VERSION)'] })
    expect(stdout).toMatch(/^42\tLua 5\.4\n$/)
    expect(status.code).toBe(0)
  })

  it('an uncaught python exception exits non-zero with the traceback on stderr', async () => {
    const image = await bundledWasiImage('python')
    const { stderr, status } = await runToEnd(runtime, { image, cmd: ['-c', 'raise SystemExit(3)'] })
    expect(status).toEqual({ code: 3, reason: 'exited' })
    const failed = await runToEnd(runtime, { image, cmd: ['-c', '1/0'] })
    expect(failed.stderr).toContain('ZeroDivisionError')
    expect(failed.status.code).toBe(1)
    expect(stderr).toBe('')
  })
})

describe('stdin and output', () => {
  it('streams output as written and blocks on stdin until input arrives', async () => {
    const run = await runtime.start({ image: await programImage('echo'), stdin: true })
    await waitForOutput(run, 'ready\n') // printed before any input: streamed, not at exit
    const got = waitForOutput(run, 'got: one\n')
    run.write('one\n')
    await got
    const got2 = waitForOutput(run, 'got: two\n')
    run.write('two\n')
    await got2
    run.closeStdin()
    const status = await run.exit
    expect(status).toEqual({ code: 2, reason: 'exited' })
  })

  it('poll on stdin times out without input and wakes on input', async () => {
    const image = await programImage('echo')
    const idle = await runtime.start({ image, cmd: ['poll'], stdin: true })
    await waitForOutput(idle, 'poll 0\n')
    idle.closeStdin()
    expect((await idle.exit).code).toBe(0)
    const fed = await runtime.start({ image, cmd: ['poll'], stdin: true })
    fed.write('x\n')
    const out = await waitForOutput(fed, 'got: x\n')
    expect(out).toContain('poll 1\n')
    fed.closeStdin()
    expect((await fed.exit).code).toBe(1)
  })

  it('stdin closed from the start reads EOF at once', async () => {
    const { stdout, stderr, status } = await runToEnd(runtime, { image: await programImage('echo') })
    expect(stdout).toBe('ready\n')
    expect(stderr).toBe('lines 0\n')
    expect(status.code).toBe(0)
  })

  it('a tty gets echo, line editing, onlcr, Ctrl-D as EOF', async () => {
    const run = await runtime.start({ image: await programImage('echo'), tty: { cols: 80, rows: 24 } })
    await waitForOutput(run, 'ready\r\n')
    const got = waitForOutput(run, 'got: hello\r\n')
    run.write('helx\x7flo\r') // a typo erased with backspace
    const out = await got
    expect(out).toContain('helx\b \blo\r\n') // the echo, with the erase
    run.write('\x04')
    expect(await run.exit).toEqual({ code: 1, reason: 'exited' })
  })

  it('python on a tty is an interactive REPL: prompt, echo, result, Ctrl-D exits', async () => {
    const run = await runtime.start({ image: await bundledWasiImage('python'), tty: { cols: 80, rows: 24 } })
    await waitForOutput(run, '>>> ')
    const answered = waitForOutput(run, '42\r\n>>> ')
    run.write('print(6*7)\r')
    const out = await answered
    expect(out).toContain('print(6*7)\r\n42\r\n>>> ') // the echo, the result, the next prompt
    run.write('\x04')
    expect(await run.exit).toMatchObject({ code: 0, reason: 'exited' })
  })

  it('Ctrl-C on a tty ends the run at once (SIGINT)', async () => {
    const run = await runtime.start({ image: await programImage('echo'), tty: { cols: 80, rows: 24 } })
    await waitForOutput(run, 'ready')
    run.write('\x03')
    expect(await run.exit).toMatchObject({ code: 130, reason: 'killed', signal: 'SIGINT' })
  })
})

describe('limits and failures', () => {
  it('kill ends a busy program at once, and the next run still works', async () => {
    const image = await programImage('limits')
    const run = await runtime.start({ image, cmd: ['spin'] })
    setTimeout(() => run.kill(), 200)
    expect(await run.exit).toMatchObject({ code: 137, reason: 'killed', signal: 'SIGKILL' })
    const next = await runToEnd(runtime, { image, cmd: ['write', '/tmp/t', 'still here'] })
    expect(next.stdout).toBe('still here\n')
  })

  it('a wall-clock timeout ends a runaway program with reason timeout', async () => {
    const image = await programImage('limits')
    const { status } = await runToEnd(runtime, { image, cmd: ['spin'], limits: { timeoutMs: 300 } })
    expect(status).toMatchObject({ code: 124, reason: 'timeout' })
    expect(status.message).toContain('300 ms')
  })

  it('a memory cap stops growth: malloc fails inside the program, reason memory', async () => {
    const image = await programImage('limits')
    const { stderr, status } = await runToEnd(runtime, { image, cmd: ['alloc'], limits: { memoryBytes: 32 * 1048576 } })
    const mib = Number(/out of memory after (\d+) MiB/.exec(stderr)?.[1])
    expect(mib).toBeGreaterThan(16)
    expect(mib).toBeLessThan(32)
    expect(status).toMatchObject({ code: 1, reason: 'memory' })
    expect(status.message).toContain('32 MiB')
    // a failure far from the cap is an ordinary exit
    const usage = await runToEnd(runtime, { image, cmd: [], limits: { memoryBytes: 32 * 1048576 } })
    expect(usage.status).toEqual({ code: 64, reason: 'exited' })
  })

  it('a module that needs more memory than the cap to start is refused with reason memory', async () => {
    const image = await bundledWasiImage('python')
    const { stderr, status } = await runToEnd(runtime, { image, cmd: ['-c', 'pass'], limits: { memoryBytes: 1048576 } })
    expect(status).toMatchObject({ code: 137, reason: 'memory' })
    expect(stderr).toContain('more than the cap of 1 MiB')
  })

  it('a trap is a clear error with exit code 134', async () => {
    const { status } = await runToEnd(runtime, { image: await programImage('limits'), cmd: ['trap'] })
    expect(status).toMatchObject({ code: 134, reason: 'trap' })
    expect(status.message).toContain('unreachable')
  })

  it('a missing program exits 127, a non-wasm program 126', async () => {
    const image = await bundledWasiImage('hello')
    const missing = await runToEnd(runtime, { image, entrypoint: ['/usr/bin/nope.wasm'] })
    expect(missing.status.code).toBe(127)
    expect(missing.stderr).toContain('not found')
    const image2 = await programImage('limits', conformanceTree())
    const notWasm = await runToEnd(runtime, { image: image2, entrypoint: ['/etc/fixed'] })
    expect(notWasm.status.code).toBe(126)
    expect(notWasm.stderr).toContain('not a WebAssembly module')
  })
})

describe('files', () => {
  it("each run writes to its own copy: the image and later runs never see another run's files", async () => {
    const image = await bundledWasiImage('hello')
    const first = await runToEnd(runtime, { image, cmd: ['--write', '/tmp/note', 'private'] })
    expect(first.status.code).toBe(0)
    const files = (first.run as WasiRun).files()!
    const note = files.lookup('/tmp/note')
    expect(note?.kind).toBe('file')
    expect(new TextDecoder().decode(await readFile(note as Parameters<typeof readFile>[0]))).toBe('private\n')
    expect(files.lookup('/usr/bin/hello.wasm')?.kind).toBe('file') // the rest of the image is there too
    const second = await runToEnd(runtime, { image, cmd: ['--read', '/tmp/note'] })
    expect(second.status.code).toBe(1)
    expect(second.stderr).toContain('/tmp/note')
  })

  it('maps a host directory read-write (--dir): reads host files, writes land on the host at exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxplay-wasi-dir-'))
    try {
      writeFileSync(join(dir, 'in.txt'), 'from the host\n')
      const image = await bundledWasiImage('hello')
      const { stdout, status } = await runToEnd(runtime, {
        image,
        cmd: ['--read', '/data/in.txt', '--write', '/data/out.txt', 'from wasi'],
        mounts: [{ hostPath: dir, guestPath: '/data' }],
      })
      expect(stdout).toBe('from the host\n')
      expect(status.code).toBe(0)
      expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('from wasi\n')
      expect(readFileSync(join(dir, 'in.txt'), 'utf8')).toBe('from the host\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('stopping keeps the files', () => {
  // Python writes, says so, then waits: in a sleep, or blocked on stdin. A stop is honoured at
  // its next WASI call, so the run ends with what it wrote, as a killed process's files stay.
  const WRITE_THEN = (wait: string) => `open('/out.txt', 'w').write('kept'); print('written', flush=True); ${wait}`

  it('kill during a sleep: killed (137), and the file it wrote is in its files', async () => {
    const run = (await runtime.start({ image: await bundledWasiImage('python'), cmd: ['-c', WRITE_THEN('import time; time.sleep(60)')] })) as WasiRun
    await waitForOutput(run, 'written')
    run.kill()
    expect(await run.exit).toMatchObject({ code: 137, reason: 'killed', signal: 'SIGKILL' })
    const out = run.files()?.get('/out.txt')
    if (out?.kind !== 'file') throw new Error('/out.txt is missing from the files of the killed run')
    expect(new TextDecoder().decode(await readFile(out))).toBe('kept')
  })

  it('kill while blocked on stdin, and a timeout, keep the files too', async () => {
    const image = await bundledWasiImage('python')
    const reading = (await runtime.start({ image, cmd: ['-c', WRITE_THEN('input()')], stdin: true })) as WasiRun
    await waitForOutput(reading, 'written')
    reading.kill('SIGTERM')
    expect(await reading.exit).toMatchObject({ code: 143, reason: 'killed', signal: 'SIGTERM' })
    expect(reading.files()?.lookup('/out.txt')?.kind).toBe('file')

    const dir = mkdtempSync(join(tmpdir(), 'boxplay-wasi-stop-'))
    try {
      const script = `open('/data/partial.txt', 'w').write('before the timeout'); import time; time.sleep(60)`
      const { status } = await runToEnd(runtime, { image, cmd: ['-c', script], mounts: [{ hostPath: dir, guestPath: '/data' }], limits: { timeoutMs: 1500 } })
      expect(status).toMatchObject({ code: 124, reason: 'timeout' })
      // --dir: what the program wrote before its timeout reached the host.
      expect(readFileSync(join(dir, 'partial.txt'), 'utf8')).toBe('before the timeout')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('worker pool', () => {
  it('reuses a warm worker for the next run', async () => {
    const image = await programImage('limits')
    await runToEnd(runtime, { image, cmd: ['write', '/tmp/a', 'x'] })
    const idle = runtime.pool.idleCount
    expect(idle).toBeGreaterThan(0)
    const run = await runtime.start({ image, cmd: ['write', '/tmp/a', 'y'] })
    expect(runtime.pool.idleCount).toBe(idle - 1) // taken from the pool, not a new one
    await run.exit
    expect(runtime.pool.idleCount).toBe(idle)
  })
})

describe('CLI helpers (server/wasi/wasm-file.ts)', () => {
  it('runs a .wasm file from the host with a --dir mapping', async () => {
    const { wasmFileFromHost, parseDirFlag, looksLikeWasmFile } = await import('../../server/wasi/wasm-file.js')
    const { program } = await import('./programs.js')
    const path = program('limits')
    expect(looksLikeWasmFile(path)).toBe(true)
    expect(looksLikeWasmFile('python')).toBe(false)
    const dir = mkdtempSync(join(tmpdir(), 'boxplay-wasi-cli-'))
    try {
      const mount = parseDirFlag(`${dir}::/work`)
      expect(mount).toEqual({ hostPath: dir, guestPath: '/work' })
      const image = await wasmFileFromHost(path)
      const { stdout, status } = await runToEnd(runtime, { image, cmd: ['write', '/work/made.txt', 'by a wasm file'], mounts: [mount] })
      expect(stdout).toBe('by a wasm file\n')
      expect(status.code).toBe(0)
      expect(readFileSync(join(dir, 'made.txt'), 'utf8')).toBe('by a wasm file')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(() => parseDirFlag('::/x')).toThrow(/host directory/)
    await expect(wasmFileFromHost('/nonexistent/x.wasm')).rejects.toThrow(/no such file/)
  })
})
