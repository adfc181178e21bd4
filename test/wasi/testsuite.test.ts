// The official WASI test suite (wasm32-wasip1, ../shared/wasi-testsuite), one test a module,
// each run as a user runs one: `boxplay run --runtime wasi FILE.wasm --dir COPY::/` in a
// child process, stdin an empty pipe, checked on exit code and, where the case says, on
// exact stdout/stderr. Cases run a few at a time; each gets a fresh copy of its root.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureCompiledWorker } from './programs.js'
import { runCaseThroughCli, suiteCases } from './testsuite.js'

// Throws, failing the file with where the suite was expected, when it is missing.
const cases = suiteCases()
let home: string

beforeAll(async () => {
  ensureCompiledWorker()
  home = await mkdtemp(join(tmpdir(), 'boxplay-suite-home-'))
})
afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true })
})

describe('wasi-testsuite through boxplay run --runtime wasi', () => {
  it('has all 72 tests of wasm32-wasip1', () => {
    expect(cases.length).toBe(72)
  })

  describe.concurrent('cases', () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = await runCaseThroughCli(c, home)
        expect(r.reason).toBeUndefined()
        expect(r.ok).toBe(true)
      })
    }
  })
})
