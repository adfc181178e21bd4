// Rootless mode: the core run by an ordinary user (uid 65534 via setpriv) maps that one user
// to root in the container (setgroups denied), with no cgroups to write on a v1 host.
// The stand-in program drives the addon directly: a plain .mjs that an unprivileged Node runs.

import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCore } from '../../server/native/core.js'
import type { CoreExited, CoreSpec } from '../../server/native/core-spec.js'
import { tempDir, unpackBusybox } from './fixture.js'

const NOBODY = 65534
let work: string
let base: string
let stateRoot: string
let script: string

beforeAll(() => {
  work = tempDir('rootless')
  chmodSync(work, 0o755)
  const mine = join(work, 'nobody')
  mkdirSync(mine)
  chownSync(mine, NOBODY, NOBODY)
  base = unpackBusybox(mine, NOBODY)
  stateRoot = join(mine, 'state')
  script = join(work, 'run.mjs')
  writeFileSync(
    script,
    `import { createRequire } from 'node:module'
const [addon, helper, specJson] = process.argv.slice(2)
const core = createRequire(import.meta.url)(addon)
const out = { stdout: '', stderr: '', events: [] }
core.spawn(helper, specJson, 0, 0, false, (kind, data) => {
  if (kind === 'stdout' || kind === 'stderr') out[kind] += data.toString()
  else out.events.push(JSON.parse(String(data)))
  if (kind === 'exit') process.stdout.write(JSON.stringify(out))
})
`,
  )
  removeScript = join(work, 'remove.mjs')
  writeFileSync(
    removeScript,
    `import { createRequire } from 'node:module'
const [addon, dir] = process.argv.slice(2)
process.stdout.write(JSON.stringify(createRequire(import.meta.url)(addon).removeRun(dir) ?? null))
`,
  )
})
let removeScript: string
afterAll(() => rmSync(work, { recursive: true, force: true }))

interface Result {
  stdout: string
  stderr: string
  events: [{ event: 'started'; rootless: boolean; cgroup: string | null } | CoreExited, ...CoreExited[]]
}

function runAsNobody(cmd: string, extra: Partial<CoreSpec> = {}): { out: Result; exit: CoreExited } {
  const { helper } = loadCore()
  const addon = join(helper, '..', 'boxplay-core.linux-x64-gnu.node')
  const spec: CoreSpec = {
    id: `rootless-${Math.random().toString(36).slice(2, 8)}`,
    ownerPid: 0, // replaced below: the owner is the unprivileged node process
    stateRoot,
    lowerDirs: [base],
    argv: ['sh', '-c', cmd],
    env: ['PATH=/bin'],
    cwd: '/',
    user: '',
    hostname: 'rootless-box',
    tty: false,
    limits: {},
    rlimits: [],
    seccomp: true,
    mounts: [],
    ...extra,
  }
  // The owner pid must be the stand-in's own; a tiny shell wrapper passes it via $$ + exec.
  const json = JSON.stringify(spec).replace('"ownerPid":0', '"ownerPid":__PID__')
  const text = execFileSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', 'exec "$0" "$1" "$2" "$3" "$(echo "$4" | sed "s/__PID__/$$/")"', process.execPath, script, addon, helper, json],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  )
  const out = JSON.parse(text) as Result
  return { out, exit: out.events[out.events.length - 1] as CoreExited }
}

describe('rootless native containers (as uid 65534)', () => {
  it('maps the user to root inside, with full namespace isolation', () => {
    const { out, exit } = runAsNobody('cat /proc/self/uid_map; cat /proc/self/setgroups; id -u; echo pid=$$; hostname; ls /sys/class/net; grep CapEff /proc/self/status')
    expect(exit.error).toBeNull()
    expect(exit.code).toBe(0)
    const lines = out.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '))
    expect(lines).toEqual(['0 65534 1', 'deny', '0', 'pid=1', 'rootless-box', 'lo', 'CapEff: 00000000a80425fb'])
    const started = out.events[0] as { rootless: boolean; cgroup: string | null }
    expect(started.rootless).toBe(true)
  })

  it('writes go to the run, not the layers, and the run dir is removed', () => {
    const before = readFileSync(join(base, 'etc', 'passwd'), 'utf8')
    const { out, exit } = runAsNobody('echo x >> /etc/passwd && echo new > /new && cat /new')
    expect(exit.code).toBe(0)
    expect(out.stdout).toBe('new\n')
    expect(readFileSync(join(base, 'etc', 'passwd'), 'utf8')).toBe(before)
    expect(readdirSync(stateRoot)).toEqual([])
  })

  it('denies what seccomp denies, rootless too', () => {
    const { out } = runAsNobody('unshare -U true 2>&1; echo rc=$?')
    expect(out.stdout).toMatch(/Operation not permitted/)
    expect(out.stdout).toMatch(/rc=1/)
  })

  it("says plainly that an image's other users cannot be mapped rootless", () => {
    const { exit } = runAsNobody('true', { user: '1000:1000' })
    expect(exit.code).toBe(125)
    expect(exit.error).toMatch(/cannot run rootless: only the caller's own id is mapped/)
  })

  it('says plainly when limits cannot be applied without a delegated cgroup', () => {
    const writable = (() => {
      try {
        execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'test', '-w', '/sys/fs/cgroup/memory'])
        return true
      } catch {
        return false
      }
    })()
    const { exit } = runAsNobody('true', { limits: { memoryBytes: 64 << 20 } })
    if (writable) {
      expect(exit.code).toBe(0)
    } else {
      expect(exit.code).toBe(125)
      expect(exit.error).toMatch(/limits need root, or a delegated cgroup v2 tree/)
      expect(readdirSync(stateRoot)).toEqual([])
    }
  })

  it('keeps its changes when asked, and the user itself can remove them (even a mode-000 dir)', () => {
    const { exit } = runAsNobody('echo new > /new && rm /etc/group && mkdir /locked && echo s > /locked/secret && chmod 000 /locked', { keepChanges: true })
    expect(exit.code).toBe(0)
    const dir = exit.changesDir!
    expect(dir).toMatch(new RegExp(`^${stateRoot}/`))
    expect(readFileSync(join(dir, 'upper', 'new'), 'utf8')).toBe('new\n')
    const whiteout = lstatSync(join(dir, 'upper', 'etc', 'group'))
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true)
    expect(lstatSync(join(dir, 'upper', 'new')).uid).toBe(NOBODY)
    const { helper } = loadCore()
    const addon = join(helper, '..', 'boxplay-core.linux-x64-gnu.node')
    const problem = execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, removeScript, addon, dir], { encoding: 'utf8' })
    expect(JSON.parse(problem)).toBeNull()
    expect(readdirSync(stateRoot)).toEqual([])
  })
})
