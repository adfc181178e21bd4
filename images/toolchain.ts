// The two C toolchains the bundled images are built with, probed on Debian 12:
// - linux/386: gcc -m32 -static against glibc's i386 multilib (gcc-multilib pulls in
//   libc6-dev-i386, whose /usr/lib32/libc.a makes fully static i386 binaries; those run on
//   x86_64 hosts with IA32 emulation and in v86).
// - wasi/wasm: clang 14 --target=wasm32-wasi with Debian's wasi-libc. Debian ships no
//   wasi-sysroot dir, and pointing clang at / makes it pick up host glibc headers, so we
//   build a sysroot holding only wasi-libc's include and lib. We compile and link in separate
//   steps and never pass -O at link time: with binaryen installed, clang runs wasm-opt on
//   -O links, which then fails on (or rewrites) the output.

import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { exec } from './exec.js'

export const I386_PACKAGES = ['gcc-multilib', 'libc6-dev-i386']
export const WASI_PACKAGES = ['clang', 'lld', 'wasi-libc', 'libclang-rt-dev-wasm32']

/** A sysroot dir for clang's wasm32-wasi target holding only wasi-libc (symlinks). */
export function wasiSysroot(cacheDir: string): string {
  const sysroot = join(cacheDir, 'wasi-sysroot')
  for (const [kind, target] of [
    ['include', '/usr/include/wasm32-wasi'],
    ['lib', '/usr/lib/wasm32-wasi'],
  ] as const) {
    if (!existsSync(target)) throw new Error(`${target} is missing: install the Debian package wasi-libc`)
    const link = join(sysroot, kind, 'wasm32-wasi')
    mkdirSync(join(sysroot, kind), { recursive: true })
    if (!existsSync(link)) symlinkSync(target, link)
  }
  return sysroot
}

export interface CompileJob {
  source: string
  object: string
  flags: readonly string[]
  /** Overrides compileAll's compiler for this job, so one queue can mix gcc and clang. */
  compiler?: string
}

/** Compiles each source to its object, two at a time (the build machines have 2 cores). */
export async function compileAll(compiler: string, jobs: readonly CompileJob[], cwd: string): Promise<void> {
  const { spawn } = await import('node:child_process')
  const queue = [...jobs]
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const args = [...job.flags, '-c', job.source, '-o', job.object]
      const cc = job.compiler ?? compiler
      await new Promise<void>((resolve, reject) => {
        const child = spawn(cc, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
        let stderr = ''
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        child.on('error', (err) => reject(new Error(`could not run ${cc}: ${err.message}`)))
        child.on('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`${cc} ${args.join(' ')} failed:\n${stderr.trim()}`)),
        )
      })
    }
  }
  await Promise.all([worker(), worker()])
}

export function link(compiler: string, args: readonly string[], cwd: string): void {
  exec(compiler, args, { cwd })
}
