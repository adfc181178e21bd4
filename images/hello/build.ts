// hello:latest: images/hello/hello.c built twice, as an image index with a linux/386
// manifest (static i386 binary at /usr/bin/hello) and a wasi/wasm manifest (module at
// /usr/bin/hello.wasm). Entrypoint is the program, with no Cmd: `hello` alone prints its
// facts and arguments after the image name become its actions.

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { ImageBuild } from '../image-step.js'
import { hostFile, linuxSkeletonDirs } from '../host-files.js'
import { I386_PACKAGES, WASI_PACKAGES, compileAll, link, wasiSysroot } from '../toolchain.js'

const ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']

export const hello: ImageBuild = {
  name: 'hello',
  inputs: ['images/hello/hello.c', 'images/hello/build.ts', 'images/toolchain.ts', 'images/wasi-cwd'],
  packages: [...I386_PACKAGES, ...WASI_PACKAGES],
  async build(ctx) {
    const out = join(ctx.cacheDir, 'artifacts')
    mkdirSync(out, { recursive: true })
    const source = join(ctx.root, 'images', 'hello', 'hello.c')
    const warn = ['-Wall', '-Wextra', '-Werror']
    // -s strips symbols: smaller layers, and nothing from the build path in the binary.
    link('gcc', ['-m32', '-static', '-O2', '-s', ...warn, source, '-o', join(out, 'hello')], out)
    const sysroot = wasiSysroot(ctx.cacheDir)
    const wasmFlags = ['--target=wasm32-wasi', `--sysroot=${sysroot}`, '-O2', ...warn]
    const startInPwd = join(ctx.root, 'images', 'wasi-cwd', 'start-in-pwd.c')
    const wasmJobs = [
      { source, object: join(out, 'hello.o'), flags: wasmFlags },
      { source: startInPwd, object: join(out, 'start-in-pwd.o'), flags: wasmFlags },
    ]
    await compileAll('clang', wasmJobs, out)
    link('clang', ['--target=wasm32-wasi', `--sysroot=${sysroot}`, '-Wl,--strip-all', ...wasmJobs.map((j) => j.object), '-o', join(out, 'hello.wasm')], out)
  },
  async recipe(cacheDir) {
    const out = join(cacheDir, 'artifacts')
    return {
      ref: 'hello:latest',
      variants: [
        {
          platform: { os: 'linux', architecture: '386' },
          config: { Entrypoint: ['/usr/bin/hello'], Env: ENV, WorkingDir: '/' },
          layers: [[...linuxSkeletonDirs(), hostFile(join(out, 'hello'), 'usr/bin/hello', 0o755)]],
          createdBy: 'boxplay images/hello: gcc -m32 -static hello.c',
        },
        {
          platform: { os: 'wasi', architecture: 'wasm' },
          config: { Entrypoint: ['/usr/bin/hello.wasm'], Env: ENV, WorkingDir: '/' },
          layers: [[{ type: 'dir', path: 'tmp', mode: 0o1777 }, hostFile(join(out, 'hello.wasm'), 'usr/bin/hello.wasm', 0o755)]],
          createdBy: 'boxplay images/hello: clang --target=wasm32-wasi hello.c',
        },
      ],
    }
  },
}
