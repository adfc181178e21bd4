// Shared set-up of the wasi tests: one Node wasi runtime per test file, a run helper that
// collects output, and the small image tree the conformance programs expect.

import { RootFs, type FileNode } from '../../web/oci/rootfs.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { RunSpec } from '../../web/runtimes/runtime.js'
import type { WasiRuntime } from '../../web/runtimes/wasi/runtime.js'
import { wasmFileImage } from '../../web/runtimes/wasi/wasm-file.js'
import { nodeWasiRuntime } from '../../server/wasi/runtime.js'
import { ensureCompiledWorker, programBytes } from './programs.js'

export function makeRuntime(): WasiRuntime {
  ensureCompiledWorker()
  return nodeWasiRuntime()
}

/** The tree the conformance programs check against: a file with a known mtime, hardlinks, a symlinked dir. */
export function conformanceTree(): RootFs {
  const fs = new RootFs()
  const etc = fs.mkdirp('/etc')
  const fixed: FileNode = { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1234567890, data: new TextEncoder().encode('fixed\n') }
  etc.entries.set('fixed', fixed)
  const hard: FileNode = { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1234567890, data: new TextEncoder().encode('hard\n') }
  etc.entries.set('hard1', hard)
  etc.entries.set('hard2', hard)
  fs.root.entries.set('lib', { kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, target: 'etc' })
  fs.mkdirp('/tmp', { mode: 0o1777 })
  return fs
}

export async function programImage(name: string, rootfs?: RootFs) {
  return wasmFileImage(programBytes(name), { fileName: `${name}.wasm`, ...(rootfs ? { rootfs } : {}) })
}

export async function runToEnd(runtime: WasiRuntime, spec: RunSpec) {
  const run = await runtime.start(spec)
  const result = await collectOutput(run)
  return { run, ...result }
}

/** Lines of a conformance program's output that report failures. */
export function failures(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('FAIL'))
}
