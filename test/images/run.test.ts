// The bundled images' programs, unpacked from dist/images and run for real: the linux/386
// binaries natively on this x86_64 host (IA32 emulation), the wasi/wasm modules under
// node:wasi with the unpacked image as their root. Same program, same answers.

import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleStdout, File, OpenFile, PreopenDirectory, WASI as ShimWASI } from '@bjorn3/browser_wasi_shim'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { LAYOUT, LINUX_386, WASI, resolveImage, run, runWasi, unpackImage } from './layout-helpers.js'

const tmp = mkdtempSync(join(tmpdir(), 'boxplay-run-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const roots = {
  busybox: join(tmp, 'busybox'),
  hello386: join(tmp, 'hello-386'),
  helloWasi: join(tmp, 'hello-wasi'),
  lua386: join(tmp, 'lua-386'),
  luaWasi: join(tmp, 'lua-wasi'),
  python: join(tmp, 'python'),
  sqlite386: join(tmp, 'sqlite-386'),
  sqliteWasi: join(tmp, 'sqlite-wasi'),
}

beforeAll(async () => {
  const unpack = async (ref: string, platform: typeof WASI, dir: string): Promise<void> =>
    unpackImage(LAYOUT, await resolveImage(LAYOUT, ref, platform), dir)
  await unpack('busybox:latest', LINUX_386, roots.busybox)
  await unpack('hello:latest', LINUX_386, roots.hello386)
  await unpack('hello:latest', WASI, roots.helloWasi)
  await unpack('lua:latest', LINUX_386, roots.lua386)
  await unpack('lua:latest', WASI, roots.luaWasi)
  await unpack('python:latest', WASI, roots.python)
  await unpack('sqlite:latest', LINUX_386, roots.sqlite386)
  await unpack('sqlite:latest', WASI, roots.sqliteWasi)
})

/** `key: value` lines of hello's facts. */
function facts(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const line of stdout.split('\n')) {
    const m = /^([a-z]+(?:\[\d+\])?): (.*)$/.exec(line)
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!])
  }
  return out
}

describe('busybox:latest', () => {
  test('links every applet busybox lists to /bin/busybox', () => {
    const listed = run(join(roots.busybox, 'bin', 'busybox'), ['--list-full']).stdout.trim().split('\n')
    expect(listed.length).toBeGreaterThan(200)
    expect(lstatSync(join(roots.busybox, 'bin', 'busybox')).isFile()).toBe(true)
    for (const applet of listed.filter((a) => a !== 'bin/busybox')) {
      const path = join(roots.busybox, applet)
      expect(lstatSync(path).isSymbolicLink(), applet).toBe(true)
      expect(readlinkSync(path)).toBe('/bin/busybox')
    }
    expect(listed).toEqual(expect.arrayContaining(['bin/sh', 'bin/ls', 'usr/bin/env', 'sbin/init']))
  })

  test('has a minimal /etc and the directories a Linux userland expects', () => {
    const passwd = readFileSync(join(roots.busybox, 'etc', 'passwd'), 'utf8')
    expect(passwd).toMatch(/^root:x:0:0:/m)
    expect(passwd).toMatch(/^nobody:x:65534:65534:/m)
    expect(readFileSync(join(roots.busybox, 'etc', 'group'), 'utf8')).toMatch(/^root:x:0:/m)
    expect(statSync(join(roots.busybox, 'tmp')).mode & 0o7777).toBe(0o1777)
    for (const dir of ['root', 'home', 'var', 'proc', 'sys', 'dev']) expect(statSync(join(roots.busybox, dir)).isDirectory(), dir).toBe(true)
  })

  test('its shell runs inside the image, resolving applets through the links', () => {
    // A user namespace with the image as root: the absolute /bin/busybox links resolve in it.
    const res = run('unshare', ['--user', '--map-root-user', `--root=${roots.busybox}`, '/bin/sh', '-c', 'echo $((6*7)); ls /usr/bin | wc -l; id -un'], {
      env: { PATH: '/bin:/usr/bin:/sbin:/usr/sbin' },
    })
    expect(res.stderr).toBe('')
    const [answer, count, user] = res.stdout.trim().split('\n')
    expect(answer).toBe('42')
    expect(Number(count)).toBeGreaterThan(100)
    expect(user).toBe('root')
  })
})

