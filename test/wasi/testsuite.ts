// The official wasi-testsuite (wasm32-wasip1), read from `<repo>/../shared/wasi-testsuite`
// (CI clones the repo beside a copy of shared/). Each NAME.wasm may have a NAME.json with
// args, env, a root directory preopened as `/`, the exit code and exact stdout/stderr.
// Used by the vitest file (one test a module, through the CLI), the Chromium pass, and
// `node dist/test/wasi/testsuite.js`, which prints pass/fail with the reason for each.

import { spawn } from 'node:child_process'
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PlainNode } from '../browser/pages/wasi-suite.js'

export type { PlainNode }

export interface SuiteCase {
  /** e.g. rust/path_open_preopen */
  name: string
  wasmPath: string
  args: string[]
  env: Record<string, string>
  /** Host directory to copy fresh and preopen as `/`. */
  root?: string
  exitCode: number
  stdout?: string
  stderr?: string
}

export interface CaseResult {
  name: string
  ok: boolean
  reason?: string
}

/** The repository's root, found from this file in test/wasi/ or dist/test/wasi/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('could not find the repository root above test/wasi')
    dir = up
  }
  return dir
}

/**
 * `<repo>/../shared/wasi-testsuite`; in a git worktree (whose .git is a file naming the main
 * checkout's .git/worktrees/NAME) the main checkout's neighbour is tried too.
 */
export function suiteDir(): string {
  const root = repoRoot()
  const beside = resolve(root, '..', 'shared', 'wasi-testsuite')
  if (existsSync(beside)) return beside
  const gitFile = join(root, '.git')
  const m = existsSync(gitFile) ? /^gitdir: (.*)\/\.git\/worktrees\/[^/]+\s*$/m.exec(readFileSync(gitFile, 'utf8')) : null
  if (m) {
    const mainBeside = resolve(m[1]!, '..', 'shared', 'wasi-testsuite')
    if (existsSync(mainBeside)) return mainBeside
  }
  return beside
}

/** Every test of the suite, or a clear error when the suite is not beside the repository. */
export function suiteCases(dir = suiteDir()): SuiteCase[] {
  const tests = join(dir, 'tests')
  if (!existsSync(tests)) {
    throw new Error(
      `the WASI test suite is missing: expected ${tests} (the prebuilt wasm32-wasip1 tests of WebAssembly/wasi-testsuite); ` +
        'put a copy of shared/wasi-testsuite beside the repository',
    )
  }
  const cases: SuiteCase[] = []
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, entry.name)
      if (entry.isDirectory() && !entry.name.endsWith('.dir')) walk(p)
      else if (entry.isFile() && entry.name.endsWith('.wasm')) cases.push(caseOf(tests, p))
    }
  }
  walk(tests)
  return cases
}

function caseOf(tests: string, wasmPath: string): SuiteCase {
  const jsonPath = wasmPath.replace(/\.wasm$/, '.json')
  const spec = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown>) : {}
  const language = relative(tests, wasmPath).split('/')[0]!
  const c: SuiteCase = {
    name: `${language}/${basename(wasmPath, '.wasm')}`,
    wasmPath,
    args: (spec.args as string[] | undefined) ?? [],
    env: (spec.env as Record<string, string> | undefined) ?? {},
    exitCode: (spec.exit_code as number | undefined) ?? 0,
  }
  if (typeof spec.root === 'string') c.root = join(dirname(wasmPath), spec.root)
  if (typeof spec.stdout === 'string') c.stdout = spec.stdout
  if (typeof spec.stderr === 'string') c.stderr = spec.stderr
  return c
}

/** A host directory as the browser page's plain tree (see test/browser/pages/wasi-suite.ts). */
export function plainTree(path: string): PlainNode {
  const st = lstatSync(path)
  const meta = { mode: st.mode & 0o7777, mtime: st.mtimeMs / 1000 }
  if (st.isSymbolicLink()) return { kind: 'symlink', ...meta, target: readlinkSync(path) }
  if (st.isDirectory()) {
    const names = readdirSync(path).sort()
    return { kind: 'dir', ...meta, entries: names.map((n) => [n, plainTree(join(path, n))] as [string, PlainNode]) }
  }
  return { kind: 'file', ...meta, base64: readFileSync(path).toString('base64') }
}

/** Compares a finished run with what the case expects; undefined when it passed. */
export function judge(c: SuiteCase, got: { code: number; stdout: string; stderr: string }): string | undefined {
  const tail = (s: string): string => JSON.stringify(s.length > 600 ? `…${s.slice(-600)}` : s)
  if (got.code !== c.exitCode) return `exit ${got.code}, expected ${c.exitCode}; stdout ${tail(got.stdout)} stderr ${tail(got.stderr)}`
  if (c.stdout !== undefined && got.stdout !== c.stdout) return `stdout ${tail(got.stdout)}, expected ${tail(c.stdout)}`
  if (c.stderr !== undefined && got.stderr !== c.stderr) return `stderr ${tail(got.stderr)}, expected ${tail(c.stderr)}`
  return undefined
}

/**
 * Runs one case as a user would: `boxplay run --runtime wasi FILE.wasm --dir COPY::/ -e K=V -- ARGS`,
 * a child process with stdin an empty pipe, in a fresh copy of the case's root.
 */
export async function runCaseThroughCli(c: SuiteCase, home: string): Promise<CaseResult> {
  const work = await mkdtemp(join(tmpdir(), 'boxplay-wasi-suite-'))
  try {
    const argv = [join(repoRoot(), 'dist/server/cli/main.js'), 'run', '--runtime', 'wasi']
    if (c.root !== undefined) {
      const copy = join(work, 'root')
      await cp(c.root, copy, { recursive: true, verbatimSymlinks: true })
      argv.push('--dir', `${copy}::/`)
    }
    for (const [k, v] of Object.entries(c.env)) argv.push('-e', `${k}=${v}`)
    argv.push(c.wasmPath, '--', ...c.args)
    const got = await new Promise<{ code: number; stdout: string; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, argv, {
        cwd: work,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work, BOXPLAY_HOME: home },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      const out: Buffer[] = []
      const err: Buffer[] = []
      child.stdout.on('data', (b: Buffer) => out.push(b))
      child.stderr.on('data', (b: Buffer) => err.push(b))
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.on('error', fail)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        done({ code: code ?? (signal ? 128 : -1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
      })
    })
    const reason = judge(c, got)
    return reason === undefined ? { name: c.name, ok: true } : { name: c.name, ok: false, reason }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** Runs `fn` over `items`, at most `limit` at a time, results in order. */
export async function pooled<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await fn(items[i]!)
      }
    }),
  )
  return results
}

async function main(): Promise<void> {
  const filter = process.argv[2]
  const cases = suiteCases().filter((c) => filter === undefined || c.name.includes(filter))
  const home = await mkdtemp(join(tmpdir(), 'boxplay-home-'))
  try {
    const results = await pooled(cases, 3, (c) => runCaseThroughCli(c, home))
    for (const r of results) console.log(r.ok ? `pass ${r.name}` : `FAIL ${r.name}: ${r.reason}`)
    console.log(`${results.filter((r) => r.ok).length} of ${results.length} passed`)
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main()
