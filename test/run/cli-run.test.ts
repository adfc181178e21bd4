// `boxplay run` through the compiled CLI, as a user types it: the runtime chosen for each
// image, Docker's exit codes, plain .wasm files, and clear errors for what cannot run.

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const cli = join(import.meta.dirname, '..', '..', 'dist', 'server', 'cli', 'main.js')
const home = mkdtempSync(join(tmpdir(), 'boxplay-run-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

function boxplay(args: string[], input?: string) {
  const res = spawnSync(process.execPath, [cli, '--home', home, ...args], {
    input: input ?? '',
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: res.status, stdout: res.stdout, stderr: res.stderr }
}

describe('boxplay run', () => {
  it('runs a linux/386 image as a native container when no runtime is named', () => {
    const r = boxplay(['run', 'busybox', '--', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; ls /sys/class/net'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain('sh -c')
    expect(r.stdout.trim().split('\n').at(-1)).toBe('lo')
    expect(r.code).toBe(0)
  })

  it('shows the VM its own kernel and the container the host kernel', () => {
    const vm = boxplay(['run', '--runtime', 'v86', 'busybox', '--', 'uname', '-rm'])
    const container = boxplay(['run', 'busybox', '--runtime', 'native', '--', 'uname', '-rm'])
    expect(vm.code).toBe(0)
    expect(vm.stdout).toMatch(/^6\.1\.\d+ i686$/m)
    // The shipped state was kept unpacked for the next run, completely, before the CLI exited.
    const kept = readdirSync(join(home, 'cache', 'v86'))
    expect(kept.filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(kept.filter((f) => /\.(state|json)$/.test(f)).length).toBe(2)
    expect(container.code).toBe(0)
    expect(container.stdout.trim()).toBe(`${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()} x86_64`)
  })

  it('picks the wasi runtime for a wasi/wasm image and passes arguments and stdin', () => {
    const r = boxplay(['run', '-i', 'python'], 'print(6*7)\n')
    expect(r.stdout.trim()).toBe('42')
    expect(r.code).toBe(0)
    const hello = boxplay(['run', '--runtime', 'wasi', 'hello', '--', 'one', 'two words'])
    expect(hello.stdout).toContain('argv[1]: one')
    expect(hello.stdout).toContain('argv[2]: two words')
  })

  it("exits with the program's code in every runtime", () => {
    expect(boxplay(['run', 'busybox', '--', 'sh', '-c', 'exit 3']).code).toBe(3)
    expect(boxplay(['run', '--runtime', 'v86', 'busybox', '--', 'sh', '-c', 'exit 4']).code).toBe(4)
    expect(boxplay(['run', '--runtime', 'wasi', 'hello', '--', '--exit', '5']).code).toBe(5)
  })

  it('exits 127 for a command that is not there', () => {
    const missing = boxplay(['run', 'busybox', '--', 'no-such-command'])
    expect(missing.code).toBe(127)
    expect(missing.stderr).toMatch(/no-such-command/)
  })

  it('forwards Ctrl-C, and a second one kills the run (128+9)', async () => {
    // `sleep` is PID 1 in its pid namespace, so it ignores the forwarded SIGINT (as under
    // `docker run` without --init); the second interrupt sends SIGKILL.
    const child = spawn(process.execPath, [cli, '--home', home, 'run', 'busybox', '--', 'sleep', '30'], { stdio: 'ignore' })
    const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    await new Promise((r) => setTimeout(r, 1500))
    child.kill('SIGINT')
    await new Promise((r) => setTimeout(r, 300))
    child.kill('SIGINT')
    expect(await code).toBe(137)
  })

  it('ends a run at its timeout with the reason in words', () => {
    for (const runtime of ['native', 'v86']) {
      const r = boxplay(['run', '--runtime', runtime, '--timeout', '2s', 'busybox', '--', 'sleep', '30'])
      expect(r.code).toBe(124)
      expect(r.stderr).toMatch(/tim(e|ed) ?out/i)
    }
    const wasi = boxplay(['run', '--timeout', '1s', 'hello', '--runtime', 'wasi', '--', '--sleep', '30000'])
    expect(wasi.code).toBe(124)
  })

  it('runs a plain .wasm file with wasi', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxplay-wasm-'))
    try {
      // (module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
      //   (func (export "_start") i32.const 7 call 0) (memory (export "memory") 1))
      const module = Uint8Array.from([
        0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 2, 96, 1, 127, 0, 96, 0, 0, 2, 36, 1, 22, 119, 97, 115, 105, 95, 115, 110, 97,
        112, 115, 104, 111, 116, 95, 112, 114, 101, 118, 105, 101, 119, 49, 9, 112, 114, 111, 99, 95, 101, 120, 105, 116,
        0, 0, 3, 2, 1, 1, 5, 3, 1, 0, 1, 7, 19, 2, 6, 95, 115, 116, 97, 114, 116, 0, 1, 6, 109, 101, 109, 111, 114, 121, 2,
        0, 10, 8, 1, 6, 0, 65, 7, 16, 0, 11,
      ])
      writeFileSync(join(dir, 'seven.wasm'), module)
      expect(boxplay(['run', join(dir, 'seven.wasm')]).code).toBe(7)
      const wrong = boxplay(['run', '--runtime', 'v86', join(dir, 'seven.wasm')])
      expect(wrong.code).toBe(125)
      expect(wrong.stderr).toMatch(/only --runtime wasi/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses a runtime that cannot take the image, naming its platforms', () => {
    const r = boxplay(['run', '--runtime', 'v86', 'python'])
    expect(r.code).toBe(125)
    expect(r.stderr).toContain('wasi/wasm')
    expect(r.stderr).toContain('linux/386')
  })

  it('refuses bad options and unknown images with 125 and a reason', () => {
    const bad = boxplay(['run', '--memory', 'lots', 'busybox'])
    expect(bad.code).toBe(125)
    expect(bad.stderr).toMatch(/--memory takes a size/)
    const unknown = boxplay(['run', 'no-such-image'])
    expect(unknown.code).toBe(125)
    expect(unknown.stderr).toMatch(/no-such-image/)
  })
})