describe('hello:latest', () => {
  const native = (args: string[], input?: string) => run(join(roots.hello386, 'usr', 'bin', 'hello'), args, { env: { GREETING: 'hi' }, cwd: roots.hello386, ...(input !== undefined ? { input } : {}) })
  const wasm = (args: string[], input?: string) => runWasi(roots.helloWasi, ['/usr/bin/hello.wasm', ...args], { env: ['GREETING=hi'], ...(input !== undefined ? { input } : {}) })

  test('alone, prints its facts: arguments, environment, cwd, pid, hostname', () => {
    const n = native(['alpha', 'beta gamma'])
    expect(n.status).toBe(0)
    const nf = facts(n.stdout)
    expect(n.stdout.split('\n')[0]).toBe('hello from boxplay (linux/386)')
    expect(nf.get('argc')).toEqual(['3'])
    expect(nf.get('argv[2]')).toEqual(['beta gamma'])
    expect(nf.get('env')).toEqual(['GREETING=hi'])
    expect(nf.get('cwd')).toEqual([roots.hello386])
    expect(Number(nf.get('pid')?.[0])).toBeGreaterThan(0)
    expect(nf.get('hostname')?.[0]).toBeTruthy()
    expect(nf.get('kernel')?.[0]).toMatch(/^Linux /)

    const w = wasm(['alpha', 'beta gamma'])
    expect(w.status).toBe(0)
    const wf = facts(w.stdout)
    expect(w.stdout.split('\n')[0]).toBe('hello from boxplay (wasi/wasm)')
    expect(wf.get('argv[0]')).toEqual(['/usr/bin/hello.wasm'])
    expect(wf.get('argv[2]')).toEqual(['beta gamma'])
    expect(wf.get('env')).toEqual(['GREETING=hi'])
    expect(wf.get('cwd')).toEqual(['/'])
    expect(wf.get('pid')).toEqual(['(none in WASI)'])
  })

  test.each([
    ['linux/386', native],
    ['wasi/wasm', wasm],
  ] as const)('%s: echoes stdin, writes and reads files, writes stderr, sleeps and exits with the code asked', (_name, hello) => {
    const echoed = hello(['--echo'], 'line one\nline two\n')
    expect(echoed.stdout).toBe('line one\nline two\n')
    expect(echoed.status).toBe(0)
    const cat = hello(['cat'], 'via cat\n')
    expect(cat.stdout).toBe('via cat\n')

    const rootDir = hello === native ? roots.hello386 : roots.helloWasi
    const path = hello === native ? join(rootDir, 'tmp', 'note') : '/tmp/note'
    const io = hello(['--write', path, 'written by hello', '--read', path, '--stderr', 'to stderr', '--sleep', '20', '--exit', '7'])
    expect(io.stdout).toBe('written by hello\n')
    expect(io.stderr).toBe('to stderr\n')
    expect(io.status).toBe(7)
    expect(readFileSync(join(rootDir, 'tmp', 'note'), 'utf8')).toBe('written by hello\n')

    const bad = hello(['--exit', 'soon'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('--exit wants a whole number')
    const missing = hello(['--read', hello === native ? join(rootDir, 'nope') : '/nope'])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(/cannot open .*nope: No such file or directory/)
  })
})

describe('lua:latest', () => {
  const native = (args: string[]) => run(join(roots.lua386, 'usr', 'bin', 'lua'), args, { cwd: roots.lua386 })
  const wasm = (args: string[]) => runWasi(roots.luaWasi, ['/usr/bin/lua.wasm', ...args])
  const script = [
    'print(pcall(error, "x"))',
    'print(pcall(error, {code = 42}) == false)',
    'print(select(2, pcall(function() local t = nil; return t.field end)))',
    'print(select(2, pcall(string.rep)))',
    'local t = setmetatable({}, {__index = function(t, k) return t[k] end})',
    'print(select(2, pcall(function() return t.x end)))',
    'print(coroutine.wrap(function() coroutine.yield(_VERSION) end)())',
    'print(string.format("%5.2f|%q", math.pi, "a\\nb"), #arg)',
  ].join('\n')

  test('errors and pcall behave the same in both builds', () => {
    const n = native(['-e', script])
    const w = wasm(['-e', script])
    expect(n.stderr).toBe('')
    expect(w.stderr).toBe('')
    expect(n.stdout.split('\n')[0]).toBe('false\tx')
    expect(n.stdout).toContain("attempt to index a nil value (local 't')")
    expect(n.stdout).toContain('C stack overflow')
    expect(n.stdout).toContain('Lua 5.4')
    expect(w.stdout).toBe(n.stdout)
    expect([n.status, w.status]).toEqual([0, 0])
  })

  test('an uncaught error exits 1 with a traceback in both builds', () => {
    for (const res of [native(['-e', 'error("boom")']), wasm(['-e', 'error("boom")'])]) {
      expect(res.status).toBe(1)
      expect(res.stderr).toContain('boom')
      expect(res.stderr).toContain('stack traceback')
    }
  })

  test('the bundled bench script computes the same checksum in both builds', () => {
    const n = native(['/usr/share/lua/bench.lua', '2'].map((a) => (a.startsWith('/') ? join(roots.lua386, a) : a)))
    const w = wasm(['/usr/share/lua/bench.lua', '2'])
    expect(n.stdout).toMatch(/^bench\.lua rounds=2 checksum=\d+\n$/)
    expect(w.stdout).toBe(n.stdout)
  })

  test('the wasm build reads files through the preopened root and says what WASI cannot do', () => {
    const w = wasm(['-e', 'print(io.open("/usr/share/lua/bench.lua"):read("l")); print(os.execute()); print(pcall(os.tmpname))'])
    expect(w.stdout).toBe('-- A fixed CPU workload for `npm run bench`: the same work every run, mixing what Lua\nfalse\nfalse\tunable to generate a unique filename\n')
  })
})

describe('python:latest', () => {
  test('runs print(6*7) with its standard library from the image alone', () => {
    const res = runWasi(roots.python, ['/usr/bin/python.wasm', '-c', 'import json, sys; print(6*7); print(json.dumps({"v": sys.version_info[0]}))'])
    expect(res.stderr).toBe('')
    expect(res.stdout).toBe('42\n{"v": 3}\n')
    expect(res.status).toBe(0)
  })

  test('ships its licence', () => {
    expect(readFileSync(join(roots.python, 'usr', 'share', 'doc', 'python-wasi', 'LICENSE'), 'utf8')).toContain('Apache License')
  })
})

describe('sqlite:latest', () => {
  const sql = [
    'create table t(n integer, s text);',
    "insert into t values (6*7, 'forty-two'), (1, 'one');",
    "select n, upper(s) from t order by n;",
    "select sqlite_version() like '3.%', round(pi(), 3);",
    "create virtual table f using fts5(body); insert into f values ('hello from boxplay');",
    "select count(*) from f where f match 'boxplay';",
  ].join('\n')

  test('creates, fills and queries a database file the same way in both builds', () => {
    const native = run(join(roots.sqlite386, 'usr', 'bin', 'sqlite3'), [join(roots.sqlite386, 'tmp', 'db.sqlite')], {
      input: sql,
      env: { HOME: join(roots.sqlite386, 'root') },
    })
    const wasm = runWasi(roots.sqliteWasi, ['/usr/bin/sqlite3.wasm', '/tmp/db.sqlite'], { input: sql, env: ['HOME=/root'] })
    expect(native.stderr).toBe('')
    expect(native.stdout).toBe('1|ONE\n42|FORTY-TWO\n1|3.142\n1\n')
    expect(wasm.stderr).toBe('')
    expect(wasm.stdout).toBe(native.stdout)
    // The database the wasm build wrote is a real SQLite file the native build can read.
    const reread = run(join(roots.sqlite386, 'usr', 'bin', 'sqlite3'), [join(roots.sqliteWasi, 'tmp', 'db.sqlite'), 'select sum(n) from t'])
    expect(reread.stdout).toBe('43\n')
  })

  test('reports SQL errors with a failing exit status', () => {
    const wasm = runWasi(roots.sqliteWasi, ['/usr/bin/sqlite3.wasm', ':memory:', 'select * from missing'], { env: ['HOME=/root'] })
    expect(wasm.status).toBe(1)
    expect(wasm.stderr).toContain('no such table: missing')
  })
})

describe('under @bjorn3/browser_wasi_shim (what the browser runtime uses)', () => {
  /** Runs a module from an unpacked image with an empty in-memory root; returns its output. */
  async function shimRun(moduleFile: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout: string[] = []
    const stderr: string[] = []
    const fds = [
      new OpenFile(new File([])),
      ConsoleStdout.lineBuffered((line) => stdout.push(line)),
      ConsoleStdout.lineBuffered((line) => stderr.push(line)),
      new PreopenDirectory('/', new Map()),
    ]
    const wasi = new ShimWASI(argv, [], fds, { debug: false })
    const module = await WebAssembly.compile(readFileSync(moduleFile))
    const instance = (await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport })) as {
      exports: { memory: WebAssembly.Memory; _start: () => unknown }
    }
    const code = wasi.start(instance)
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') }
  }

  test('lua catches errors with pcall (wasm exception handling) and python prints 42', async () => {
    const lua = await shimRun(join(roots.luaWasi, 'usr', 'bin', 'lua.wasm'), ['lua', '-e', 'print(pcall(error, "x"))'])
    expect(lua).toEqual({ code: 0, stdout: 'false\tx', stderr: '' })
    const python = await shimRun(join(roots.python, 'usr', 'bin', 'python.wasm'), ['python', '-c', 'print(6*7)'])
    expect(python).toEqual({ code: 0, stdout: '42', stderr: '' })
    const hello = await shimRun(join(roots.helloWasi, 'usr', 'bin', 'hello.wasm'), ['hello', '--stderr', 'e', '--exit', '3'])
    expect(hello).toEqual({ code: 3, stdout: '', stderr: 'e' })
  })
})
