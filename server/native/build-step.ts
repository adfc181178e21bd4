// Build step `native-core`: the Rust core (crates/) → dist/core/
//   boxplay-core.linux-x64-gnu.node   the Node-API addon, built by `napi build --platform`
//   boxplay-init                      the per-run helper binary it spawns
//   seccomp-<hash>.bpf                the default seccomp filter, compiled once
// Cargo takes crates from Debian's librust-*-dev through .cargo/config.toml (offline); the
// Rust toolchain itself (rustc/cargo ≥ 1.82) must be on PATH.

import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BuildStep } from '../setup/step.js'

const TARGET = 'x86_64-unknown-linux-gnu'

export const nativeCoreStep: BuildStep = {
  name: 'native-core',
  inputs: [
    '.cargo/config.toml',
    'crates/Cargo.toml',
    'crates/Cargo.lock',
    'crates/boxplay-container',
    'crates/boxplay-core',
    'server/native/build-step.ts',
  ],
  outputs: ['dist/core/boxplay-core.linux-x64-gnu.node', 'dist/core/boxplay-init'],
  packages: [
    'libseccomp-dev',
    'librust-libc-dev',
    'librust-serde-dev',
    'librust-serde-derive-dev',
    'librust-serde-json-dev',
    'pkg-config',
  ],
  async run(ctx) {
    const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
    if (cargo.status !== 0) {
      throw new Error('the native core needs a Rust toolchain (cargo, rustc ≥ 1.82) on PATH: install it with rustup, then run `npm run setup` again')
    }
    const out = join(ctx.distDir, 'core')
    mkdirSync(out, { recursive: true })
    const targetDir = join(ctx.cacheDir, 'target')
    const env = { ...process.env, CARGO_TARGET_DIR: targetDir }
    const opts = { cwd: ctx.root, env, stdio: ['ignore', 'inherit', 'inherit'] as ('ignore' | 'inherit')[] }
    execFileSync(
      join(ctx.root, 'node_modules', '.bin', 'napi'),
      ['build', '--platform', '--release', '--no-js', '--manifest-path', 'crates/boxplay-core/Cargo.toml',
        '--package-json-path', 'package.json', '--target-dir', targetDir, '--output-dir', out],
      opts,
    )
    execFileSync(
      'cargo',
      ['build', '--release', '--target', TARGET, '--manifest-path', 'crates/Cargo.toml', '-p', 'boxplay-container', '--bin', 'boxplay-init'],
      opts,
    )
    copyFileSync(join(targetDir, TARGET, 'release', 'boxplay-init'), join(out, 'boxplay-init'))
    // Compiles the default seccomp filter once into dist/core/seccomp-<hash>.bpf (see seccomp.rs).
    execFileSync(join(out, 'boxplay-init'), ['--prepare'], opts)
    ctx.log(`built ${out}`)
  },
}
