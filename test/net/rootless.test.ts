// Published ports rootless: the core run by an unprivileged user (uid 65534 via setpriv, as in
// test/native/rootless.test.ts) forwards a host port on 127.0.0.1 into a container whose
// network namespace has only lo: the proxy enters the container's user and network
// namespaces, which that user owns. User networks (bridges) need root and say so.

import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCore } from '../../server/native/core.js'
import type { CoreExited, CoreSpec, CoreStarted } from '../../server/native/core-spec.js'
import { tempDir, unpackBusybox } from '../native/fixture.js'
import { getWhenUp, httpdCommand } from './helpers.js'

const NOBODY = 65534
const root = process.getuid?.() === 0
let work: string
let base: string
let stateRoot: string
let script: string

beforeAll(() => {
  if (!root) return
  work = tempDir('net-rootless')
  chmodSync(work, 0o755)
  const mine = join(work, 'nobody')
  mkdirSync(mine)
  chownSync(mine, NOBODY, NOBODY)
  base = unpackBusybox(mine, NOBODY)
  stateRoot = join(mine, 'state')
  script = join(work, 'run.mjs')
  // Prints each event as a JSON line as it comes; output is collected into the last one.
  writeFileSync(
    script,
    `import { createRequire } from 'node:module'
const [addon, helper, specJson] = process.argv.slice(2)
const core = createRequire(import.meta.url)(addon)
let stdout = ''
core.spawn(helper, specJson.replace('"ownerPid":0', '"ownerPid":' + process.pid), 0, 0, false, (kind, data) => {
  if (kind === 'stdout') stdout += data.toString()
  else if (kind === 'event' || kind === 'exit') process.stdout.write(JSON.stringify({ kind, stdout, ...JSON.parse(String(data)) }) + '\\n')
})
`,
  )
})
afterAll(() => {
  if (root) rmSync(work, { recursive: true, force: true })
})

type Event = (CoreStarted | CoreExited) & { kind: 'event' | 'exit'; stdout: string }

/** Starts a run as nobody; events arrive on `next()`. */
function startAsNobody(argv: string[], extra: Partial<CoreSpec> = {}): { child: ChildProcess; next: () => Promise<Event> } {
  const { helper } = loadCore()
  const spec: CoreSpec = {
    id: `netrl-${Math.random().toString(36).slice(2, 8)}`,
    ownerPid: 0,
    stateRoot,
    lowerDirs: [base],
    argv,
    env: ['PATH=/bin'],
    cwd: '/',
    user: '',
    hostname: 'rootless-web',
    tty: false,
    limits: {},
    rlimits: [],
    seccomp: true,
    mounts: [],
    ...extra,
  }
  const child = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, script, join(helper, '..', 'boxplay-core.linux-x64-gnu.node'), helper, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  return {
    child,
    next: async () => {
      const { value, done } = await lines.next()
      if (done) throw new Error('the rootless run ended without another event')
      return JSON.parse(value as string) as Event
    },
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.on('connect', () => (s.destroy(), resolve(false)))
    s.on('error', () => resolve(true))
  })
}

describe.runIf(root)('published ports rootless (as uid 65534)', () => {
  it('busybox httpd answers on a published port; the container has only lo; all goes when the owner dies', async () => {
    const { child, next } = startAsNobody(httpdCommand('hello rootless'), { ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80 }] })
    const started = (await next()) as CoreStarted & { kind: string }
    expect(started).toMatchObject({ event: 'started', rootless: true })
    const port = started.ports![0]!.hostPort
    expect(port).toBeGreaterThan(0)
    expect(await getWhenUp(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'hello rootless\n' })
    // The owner is SIGKILLed: the monitor sees its control socket close, kills the container,
    // and the proxy goes with the monitor.
    child.kill('SIGKILL')
    await new Promise((r) => child.once('close', r))
    for (let i = 0; i < 200 && !(await refused(port)); i++) await new Promise((r) => setTimeout(r, 25))
    expect(await refused(port)).toBe(true)
    for (let i = 0; i < 200 && readdirSync(stateRoot).length > 0; i++) await new Promise((r) => setTimeout(r, 25))
    expect(readdirSync(stateRoot)).toEqual([])
  })

  it('--network none: only lo inside, -p too', async () => {
    const { next } = startAsNobody(['ls', '/sys/class/net'], { ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80 }] })
    expect((await next()).kind).toBe('event')
    const exited = (await next()) as CoreExited & { stdout: string }
    expect(exited).toMatchObject({ event: 'exited', code: 0, error: null })
    expect(exited.stdout).toBe('lo\n')
  })

  it('says plainly that user networks need root', async () => {
    const { next } = startAsNobody(['true'], { network: { bridge: 'bpl-none', hostIfname: 'bpvnone', address: '10.200.9.2', prefixLen: 24 } })
    const exited = (await next()) as CoreExited
    expect(exited.code).toBe(125)
    expect(exited.error).toMatch(/user networks need root .*use --network none with -p, which works rootless/)
  })
})
