// Helpers for the store and CLI suites: tar archives crafted with python3's tarfile (any
// entry a hostile layer could hold), running the CLI in-process or as a real process.

import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { main } from '../../server/cli/main.js'
import { packageRoot } from '../../server/store/paths.js'

export interface CraftedEntry {
  name: string
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo'
  data?: string
  linkname?: string
  mode?: number
  uid?: number
  gid?: number
  mtime?: number
  devmajor?: number
  devminor?: number
  /** pax header records (e.g. SCHILY.xattr.user.foo) */
  pax?: Record<string, string>
}

const PY = `
import io, json, sys, tarfile
spec = json.load(sys.stdin)
buf = io.BytesIO()
types = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE,
         'char': tarfile.CHRTYPE, 'block': tarfile.BLKTYPE, 'fifo': tarfile.FIFOTYPE}
with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
    for e in spec:
        ti = tarfile.TarInfo(e['name'])
        ti.type = types[e.get('type', 'file')]
        ti.mode = e.get('mode', 0o755 if ti.type == tarfile.DIRTYPE else 0o644)
        ti.uid = e.get('uid', 0); ti.gid = e.get('gid', 0)
        ti.mtime = e.get('mtime', 1700000000)
        ti.linkname = e.get('linkname', '')
        ti.devmajor = e.get('devmajor', 0); ti.devminor = e.get('devminor', 0)
        if e.get('pax'): ti.pax_headers = e['pax']
        data = e.get('data', '').encode('utf-8', 'surrogateescape')
        if ti.type == tarfile.REGTYPE:
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
        else:
            tar.addfile(ti)
sys.stdout.buffer.write(buf.getvalue())
`

/** A tar archive holding exactly these entries (names are NOT sanitised: that is the point). */
export function craftTar(entries: CraftedEntry[]): Uint8Array {
  const r = spawnSync('python3', ['-c', PY], { input: JSON.stringify(entries), maxBuffer: 1 << 28 })
  if (r.status !== 0) throw new Error(`python3 tarfile failed: ${r.stderr.toString()}`)
  return new Uint8Array(r.stdout)
}

class Collect extends Writable {
  text = ''
  isTTY = false
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString()
    cb()
  }
}

/** Runs the CLI in this process (fast); returns exit code and output. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collect()
  const stderr = new Collect()
  const code = await main(args, { stdout, stderr, env: { ...process.env, ...env } })
  return { code, stdout: stdout.text, stderr: stderr.text }
}

/** The compiled CLI (built by `npm test`'s pretest / `npx tsc -p .`). */
export function cliBin(): string {
  const bin = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npx tsc -p .\` first (npm test does)`)
  return bin
}

/** Runs the compiled CLI as its own process. */
export function cliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}
