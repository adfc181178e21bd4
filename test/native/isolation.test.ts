// What a native container sees, through the TypeScript API with real namespaces, overlayfs,
// cgroups, capabilities and seccomp (as root: container ids map to host 100000+).

import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectOutput } from '../../web/runtimes/run-base.js'
import type { ImageConfig, RunSpec } from '../../web/runtimes/runtime.js'
import { image, makeLayer, tempDir, unpackBusybox } from './fixture.js'

let work: string
let base: string

beforeAll(() => {
  work = tempDir('isolation')
  base = unpackBusybox(work)
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 10))
}

async function run(cmd: string, extra: Partial<RunSpec> = {}, layers?: string[], config?: ImageConfig) {
  const { image: img, runtime } = image(layers ?? [base], config)
  const r = await runtime.start({ image: img, cmd: ['sh', '-c', cmd], ...extra })
  return { run: r, ...(await collectOutput(r)) }
}

describe('a native container', () => {
  it('runs the command as PID 1 under its own hostname, with only loopback', async () => {
    const { stdout, status, run: r } = await run('echo pid=$$; hostname; ls /sys/class/net; cat /proc/1/cmdline | tr "\\0" " "; echo; ulimit -n; uname -r')
    expect(status).toEqual({ code: 0, reason: 'exited' })
    const [pid, host, nets, cmdline, nofile, kernel] = stdout.trim().split('\n')
    expect(nofile).toBe('1024') // the default NOFILE rlimit
    expect(kernel).toBe(r.facts.kernel)
    expect(pid).toBe('pid=1')
    expect(host).not.toBe(hostname())
    expect(host).toBe(r.facts.hostname)
    expect(nets).toBe('lo')
    expect(cmdline).toMatch(/^sh -c echo pid/)
    expect(typeof r.facts.pid1).toBe('number')
    expect(r.timings.map((t) => t.name)).toEqual(['prepare', 'start', 'run'])
  })

  it('shows the image, not the host: the host root is invisible', async () => {
    const { stdout } = await run('ls /; test -e /work && echo HOST-VISIBLE; cat /etc/hostname; grep -c . /proc/mounts')
    expect(stdout).not.toMatch(/HOST-VISIBLE/)
    expect(stdout).toMatch(/^bin$/m)
    expect(existsSync('/work')).toBe(true) // …while the host does have it
  })

  it('masks and freezes the /proc and /sys paths runc does', async () => {
    const { stdout } = await run(
      'for p in /proc/keys /proc/timer_list /proc/sched_debug; do [ -e $p ] && echo "$p $(wc -c < $p)"; done;' +
        ' ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo sys-ro;' +
        ' grep -E " /proc/(keys|timer_list|sys) " /proc/self/mountinfo | wc -l; touch /sys/x 2>/dev/null || echo sysfs-ro',
    )
    for (const line of stdout.split('\n').filter((l) => l.startsWith('/proc/'))) expect(line).toMatch(/ 0$/)
    expect(stdout).toMatch(/^0$/m) // /sys/firmware empty
    expect(stdout).toMatch(/sys-ro/)
    expect(stdout).toMatch(/sysfs-ro/)
  })

  it('has a minimal /dev with working devices and a private devpts', async () => {
    const { stdout } = await run('ls /dev | tr "\\n" " "; echo; head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; ls /dev/pts')
    for (const name of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'ptmx', 'fd', 'stdin', 'stdout', 'stderr']) {
      expect(stdout.split('\n')[0]!.split(' ')).toContain(name)
    }
    expect(stdout).toMatch(/^4$/m)
    expect(stdout).toMatch(/null-ok/)
  })

  it("gives root Docker's default capabilities and nothing more; a user none", async () => {
    const root = await run('grep -E "^Cap(Eff|Prm|Bnd|Inh|Amb)" /proc/self/status')
    expect(root.stdout).toMatch(/CapEff:\s+00000000a80425fb/)
    expect(root.stdout).toMatch(/CapBnd:\s+00000000a80425fb/)
    expect(root.stdout).toMatch(/CapInh:\s+0000000000000000/)
    expect(root.stdout).toMatch(/CapAmb:\s+0000000000000000/)
    const fewer = await run('grep CapEff /proc/self/status', { options: { capabilities: ['CAP_CHOWN', 'CAP_KILL'] } })
    expect(fewer.stdout).toMatch(/CapEff:\s+0000000000000021/)
    const user = await run('grep -E "^Cap(Eff|Prm)" /proc/self/status; grep NoNewPrivs /proc/self/status', { user: '1000:1000' })
    expect(user.stdout).toMatch(/CapEff:\s+0000000000000000/)
    expect(user.stdout).toMatch(/NoNewPrivs:\s+1/)
  })

  it('denies syscalls outside the seccomp profile with EPERM', async () => {
    const { stdout, stderr } = await run('unshare -U true; echo unshare=$?; mount -t tmpfs none /mnt 2>&1; echo mount=$?')
    expect(stderr + stdout).toMatch(/unshare.*Operation not permitted/)
    expect(stdout).toMatch(/unshare=1/)
    expect(stdout).toMatch(/mount=[1-9]/)
    // The same call without the filter succeeds: it was seccomp that said no.
    const open = await run('unshare -U true; echo unshare=$?', { options: { seccomp: false } })
    expect(open.stdout).toMatch(/unshare=0/)
  })

  it("honours the image's User, Env and WorkingDir (names from its /etc/passwd)", async () => {
    const top = makeLayer(work, 'users', {
      'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n',
      'etc/group': 'root:x:0:\napp:x:1001:\nwheel:x:10:app\n',
    })
    const config: ImageConfig = { Cmd: ['sh'], User: 'app', Env: ['GREETING=hello', 'PATH=/bin'], WorkingDir: '/home/app/work' }
    const { stdout, status } = await run('id -u; id -g; id -G; echo $GREETING; pwd; echo $HOME; touch /tmp/mine && stat -c %u:%g /tmp/mine', {}, [top, base], config)
    expect(status.code).toBe(0)
    const [uid, gid, groups, greeting, cwd, home, owner] = stdout.trim().split('\n')
    expect([uid, gid, greeting, cwd, home, owner]).toEqual(['1000', '1001', 'hello', '/home/app/work', '/home/app', '1000:1001'])
    expect(groups!.split(' ').sort()).toEqual(['10', '1001'])
    // The caller's overrides win over the image's.
    const over = await run('id -u; pwd; echo $GREETING', { user: 'root', cwd: '/tmp', env: ['GREETING=bye'] }, [top, base], config)
    expect(over.stdout.trim().split('\n')).toEqual(['0', '/tmp', 'bye'])
  })

  it('applies the layers\' whiteouts and opaque directories (as the store writes them)', async () => {
    const lower = makeLayer(work, 'wh-lower', { 'data/gone': 'old\n', 'data/kept': 'kept\n', 'opaque/old': 'old\n' })
    const upper = makeLayer(work, 'wh-upper', { 'data/': '', 'opaque/new': 'new\n' })
    execFileSync('mknod', [join(upper, 'data', 'gone'), 'c', '0', '0'], { stdio: 'ignore' })
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'opaque')])
    execFileSync('setfattr', ['-n', 'user.overlay.opaque', '-v', 'y', join(upper, 'opaque')])
    const { stdout } = await run('ls /data; echo --; ls /opaque', {}, [upper, lower, base])
    expect(stdout).toBe('kept\n--\nnew\n')
  })

  it("never writes to the image's layers; each run starts from the image", async () => {
    const before = readFileSync(join(base, 'etc', 'passwd'), 'utf8')
    const entries = readdirSync(base).sort()
    const first = await run('echo hacker:x:0:0::/:/bin/sh >> /etc/passwd; rm /bin/ls; echo new > /newfile; mkdir -p /var/x; echo done')
    expect(first.stdout).toMatch(/done/)
    expect(readFileSync(join(base, 'etc', 'passwd'), 'utf8')).toBe(before)
    expect(lstatSync(join(base, 'bin', 'ls')).isSymbolicLink()).toBe(true)
    expect(readdirSync(base).sort()).toEqual(entries)
    const second = await run('grep -c hacker /etc/passwd; test -e /newfile && echo leaked; ls /bin/ls')
    expect(second.stdout).toMatch(/^0$/m)
    expect(second.stdout).not.toMatch(/leaked/)
    expect(second.stdout).toMatch(/\/bin\/ls/)
  })

  it("runs as root in the container but as an unprivileged id on the host", async () => {
    const { stdout, run: r } = await run('cat /proc/self/uid_map; touch /owned; sleep 0.1')
    expect(stdout.trim().split(/\s+/)).toEqual(['0', '100000', '65536'])
    expect(r.facts.rootless).toBe('no')
    expect(r.facts.uidMap).toBe('0 100000 65536')
    expect(statSync(base).uid).toBe(100000) // the layer was shifted into the mapped range once
  })

  it('keeps a hostile image inside its rootfs (symlinks aimed at the host)', async () => {
    // Inside the suite's temp dir, so it is removed even when an assertion fails.
    const target = join(work, 'hostile-target')
    mkdirSync(target)
    const hostile = makeLayer(work, 'hostile', {
      'etc/hosts': `->${target}/hosts`,
      'etc/hostname': `->../../../../../../../..${target}/hostname`,
      'etc/resolv.conf': '->/proc/1/root/etc/passwd',
      'escape': `->../../../../../../..${target}`,
      // Mount targets aimed at the host: the runtime's mounts must land inside the rootfs.
      'dev': `->${target}/dev`,
      'sys': `->../../../../../..${target}/sys`,
    })
    const { stdout, status } = await run(
      `echo pwned > /escape/file 2>/dev/null; echo pwned > ${target}/direct 2>/dev/null; cd /../../../..; pwd; ls ${target} 2>&1 | head -1; echo end`,
      {},
      [hostile, base],
    )
    expect(status.code).toBe(0)
    expect(stdout).toMatch(/^\/$/m)
    expect(readdirSync(target)).toEqual([]) // nothing reached the host directory
  })

  it('reports a missing command (127), a non-executable file (126) and a bad user (125)', async () => {
    const { image: img, runtime } = image([base])
    const missing = await collectOutput(await runtime.start({ image: img, cmd: ['no-such-command'] }))
    expect(missing.status).toMatchObject({ code: 127, reason: 'error' })
    expect(missing.status.message).toMatch(/executable file not found/)
    const notExec = await collectOutput(await runtime.start({ image: img, cmd: ['/etc/passwd'] }))
    expect(notExec.status).toMatchObject({ code: 126, reason: 'error' })
    const badUser = await collectOutput(await runtime.start({ image: img, cmd: ['true'], user: 'ghost' }))
    expect(badUser.status).toMatchObject({ code: 125, reason: 'error' })
    expect(badUser.status.message).toMatch(/unable to find user ghost/)
  })

  it('passes stdin through and gives a tty with resize when asked', async () => {
    const { image: img, runtime } = image([base])
    const cat = await runtime.start({ image: img, cmd: ['sh', '-c', 'tr a-z A-Z'], stdin: true })
    cat.write('hello container\n')
    cat.closeStdin()
    expect((await collectOutput(cat)).stdout).toBe('HELLO CONTAINER\n')

    const tty = await runtime.start({ image: img, cmd: ['sh'], tty: { cols: 80, rows: 24 } })
    const out: string[] = []
    tty.onOutput((c) => out.push(new TextDecoder().decode(c.data)))
    tty.write('stty size; tty; [ -t 0 ] && echo is-a-tty\n')
    await until(() => /\nis-a-tty\r?\n/.test(out.join('')))
    tty.resize(132, 50)
    tty.write('stty size; exit 3\n')
    const status = await tty.exit
    const text = out.join('')
    expect(text).toMatch(/24 80/)
    expect(text).toMatch(/50 132/)
    expect(text).toMatch(/is-a-tty/)
    expect(status.code).toBe(3)
  })

  it('gets only its stdio: no descriptor of the runtime leaks in', async () => {
    // `; exit` keeps sh as PID 1 (a lone command would be exec'd and list its own dir fd).
    const { stdout } = await run('ls /proc/1/fd; exit 0')
    expect(stdout.trim().split('\n')).toEqual(['0', '1', '2'])
  })

  it('streams a large output completely, stdout and stderr apart', async () => {
    const { image: img, runtime } = image([base])
    const r = await runtime.start({ image: img, cmd: ['sh', '-c', 'head -c 50000000 /dev/zero; echo done >&2'] })
    let bytes = 0
    let err = ''
    r.onOutput((c) => (c.stream === 'stdout' ? (bytes += c.data.byteLength) : (err += new TextDecoder().decode(c.data))))
    expect(await r.exit).toEqual({ code: 0, reason: 'exited' })
    expect(bytes).toBe(50_000_000)
    expect(err).toBe('done\n')
  })

  it('runs linux/amd64 and linux/386 platforms, and refuses others', async () => {
    const { runtime } = image([base])
    expect(runtime.supports({ os: 'linux', architecture: '386' })).toBe(true)
    expect(runtime.supports({ os: 'linux', architecture: 'amd64' })).toBe(true)
    expect(runtime.supports({ os: 'wasi', architecture: 'wasm' })).toBe(false)
    expect(runtime.supports({ os: 'linux', architecture: 'arm64' })).toBe(false)
    expect(await runtime.available()).toEqual({ ok: true })
  })
})
