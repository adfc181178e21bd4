// `boxplay run FILE.wasm` runs a bare module as wasmtime does: its environment is exactly
// the -e variables (PWD only with -w) and it sees only the --dir directories; an image
// (here the same module wrapped as one) keeps Docker's rules, its Env included.

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WasiRuntime } from '../../web/runtimes/wasi/runtime.js'
import { makeRuntime, programImage, runToEnd } from './helpers.js'
import { program, root } from './programs.js'

let home: string
let runtime: WasiRuntime
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'boxplay-wasm-file-'))
  runtime = makeRuntime()
})
afterAll(() => {
  runtime?.close()
  rmSync(home, { recursive: true, force: true })
})

function boxplay(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(root, 'dist/server/cli/main.js'), 'run', '--runtime', 'wasi', ...args], {
    input: '',
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BOXPLAY_HOME: home, ...env },
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('boxplay run FILE.wasm', () => {
  it('gets no variables unless asked, and no filesystem without --dir', () => {
    expect(boxplay([program('environ')])).toEqual({ code: 0, stdout: 'root no\n', stderr: '' })
  })

  it('gets exactly the -e variables (a bare name takes the host value), PWD only with -w', () => {
    const r = boxplay(['-e', 'A=1', '-e', 'FROM_HOST', '-e', 'A=2', program('environ')], { FROM_HOST: 'here' })
    expect(r.stdout).toBe('A=2\nFROM_HOST=here\nroot no\n')
    const dir = mkdtempSync(join(tmpdir(), 'boxplay-wasm-file-dir-'))
    try {
      const w = boxplay(['-w', '/', '--dir', `${dir}::/`, '-e', 'A=1', program('environ')])
      expect(w.stdout).toBe('A=1\nPWD=/\nroot yes\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an image keeps its Env and the default PATH, and its own root', async () => {
    const image = await programImage('environ')
    const { stdout } = await runToEnd(runtime, { image, env: ['A=1'] })
    expect(stdout).toBe('PATH=/\nA=1\nroot yes\n')
  })
})
