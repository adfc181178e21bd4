// lua:latest: Lua 5.4 from Debian's source package (Debian's patches applied, which
// include two CVE fixes), built as an image index with a linux/386 manifest (static
// /usr/bin/lua) and a wasi/wasm manifest (/usr/bin/lua.wasm). Both carry the same fixed
// CPU workload at /usr/share/lua/bench.lua. Entrypoint is the interpreter with no Cmd.
//
// Lua's errors (error, pcall) use setjmp/longjmp. wasi-libc 2022 has neither, so the wasm
// build compiles with clang 14's wasm-exception-based setjmp lowering (-mexception-handling
// -mllvm -wasm-enable-sjlj) and links our small runtime for it (images/wasi-sjlj). The
// module thus needs wasm exception handling: Node 20 and Chromium have it.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { aptRoot, aptSource } from '../apt-local.js'
import type { ImageBuild } from '../image-step.js'
import { hostFile, linuxSkeletonDirs } from '../host-files.js'
import type { LayerEntry } from '../tar-writer.js'
import { type CompileJob, I386_PACKAGES, WASI_PACKAGES, compileAll, link, wasiSysroot } from '../toolchain.js'

const ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']
// Debian's build uses the 5.3 compatibility functions too (math.pow and friends).
const COMMON = ['-O2', '-std=gnu99', '-DLUA_COMPAT_5_3', '-w']

/** Lua's own sources that make the `lua` interpreter (everything but the luac compiler). */
function luaSources(srcDir: string): string[] {
  return readdirSync(join(srcDir, 'src'))
    .filter((f) => f.endsWith('.c') && f !== 'luac.c')
    .sort()
    .map((f) => join(srcDir, 'src', f))
}

/** Debian's luaconf.h patch includes this generated header to name the multiarch lib dir. */
function multiarchHeader(dir: string, triplet: string): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'lua5.4-deb-multiarch.h'), `#define DEB_HOST_MULTIARCH "${triplet}"\n`)
}

function objects(sources: string[], outDir: string, flags: string[]): CompileJob[] {
  return sources.map((source) => ({ source, object: join(outDir, source.replace(/^.*\//, '').replace(/\.c$/, '.o')), flags }))
}

export const lua: ImageBuild = {
  name: 'lua',
  inputs: ['images/lua', 'images/wasi-sjlj', 'images/wasi-cwd', 'images/apt-local.ts', 'images/toolchain.ts'],
  packages: [...I386_PACKAGES, ...WASI_PACKAGES, 'apt', 'dpkg-dev'],
  async build(ctx) {
    const srcDir = aptSource(aptRoot(join(ctx.cacheDir, 'apt-src'), 'deb-src'), 'lua5.4', join(ctx.cacheDir, 'source'))
    const sources = luaSources(srcDir)
    const artifacts = join(ctx.cacheDir, 'artifacts')
    const i386 = join(ctx.cacheDir, 'obj-i386')
    const wasm = join(ctx.cacheDir, 'obj-wasm')
    for (const dir of [artifacts, i386, wasm]) {
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir, { recursive: true })
    }

    // linux/386: POSIX features (popen, mkstemp, isatty) but not LUA_USE_LINUX's dlopen,
    // which static glibc cannot really do.
    multiarchHeader(i386, 'i386-linux-gnu')
    const i386Flags = ['-m32', ...COMMON, '-DLUA_USE_POSIX', `-I${i386}`]
    const i386Jobs = objects(sources, i386, i386Flags)
    await compileAll('gcc', i386Jobs, i386)
    link('gcc', ['-m32', '-static', '-s', ...i386Jobs.map((j) => j.object), '-lm', '-o', join(artifacts, 'lua')], i386)

    // wasi/wasm
    const sysroot = wasiSysroot(ctx.cacheDir)
    const here = join(ctx.root, 'images')
    multiarchHeader(wasm, 'wasm32-wasi')
    const wasmFlags = [
      '--target=wasm32-wasi',
      `--sysroot=${sysroot}`,
      ...COMMON,
      '-mexception-handling',
      '-mllvm',
      '-wasm-enable-sjlj',
      '-D_WASI_EMULATED_SIGNAL',
      '-D_WASI_EMULATED_PROCESS_CLOCKS',
      `-isystem${join(here, 'wasi-sjlj')}`,
      `-I${wasm}`,
      '-include',
      join(here, 'lua', 'wasi-compat.h'),
    ]
    const wasmJobs = [
      ...objects(sources, wasm, wasmFlags),
      { source: join(here, 'lua', 'wasi-compat.c'), object: join(wasm, 'boxplay-wasi-compat.o'), flags: wasmFlags },
      { source: join(here, 'wasi-sjlj', 'sjlj-runtime.c'), object: join(wasm, 'boxplay-sjlj-runtime.o'), flags: wasmFlags },
      { source: join(here, 'wasi-cwd', 'start-in-pwd.c'), object: join(wasm, 'boxplay-start-in-pwd.o'), flags: wasmFlags },
    ]
    await compileAll('clang', wasmJobs, wasm)
    link(
      'clang',
      [
        '--target=wasm32-wasi',
        `--sysroot=${sysroot}`,
        '-mexception-handling',
        '-Wl,--strip-all',
        // The default 64 KiB stack overflows in deep Lua recursion; native Lua has megabytes.
        '-Wl,-z,stack-size=1048576',
        ...wasmJobs.map((j) => j.object),
        '-lwasi-emulated-signal',
        '-lwasi-emulated-process-clocks',
        '-o',
        join(artifacts, 'lua.wasm'),
      ],
      wasm,
    )
  },
  async recipe(cacheDir, root) {
    const artifacts = join(cacheDir, 'artifacts')
    const bench = hostFile(join(root, 'images', 'lua', 'bench.lua'), 'usr/share/lua/bench.lua', 0o644)
    const copyright = hostFile(join(cacheDir, 'source', 'lua5.4-src', 'debian', 'copyright'), 'usr/share/doc/lua5.4/copyright', 0o644)
    const shared: LayerEntry[] = [bench, copyright, { type: 'dir', path: 'tmp', mode: 0o1777 }]
    return {
      ref: 'lua:latest',
      variants: [
        {
          platform: { os: 'linux', architecture: '386' },
          config: { Entrypoint: ['/usr/bin/lua'], Env: ENV, WorkingDir: '/' },
          layers: [[...linuxSkeletonDirs(), ...shared.filter((e) => e.path !== 'tmp'), hostFile(join(artifacts, 'lua'), 'usr/bin/lua', 0o755)]],
          createdBy: 'boxplay images/lua: Debian lua5.4 source, gcc -m32 -static',
        },
        {
          platform: { os: 'wasi', architecture: 'wasm' },
          config: { Entrypoint: ['/usr/bin/lua.wasm'], Env: ENV, WorkingDir: '/' },
          layers: [[...shared, hostFile(join(artifacts, 'lua.wasm'), 'usr/bin/lua.wasm', 0o755)]],
          createdBy: 'boxplay images/lua: Debian lua5.4 source, clang --target=wasm32-wasi with wasm setjmp',
        },
      ],
    }
  },
}
