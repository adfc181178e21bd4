// Fixtures for the tests of the HTTP layer alone (auth, Host/Origin checks, limits, the
// attach protocol's framing). The runtime here runs the command as a plain host process: it
// stands in for the native core only where the core is not what is being tested; the suites
// in native-*.test.ts drive the real NativeRuntime and the real store.

import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Platform } from '../../web/oci/platform.js'
import { RunBase } from '../../web/runtimes/run-base.js'
import { resolveProcess, type Availability, type Run, type RunImage, type Runtime, type RunSpec } from '../../web/runtimes/runtime.js'
import type { ImageService } from '../../server/http/image-service.js'

class HostProcessRun extends RunBase {
  private child
  constructor(spec: RunSpec) {
    super('native')
    const { argv, env, cwd } = resolveProcess(spec)
    this.child = spawn(argv[0]!, argv.slice(1), {
      cwd: cwd === '/' ? tmpdir() : cwd,
      env: Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.phase('start')
    this.facts.pid1 = argv[0]!
    if (!spec.stdin && !spec.tty) this.child.stdin.end()
    this.child.stdin.on('error', () => {})
    this.child.stdout.on('data', (d: Buffer) => this.emit('stdout', new Uint8Array(d)))
    this.child.stderr.on('data', (d: Buffer) => this.emit('stderr', new Uint8Array(d)))
    this.child.on('error', (e) => this.finish({ code: 127, reason: 'error', message: e.message }))
    this.child.on('close', (code, signal) => {
      this.phase('run')
      if (signal) this.finish({ code: 128 + 9, signal, reason: 'killed' })
      else this.finish({ code: code ?? 0, reason: 'exited' })
    })
  }
  write(data: Uint8Array | string): void {
    this.child.stdin.write(data)
  }
  closeStdin(): void {
    this.child.stdin.end()
  }
  resize(cols: number, rows: number): void {
    this.facts.size = `${cols}x${rows}`
  }
  kill(signal = 'SIGKILL'): void {
    this.child.kill(signal as NodeJS.Signals)
  }
}

export class HostProcessRuntime implements Runtime {
  readonly kind = 'native' as const
  async available(): Promise<Availability> {
    return { ok: true }
  }
  supports(p: Platform): boolean {
    return p.os === 'linux' && p.architecture === 'amd64'
  }
  async start(spec: RunSpec): Promise<Run> {
    return new HostProcessRun(spec)
  }
}

/** A store of one image, `sh:latest` (linux/amd64, Cmd ["sh"]), and one blob on disk. */
export async function fixtureImages(): Promise<ImageService & { blobDigest: string; blobBytes: Uint8Array }> {
  const dir = await mkdtemp(join(tmpdir(), 'boxplay-http-'))
  await mkdir(join(dir, 'blobs'), { recursive: true })
  const blobBytes = new Uint8Array(100_000).map((_, i) => (i * 7) % 251)
  const hex = createHash('sha256').update(blobBytes).digest('hex')
  await writeFile(join(dir, 'blobs', hex), blobBytes)
  const names = new Set(['sh:latest'])
  const image = (name: string): RunImage => {
    if (!names.has(name)) throw new Error(`image ${name} not found in the store`)
    return {
      name,
      digest: `sha256:${'0'.repeat(64)}`,
      platform: { os: 'linux', architecture: 'amd64' },
      config: { Cmd: ['sh'] },
      layers: [],
      blob: async () => blobBytes,
    }
  }
  return {
    blobDigest: `sha256:${hex}`,
    blobBytes,
    list: async () => [...names].map((name) => ({ name })),
    inspect: async (name) => ({ name, platforms: ['linux/amd64'], config: image(name).config }),
    pull: async (ref, o) => {
      if (!ref.startsWith('127.0.0.1')) throw new Error(`invalid reference ${ref}`)
      o.onProgress('fetching', 1, 2)
      o.onProgress('fetching', 2, 2)
      names.add(ref)
      return ref
    },
    load: async () => {
      throw new Error('the archive is not a docker-save or OCI archive: no manifest.json or index.json in it')
    },
    remove: async (name) => {
      if (!names.delete(name)) throw new Error(`image ${name} not found in the store`)
    },
    runImage: async (name) => image(name),
    manifest: async (ref) => {
      image(ref)
      return { mediaType: 'application/vnd.oci.image.index.v1+json', bytes: new TextEncoder().encode('{"schemaVersion":2,"manifests":[]}'), digest: `sha256:${'1'.repeat(64)}` }
    },
    blobFile: async (digest) => (digest === `sha256:${hex}` ? { path: join(dir, 'blobs', hex), size: blobBytes.byteLength } : undefined),
  }
}
