// The same Dockerfile and context give the same manifest digest with RUN natively and in
// the v86 VM, in fresh stores; the cache is shared across runtimes (the runtime is not in
// the key); an image built in v86 runs natively.

import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const cli = join(import.meta.dirname, '..', '..', 'dist', 'server', 'cli', 'main.js')
const scratch = mkdtempSync(join(tmpdir(), 'boxplay-build-rt-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function boxplay(home: string, args: string[]) {
  const res = spawnSync(process.execPath, [cli, '--home', join(scratch, home), ...args], { encoding: 'utf8', timeout: 180_000 })
  return { code: res.status, stdout: res.stdout, stderr: res.stderr }
}

const ctx = join(scratch, 'ctx')
mkdirSync(join(ctx, 'conf'), { recursive: true })
writeFileSync(join(ctx, 'conf', 'app.conf'), 'port=8080\n')
writeFileSync(
  join(ctx, 'Dockerfile'),
  [
    'FROM busybox AS base',
    'RUN mkdir -p /srv/a/b && echo one > /srv/a/b/f && ln -s /srv/a/b/f /srv/link && chmod 0750 /srv/a && chown 5:6 /srv/a/b/f && echo "bob:x:1234:1234::/home/bob:/bin/sh" >> /etc/passwd',
    'RUN echo changed >> /etc/passwd && rm -r /usr/bin/wget /srv/a/b && mkdir /srv/a/c && chmod 4755 /bin/busybox',
    'RUN mkdir -p /home && chown bob /home',
    'USER bob',
    'RUN echo mine > /home/bobfile && mkdir -p /home/bobdir',
    'USER root',
    'RUN rm -rf /home && mkdir /home && touch /home/new',
    // /tmp is the image's own directory in every runtime (no tmpfs over it in the VM either).
    'RUN mkdir -p /tmp && echo kept > /tmp/note',
    'COPY conf/ /etc/app/',
    'FROM base',
    'RUN cat /etc/app/app.conf > /srv/copied && rm /srv/link',
    'CMD ["cat", "/srv/copied"]',
    '',
  ].join('\n'),
)
const digestOf = (out: string) => out.trim().split('\n').at(-1)!

describe('boxplay build across runtimes', () => {
  let native = ''
  it('gives the same digest natively and in v86, each in a fresh store', () => {
    const a = boxplay('native', ['build', '-t', 'same', ctx])
    expect(a.code).toBe(0)
    native = digestOf(a.stdout)
    const b = boxplay('v86', ['build', '--runtime', 'v86', '-t', 'same', ctx])
    expect(b.stderr).toContain('RUN /bin/sh -c rm -rf /home')
    expect(b.code).toBe(0)
    expect(digestOf(b.stdout)).toBe(native)
  })

  it('runs the v86-built image natively', () => {
    const r = boxplay('v86', ['run', '--runtime', 'native', 'same'])
    expect(r.stdout).toBe('port=8080\n')
    const ls = boxplay('v86', ['run', '--runtime', 'native', 'same', '--', 'sh', '-c', 'ls /home; ls -l /bin/busybox | cut -c1-10; ls /usr/bin/wget 2>&1 | cut -d: -f2; cat /tmp/note'])
    expect(ls.stdout).toBe('new\n-rwsr-xr-x\n /usr/bin/wget\nkept\n')
  })

  it('reuses layers built natively for a v86 build (the runtime is not in the key)', () => {
    const r = boxplay('native', ['build', '--runtime', 'v86', ctx])
    expect(r.code).toBe(0)
    expect(r.stderr.match(/CACHED/g)?.length).toBe(11)
    expect(digestOf(r.stdout)).toBe(native)
  })
})
