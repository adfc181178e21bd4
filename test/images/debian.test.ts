// The bundled debian:latest through the compiled CLI, as a user runs it: bash, procps' `ps`
// and python3 in a native container on both platforms (i386 through IA32 emulation) and in
// the v86 VM, plus what the build promised to leave out.

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LAYOUT, readBlob, refDescriptor } from './layout-helpers.js'
import { parseIndex, parseManifest } from '../../web/oci/manifest.js'
import { readTarSync } from '../../web/oci/tar.js'
import { gunzipSync } from 'node:zlib'

const cli = join(import.meta.dirname, '..', '..', 'dist', 'server', 'cli', 'main.js')
const home = mkdtempSync(join(tmpdir(), 'boxplay-debian-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

function boxplay(args: string[]) {
  const res = spawnSync(process.execPath, [cli, '--home', home, ...args], { encoding: 'utf8', timeout: 120_000 })
  return { code: res.status, stdout: res.stdout, stderr: res.stderr }
}

// One shell line that proves each promised tool: bash itself, procps, python3, coreutils.
const SCRIPT = 'echo "bash $BASH_VERSION"; ps -o pid=,comm=; python3 -c "print(6*7)"; ls --version | head -1; uname -m'

function expectDebianAnswers(stdout: string, machine: RegExp): void {
  const lines = stdout.trim().split('\n').map((l) => l.trim())
  expect(lines[0]).toMatch(/^bash 5\.2\./)
  // bash is PID 1 in a container and ps its child; in the VM they sit under boxplay's init.
  expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\d+ bash$/), expect.stringMatching(/^\d+ ps$/)]))
  expect(lines).toContain('42')
  expect(lines).toContain('ls (GNU coreutils) 9.1')
  expect(lines.at(-1)).toMatch(machine)
}

describe('debian:latest', () => {
  it('runs bash, ps and python3 natively as linux/386', () => {
    const r = boxplay(['run', '--runtime', 'native', '--platform', 'linux/386', 'debian', '--', 'bash', '-c', `${SCRIPT}; file=$(readlink -f /usr/bin/python3); od -An -tx1 -j4 -N1 $file`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // The host kernel says x86_64 either way; the ELF class byte says the binaries are 32-bit.
    expect(r.stdout.trim().split('\n').at(-1)!.trim()).toBe('01')
    expectDebianAnswers(r.stdout.trim().split('\n').slice(0, -1).join('\n'), /^x86_64$/)
  })

  it('runs bash, ps and python3 natively as linux/amd64', () => {
    const r = boxplay(['run', '--runtime', 'native', '--platform', 'linux/amd64', 'debian', '--', 'bash', '-c', `${SCRIPT}; od -An -tx1 -j4 -N1 /usr/bin/python3.11`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split('\n').at(-1)!.trim()).toBe('02')
    expectDebianAnswers(r.stdout.trim().split('\n').slice(0, -1).join('\n'), /^x86_64$/)
  })

  it('runs bash, ps and python3 in the v86 VM', () => {
    // Slow (seconds: every file the guest opens crosses 9p); figures are in images/README.md.
    const r = boxplay(['run', '--runtime', 'v86', 'debian', '--', 'bash', '-c', SCRIPT])
    expect(r.code).toBe(0)
    expectDebianAnswers(r.stdout, /^i686$/)
  }, 180_000)

  it('ships both platforms without man pages, docs, locales or apt lists', async () => {
    const index = parseIndex(await readBlob(LAYOUT, refDescriptor(LAYOUT, 'debian:latest')))
    expect(index.manifests.map((m) => m.platform?.architecture).sort()).toEqual(['386', 'amd64'])
    const manifest = parseManifest(await readBlob(LAYOUT, index.manifests.find((m) => m.platform?.architecture === '386')!))
    expect(manifest.layers).toHaveLength(1)
    const paths = [...readTarSync(gunzipSync(await readBlob(LAYOUT, manifest.layers[0]!)))].map((e) => e.path.replace(/^\.?\//, ''))
    expect(paths).toContain('usr/bin/python3.11')
    expect(paths).toContain('usr/share/doc/bash/copyright')
    const unwanted = paths.filter((p) =>
      /^usr\/share\/(man|locale|info)\/./.test(p) || /^var\/lib\/apt\/lists\/./.test(p) || /^var\/cache\/apt\/./.test(p) ||
      (/^usr\/share\/doc\/./.test(p) && !/\/copyright$/.test(p) && !/^usr\/share\/doc\/[^/]+\/?$/.test(p)),
    )
    expect(unwanted).toEqual([])
    // perl-base is Essential and stays; the full perl (usrmerge's dependency) must not come.
    expect(paths.some((p) => p.startsWith('usr/share/perl/'))).toBe(false)
  })
})
