// Builds the C test programs in test/wasi/programs into .cache/wasi-tests/*.wasm with
// Debian's clang and wasi-libc (sysroot holding only wasi-libc, so host glibc headers
// cannot leak in; compile and link as separate steps so clang does not run wasm-opt).
// Also makes sure the compiled worker script is fresh: worker_threads need JavaScript.

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package root: the first directory up from here with a package.json (dist/ has none). */
export const root = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
})()
const sources = join(root, 'test', 'wasi', 'programs')
const out = join(root, '.cache', 'wasi-tests')

function sysroot(): string {
  const dir = join(out, 'sysroot')
  if (!existsSync(join(dir, 'lib', 'wasm32-wasi'))) {
    mkdirSync(join(dir, 'include'), { recursive: true })
    mkdirSync(join(dir, 'lib'), { recursive: true })
    symlinkSync('/usr/include/wasm32-wasi', join(dir, 'include', 'wasm32-wasi'))
    symlinkSync('/usr/lib/wasm32-wasi', join(dir, 'lib', 'wasm32-wasi'))
  }
  return dir
}

/** Path of the built program NAME (from NAME.c), rebuilding it when its sources changed. */
export function program(name: string): string {
  const src = join(sources, `${name}.c`)
  const wasm = join(out, `${name}.wasm`)
  // Any header may be included (check.h, listener.h): a change to one rebuilds every program.
  const headers = readdirSync(sources).filter((f) => f.endsWith('.h'))
  const newest = Math.max(statSync(src).mtimeMs, ...headers.map((h) => statSync(join(sources, h)).mtimeMs))
  if (!existsSync(wasm) || statSync(wasm).mtimeMs < newest) {
    const sr = sysroot()
    const obj = join(out, `${name}.o`)
    execFileSync('clang', ['--target=wasm32-wasi', `--sysroot=${sr}`, '-O2', '-Wall', '-c', src, '-o', obj], { stdio: 'inherit' })
    execFileSync('clang', ['--target=wasm32-wasi', `--sysroot=${sr}`, obj, '-o', wasm, '-Wl,--strip-debug'], { stdio: 'inherit' })
  }
  return wasm
}

export function programBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(program(name)))
}

/** Sources (under web/ and server/wasi) whose compiled .js in dist/ is missing or older. */
function staleOutputs(dir: string): string[] {
  const stale: string[] = []
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name)
    if (statSync(join(root, rel)).isDirectory()) stale.push(...staleOutputs(rel))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      const js = join(root, 'dist', rel.replace(/\.ts$/, '.js'))
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(root, rel)).mtimeMs) stale.push(rel)
    }
  }
  return stale
}

/** Recompiles the project with tsc when the wasi engine's sources are newer than dist/. */
export function ensureCompiledWorker(): void {
  const dirs = ['web/runtimes/wasi', 'web/oci', 'server/wasi']
  if (dirs.every((d) => staleOutputs(d).length === 0)) return
  try {
    execFileSync('npx', ['tsc', '-p', '.'], { cwd: root, stdio: 'pipe' })
  } catch {
    // tsc still emits when other parts of the project have type errors; the check below decides.
  }
  const stale = dirs.flatMap(staleOutputs)
  if (stale.length > 0) throw new Error(`tsc did not compile ${stale.join(', ')} into dist/`)
}
