// `boxplay build --progress tty`: in a real pseudo-terminal (util-linux `script`), a live view
// redrawn in place (BuildKit's shape: a header, a line a step, CACHED, the running step's
// output), ending in FINISHED or ERROR; the plain log when the output is not a terminal.

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const cli = join(import.meta.dirname, '..', '..', 'dist', 'server', 'cli', 'main.js')
const scratch = mkdtempSync(join(tmpdir(), 'boxplay-build-tty-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const home = join(scratch, 'home')

function context(name: string, dockerfile: string): string {
  const dir = join(scratch, name)
  spawnSync('mkdir', ['-p', dir])
  writeFileSync(join(dir, 'Dockerfile'), dockerfile)
  return dir
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Runs the CLI in a pseudo-terminal 72 columns wide; returns what the terminal received. */
function inTerminal(args: string[]): { code: number | null; out: string } {
  const command = `stty cols 72; ${[process.execPath, cli, '--home', home, ...args].map(quote).join(' ')}`
  const res = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 120_000 })
  return { code: res.status, out: res.stdout }
}

const ok = context('ok', 'FROM busybox\nRUN echo a-line && echo b\nENV A=1\nCMD ["true"]\n')

describe('boxplay build --progress tty', () => {
  it('draws a live view in a terminal, redrawn in place, ending FINISHED with the digest', () => {
    const { code, out } = inTerminal(['build', '--progress', 'tty', '-t', 'tty-view', ok])
    expect(code, out).toBe(0)
    expect(out).toMatch(/\[\+\] Building \d+\.\ds \(4\/4\) FINISHED/)
    expect(out).toMatch(/\x1b\[\d+F\x1b\[J/)
    expect(out).toMatch(/ => #2 \[stage-0 1\/1\] RUN \/bin\/sh -c echo a-line && echo b +\d+\.\ds/)
    expect(out).toMatch(/ => naming to tty-view:latest/)
    // every line of a frame fits the terminal (a wrapped line would break the redraw)
    const frameLines = out.split(/\r?\n/).map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')).filter((l) => /^( => (CACHED )?#| => => #|\[\+\])/.test(l))
    expect(frameLines.length).toBeGreaterThan(4)
    for (const line of frameLines) expect(line.length, line).toBeLessThanOrEqual(72)
    const digest = /^sha256:[0-9a-f]{64}/m.exec(out.replace(/\r/g, ''))?.[0]
    // the plain log, piped, gives the same digest
    const plain = spawnSync(process.execPath, [cli, '--home', home, 'build', '--progress', 'tty', ok], { encoding: 'utf8' })
    expect(plain.status).toBe(0)
    expect(plain.stdout.trim()).toBe(digest)
    // not a terminal: --progress tty falls back to the plain lines
    expect(plain.stderr).toMatch(/^#2 CACHED$/m)
    expect(plain.stderr).not.toContain('\x1b[')
  })

  it('marks cached steps CACHED on a rebuild', () => {
    const { out } = inTerminal(['build', '--progress', 'tty', ok])
    expect(out).toMatch(/ => CACHED #2 \[stage-0 1\/1\] RUN/)
    expect(out).toMatch(/\(1 of \d steps cached\)|\(\d of \d steps cached\)/)
  })

  it('keeps the failing step and its last output lines on screen, ending ERROR', () => {
    const bad = context('bad', 'FROM busybox\nRUN echo about-to-fail && exit 4\n')
    const { code, out } = inTerminal(['build', '--progress', 'tty', bad])
    expect(code).not.toBe(0)
    expect(out).toMatch(/\[\+\] Building \d+\.\ds \(1\/2\) ERROR/)
    const last = out.slice(out.lastIndexOf('[+] Building'))
    expect(last).toMatch(/ => => # about-to-fail/)
    expect(out).toMatch(/Dockerfile:2/)
  })
})
