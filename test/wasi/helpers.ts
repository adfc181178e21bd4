// Shared set-up of the wasi tests: one Node wasi runtime per test file, a run helper that
// collects output, and the small image tree the conformance programs expect.

import type { RootFs } from '../../web/oci/rootfs.js'
import { conformanceTree } from './conformance-tree.js'
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

export { conformanceTree }

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
