// A container's files: diff in Docker's format, cp both ways with Docker's path rules, and
// commit from native, v86 and wasi containers, whose images then run.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Sandbox } from './helpers.js'

const box = new Sandbox()
const host = mkdtempSync(join(tmpdir(), 'boxplay-cp-'))
afterAll(() => {
  box.cleanup()
  rmSync(host, { recursive: true, force: true })
})

const CHANGE = 'rm /usr/bin/wget; echo more >> /etc/passwd; ln -s /etc/passwd /l; rm -rf /home; mkdir -p /srv/x; echo a > /srv/x/f'

describe('diff, cp and commit', () => {
  it('diff lists A, C and D as Docker does (native)', () => {
    expect(box.run(['run', '--name', 'nat', '--runtime', 'native', 'busybox', 'sh', '-c', CHANGE]).code).toBe(0)
    const r = box.run(['diff', 'nat'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(['C /etc', 'C /etc/passwd', 'D /home', 'A /l', 'A /srv', 'A /srv/x', 'A /srv/x/f', 'C /usr', 'C /usr/bin', 'D /usr/bin/wget', ''].join('\n'))
  })

  it('diff of a v86 container gives the same list for the same commands', () => {
    expect(box.run(['run', '--name', 'vm', '--runtime', 'v86', 'busybox', 'sh', '-c', CHANGE]).code).toBe(0)
    expect(box.run(['diff', 'vm']).stdout).toBe(box.run(['diff', 'nat']).stdout)
  })

  it('cp out: a file, a file into a directory, a directory, a directory\'s contents', () => {
    expect(box.run(['cp', 'nat:/etc/passwd', join(host, 'pw')]).code).toBe(0)
    expect(readFileSync(join(host, 'pw'), 'utf8')).toMatch(/more\n$/)
    mkdirSync(join(host, 'out'))
    expect(box.run(['cp', 'nat:/srv/x/f', join(host, 'out')]).code).toBe(0)
    expect(readFileSync(join(host, 'out', 'f'), 'utf8')).toBe('a\n')
    expect(box.run(['cp', 'nat:/srv', join(host, 'out')]).code).toBe(0)
    expect(readFileSync(join(host, 'out', 'srv', 'x', 'f'), 'utf8')).toBe('a\n')
    expect(box.run(['cp', 'nat:/srv/.', join(host, 'contents')]).code).toBe(0)
    expect(readFileSync(join(host, 'contents', 'x', 'f'), 'utf8')).toBe('a\n')
    expect(box.run(['cp', 'nat:/l', join(host, 'link')]).code).toBe(0)
    expect(readlinkSync(join(host, 'link'))).toBe('/etc/passwd')
    const missing = box.run(['cp', 'nat:/nope', host])
    expect(missing).toMatchObject({ code: 1, stderr: 'Error: Could not find the file /nope in container nat\n' })
    expect(box.run(['cp', 'nat:/srv/x/f', join(host, 'nodir') + '/']).stderr).toContain('does not exist')
    expect(box.run(['cp', 'nat:/srv', join(host, 'pw')]).stderr).toContain('cannot copy a directory to a file')
  })

  it('cp in: a file and a directory; start sees them, diff lists them', () => {
    writeFileSync(join(host, 'in.txt'), 'from the host\n')
    mkdirSync(join(host, 'tree', 'deep'), { recursive: true })
    writeFileSync(join(host, 'tree', 'deep', 'g'), 'g\n')
    expect(box.run(['cp', join(host, 'in.txt'), 'nat:/srv/']).code).toBe(0)
    expect(box.run(['cp', join(host, 'tree'), 'nat:/opt']).code).toBe(0)
    expect(box.run(['diff', 'nat']).stdout).toContain('A /opt\nA /opt/deep\nA /opt/deep/g\n')
    expect(box.run(['diff', 'nat']).stdout).toContain('A /srv/in.txt\n')
    // start runs the same command again: its own edits repeat, the copied files are there.
    expect(box.run(['start', '-a', 'nat']).code).toBe(0)
    const after = box.run(['cp', 'nat:/srv/in.txt', join(host, 'back.txt')])
    expect(after.code).toBe(0)
    expect(readFileSync(join(host, 'back.txt'), 'utf8')).toBe('from the host\n')
  })

  it('commit of a native container makes an image that runs, whiteouts included', () => {
    const r = box.run(['commit', '-c', 'CMD ["cat", "/opt/deep/g"]', '-m', 'native work', 'nat', 'fromnative:1'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/)
    expect(box.run(['run', '--rm', 'fromnative:1'])).toMatchObject({ code: 0, stdout: 'g\n' })
    const ls = box.run(['run', '--runtime', 'v86', 'fromnative:1', 'sh', '-c', 'ls /usr/bin/wget /home 2>&1; readlink /l; tail -n1 /etc/passwd'])
    expect(ls.stdout).toBe('ls: /usr/bin/wget: No such file or directory\nls: /home: No such file or directory\n/etc/passwd\nmore\n')
    expect(box.run(['history', 'fromnative:1']).stdout).toContain('native work')
  })

  it('commit of a v86 container; the image runs natively', () => {
    expect(box.run(['commit', 'vm', 'fromvm']).code).toBe(0)
    const r = box.run(['run', '--runtime', 'native', 'fromvm', 'sh', '-c', 'cat /srv/x/f; ls /usr/bin/wget 2>&1'])
    expect(r.stdout).toBe('a\nls: /usr/bin/wget: No such file or directory\n')
  })

  it('commit of a wasi container keeps the file the module wrote', () => {
    const sql = 'create table if not exists t(x); insert into t values(42); select count(*) from t;'
    expect(box.run(['run', '--name', 'wa', '--runtime', 'wasi', 'sqlite', '/data.db', sql])).toMatchObject({ code: 0, stdout: '1\n' })
    expect(box.run(['diff', 'wa']).stdout).toBe('A /data.db\n')
    expect(box.run(['commit', 'wa', 'sq:kept']).code).toBe(0)
    expect(box.run(['run', '--runtime', 'wasi', 'sq:kept', '/data.db', 'select sum(x) from t;'])).toMatchObject({ code: 0, stdout: '42\n' })
  })

  it('commit refuses a running container; an unknown --change is refused', () => {
    box.run(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '1000'])
    const r = box.run(['commit', 'busy', 'x'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('container busy is running: stop it first')
    expect(box.run(['cp', 'busy:/etc/passwd', host]).stderr).toContain('container busy is running: stop it first')
    expect(box.run(['commit', '-c', 'RUN true', 'nat', 'y']).stderr).toContain('--change RUN is not supported')
    expect(existsSync(join(host, 'passwd'))).toBe(false)
  })
})
