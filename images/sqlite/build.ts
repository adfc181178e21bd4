// sqlite:latest: the sqlite3 shell from Debian's sqlite3 source package (Debian's patches
// applied), built as an image index with a linux/386 manifest (static /usr/bin/sqlite3) and
// a wasi/wasm manifest (/usr/bin/sqlite3.wasm). Entrypoint is the shell with no Cmd:
// `boxplay run sqlite /tmp/db 'select 6*7'`.
//
// Debian ships the full source tree, not the amalgamation; its own build makes sqlite3.c
// and shell.c with `configure && make` (host gcc for lemon and friends, tclsh for the
// scripts), so we do the same, then compile those two files for each platform.

import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { aptRoot, aptSource } from '../apt-local.js'
import { exec } from '../exec.js'
import type { ImageBuild } from '../image-step.js'
import { hostFile, linuxSkeletonDirs } from '../host-files.js'
import { I386_PACKAGES, WASI_PACKAGES, compileAll, link, wasiSysroot } from '../toolchain.js'

const ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root']
const COMMON = [
  '-O2',
  '-w',
  '-DSQLITE_THREADSAFE=0',
  '-DSQLITE_OMIT_LOAD_EXTENSION',
  '-DSQLITE_DQS=0',
  '-DSQLITE_ENABLE_FTS5',
  '-DSQLITE_ENABLE_MATH_FUNCTIONS',
]

/** sqlite3.c + shell.c generated from the source tree (once per source unpack). */
function amalgamation(srcDir: string, buildDir: string): void {
  if (existsSync(join(buildDir, 'sqlite3.c')) && existsSync(join(buildDir, 'shell.c'))) return
  rmSync(buildDir, { recursive: true, force: true })
  mkdirSync(buildDir, { recursive: true })
  exec(join(srcDir, 'configure'), ['--disable-tcl', '--disable-readline'], { cwd: buildDir })
  exec('make', ['-j2', 'sqlite3.c', 'shell.c'], { cwd: buildDir })
}

export const sqlite: ImageBuild = {
  name: 'sqlite',
  inputs: ['images/sqlite', 'images/wasi-cwd', 'images/apt-local.ts', 'images/toolchain.ts'],
  packages: [...I386_PACKAGES, ...WASI_PACKAGES, 'apt', 'dpkg-dev', 'make', 'tcl'],
  async build(ctx) {
    const srcDir = aptSource(aptRoot(join(ctx.cacheDir, 'apt-src'), 'deb-src'), 'sqlite3', join(ctx.cacheDir, 'source'))
    const amalg = join(ctx.cacheDir, 'amalgamation')
    amalgamation(srcDir, amalg)
    const artifacts = join(ctx.cacheDir, 'artifacts')
    rmSync(artifacts, { recursive: true, force: true })
    mkdirSync(artifacts, { recursive: true })
    const sources = ['sqlite3.c', 'shell.c'].map((f) => join(amalg, f))

    // linux/386. The shell's getpwuid() warns in a static link; it finds no users without
    // NSS modules and falls back to $HOME, which the image sets.
    const i386Flags = ['-m32', ...COMMON, `-I${amalg}`]
    const i386Jobs = sources.map((source) => ({ source, object: join(artifacts, source.replace(/^.*\//, '').replace(/\.c$/, '.i386.o')), flags: i386Flags }))
    // wasi/wasm
    const here = join(ctx.root, 'images', 'sqlite')
    const wasmFlags = [
      '--target=wasm32-wasi',
      `--sysroot=${wasiSysroot(ctx.cacheDir)}`,
      ...COMMON,
      '-D_WASI_EMULATED_SIGNAL',
      '-D_WASI_EMULATED_PROCESS_CLOCKS',
      '-D_WASI_EMULATED_GETPID',
      '-D_WASI_EMULATED_MMAN',
      '-DSQLITE_OMIT_WAL',
      '-DSQLITE_MAX_MMAP_SIZE=0',
      '-DSQLITE_DEFAULT_UNIX_VFS="unix-none"',
      '-DSQLITE_OMIT_POPEN',
      '-DSQLITE_NOHAVE_SYSTEM',
      `-isystem${join(here, 'wasi-include')}`,
      '-include',
      join(here, 'wasi-compat.h'),
      `-I${amalg}`,
    ]
    const wasmJobs = [...sources, join(ctx.root, 'images', 'wasi-cwd', 'start-in-pwd.c')].map((source) => ({
      compiler: 'clang',
      source,
      object: join(artifacts, source.replace(/^.*\//, '').replace(/\.c$/, '.wasm.o')),
      flags: wasmFlags,
    }))
    // The two sqlite3.c compiles dominate: one queue runs them side by side.
    await compileAll('gcc', [i386Jobs[0]!, wasmJobs[0]!, i386Jobs[1]!, wasmJobs[1]!, wasmJobs[2]!], artifacts)
    link('gcc', ['-m32', '-static', '-s', ...i386Jobs.map((j) => j.object), '-lm', '-o', join(artifacts, 'sqlite3')], artifacts)
    link(
      'clang',
      [
        '--target=wasm32-wasi',
        `--sysroot=${wasiSysroot(ctx.cacheDir)}`,
        '-Wl,--strip-all',
        ...wasmJobs.map((j) => j.object),
        '-lwasi-emulated-signal',
        '-lwasi-emulated-process-clocks',
        '-lwasi-emulated-getpid',
        '-lwasi-emulated-mman',
        '-o',
        join(artifacts, 'sqlite3.wasm'),
      ],
      artifacts,
    )
  },
  async recipe(cacheDir) {
    const artifacts = join(cacheDir, 'artifacts')
    const copyright = hostFile(join(cacheDir, 'source', 'sqlite3-src', 'debian', 'copyright'), 'usr/share/doc/sqlite3/copyright', 0o644)
    const root = { type: 'dir', path: 'root', mode: 0o700 } as const
    return {
      ref: 'sqlite:latest',
      variants: [
        {
          platform: { os: 'linux', architecture: '386' },
          config: { Entrypoint: ['/usr/bin/sqlite3'], Env: ENV, WorkingDir: '/' },
          layers: [[...linuxSkeletonDirs(), root, copyright, hostFile(join(artifacts, 'sqlite3'), 'usr/bin/sqlite3', 0o755)]],
          createdBy: 'boxplay images/sqlite: Debian sqlite3 source, gcc -m32 -static',
        },
        {
          platform: { os: 'wasi', architecture: 'wasm' },
          config: { Entrypoint: ['/usr/bin/sqlite3.wasm'], Env: ENV, WorkingDir: '/' },
          layers: [[{ type: 'dir', path: 'tmp', mode: 0o1777 }, root, copyright, hostFile(join(artifacts, 'sqlite3.wasm'), 'usr/bin/sqlite3.wasm', 0o755)]],
          createdBy: 'boxplay images/sqlite: Debian sqlite3 source, clang --target=wasm32-wasi',
        },
      ],
    }
  },
}
