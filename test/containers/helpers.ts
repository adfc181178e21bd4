// Runs the built CLI (dist/) as a user would, each test file with its own image store and
// its own BOXPLAY_STATE_DIR (short, so socket paths stay short), and removes every
// container it made afterwards.

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'

const cli = join(import.meta.dirname, '..', '..', 'dist', 'server', 'cli', 'main.js')

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

export class Sandbox {
  readonly home = mkdtempSync(join(tmpdir(), 'boxplay-containers-'))
  readonly state = mkdtempSync('/tmp/bxc-')

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, BOXPLAY_HOME: this.home, BOXPLAY_STATE_DIR: this.state }
  }

  run(args: string[], opts: { input?: string; timeout?: number } = {}): Result {
    const res = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: this.env, timeout: opts.timeout ?? 120_000, input: opts.input ?? '' })
    return { code: res.status, stdout: res.stdout, stderr: res.stderr }
  }

  /** A CLI call that keeps running (logs -f, wait): resolves when it ends. */
  start(args: string[]): { done: Promise<Result> } {
    const child = spawn(process.execPath, [cli, ...args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    return { done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) }
  }

  /** Removes every container (killing running ones) and both directories. */
  cleanup(): void {
    const listed = this.run(['ps', '-a', '-q', '--no-trunc'])
    if (listed.code !== 0) throw new Error(`cannot list the test's containers to remove them: ${listed.stderr}`)
    const ids = listed.stdout.split('\n').filter(Boolean)
    if (ids.length) this.run(['rm', '-f', ...ids])
    rmSync(this.home, { recursive: true, force: true })
    rmSync(this.state, { recursive: true, force: true })
    // The native runtime writes its probe memo beside its state dir.
    for (const name of readdirSync(dirname(this.state))) {
      if (name.startsWith(`${basename(this.state)}.host-probes`)) rmSync(join(dirname(this.state), name), { force: true })
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `fn` until it returns true (no timing asserted: the test's own timeout bounds it). */
export async function until(fn: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await sleep(50)
  }
}
