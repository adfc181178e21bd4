// The official wasi-testsuite through the browser wasi runtime (module web workers), as
// `boxplay run --runtime wasi FILE.wasm --dir ROOT::/` runs it in Node: a bare module, the
// case's root directory mapped at "/" (here from a tree the test sends, since a page has
// no host directories), exactly the env asked for, stdin at EOF. The test judges results.

import { RootFs, type DirNode, type Node } from '../../../web/oci/rootfs.js'
import { collectOutput } from '../../../web/runtimes/run-base.js'
import { browserWasiRuntime } from '../../../web/runtimes/wasi/browser.js'
import { wasmFileImage } from '../../../web/runtimes/wasi/wasm-file.js'

/** A tree that survives page.evaluate: file bytes as base64, entries as pairs. */
export type PlainNode =
  | { kind: 'file'; mode: number; mtime: number; base64: string }
  | { kind: 'symlink'; mode: number; mtime: number; target: string }
  | { kind: 'dir'; mode: number; mtime: number; entries: [string, PlainNode][] }

export interface BrowserCase {
  name: string
  /** Where the page fetches the module, relative to the site root. */
  wasmUrl: string
  args: string[]
  env: Record<string, string>
  root?: PlainNode
}

export interface BrowserResult {
  name: string
  code: number
  stdout: string
  stderr: string
}

declare global {
  interface Window {
    boxplayWasiSuite: { run(cases: BrowserCase[], concurrency: number): Promise<BrowserResult[]> }
  }
}

function fromPlain(n: PlainNode): Node {
  const meta = { mode: n.mode, uid: 0, gid: 0, mtime: n.mtime }
  if (n.kind === 'file') return { kind: 'file', ...meta, data: Uint8Array.from(atob(n.base64), (c) => c.charCodeAt(0)) }
  if (n.kind === 'symlink') return { kind: 'symlink', ...meta, target: n.target }
  return { kind: 'dir', ...meta, entries: new Map(n.entries.map(([name, child]) => [name, fromPlain(child)])) }
}

const roots = new Map<string, PlainNode>()
const runtime = browserWasiRuntime({
  // hostPath names a tree sent with the case; what the run changes is kept in the worker's delta only.
  loadMount: async (mount) => {
    const plain = roots.get(mount.hostPath)
    if (plain === undefined || plain.kind !== 'dir') throw new Error(`no tree was sent for ${mount.hostPath}`)
    return { root: new RootFs(fromPlain(plain) as DirNode), writeBack: async () => {} }
  },
})

async function runCase(c: BrowserCase): Promise<BrowserResult> {
  const response = await fetch(new URL(c.wasmUrl, location.href))
  if (!response.ok) throw new Error(`${c.wasmUrl} is not served: ${response.status}`)
  const bytes = new Uint8Array(await response.arrayBuffer())
  const image = await wasmFileImage(bytes, { fileName: `${c.name.replace(/^.*\//, '')}.wasm`, bare: true })
  if (c.root) roots.set(c.name, c.root)
  const run = await runtime.start({
    image,
    cmd: c.args,
    env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
    mounts: c.root ? [{ hostPath: c.name, guestPath: '/' }] : [],
    limits: { timeoutMs: 60_000 },
  })
  run.closeStdin()
  const { stdout, stderr, status } = await collectOutput(run)
  roots.delete(c.name)
  return { name: c.name, code: status.code, stdout, stderr }
}

window.boxplayWasiSuite = {
  async run(cases, concurrency) {
    const results: BrowserResult[] = new Array(cases.length)
    let next = 0
    const out = document.getElementById('out')!
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < cases.length) {
          const i = next++
          results[i] = await runCase(cases[i]!)
          out.textContent += `${results[i]!.name}: exit ${results[i]!.code}\n`
        }
      }),
    )
    return results
  },
}
document.getElementById('status')!.textContent = 'ready'
document.getElementById('status')!.setAttribute('data-ready', '')
