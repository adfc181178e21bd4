// The seccomp filter on both syscall tables an image can use here: a static probe built for
// x86_64 (a linux/amd64 image) and for i386 (linux/386), each calling what Docker's default
// profile denies. Also: host directories mapped in, read-only and read-write.

import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { image, tempDir, unpackBusybox } from './fixture.js'

const PROBE = `#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
static void report(const char *name, long r) { printf("%s: %s\\n", name, r < 0 ? strerror(errno) : "allowed"); }
int main(void) {
  printf("bits=%d\\n", (int)sizeof(void *) * 8);
  report("unshare", unshare(CLONE_NEWUSER));
  report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
  report("mount", mount("none", "/mnt", "tmpfs", 0, 0));
  report("getpid", getpid());
  return 0;
}
`

let work: string
let base: string

beforeAll(() => {
  work = tempDir('syscalls')
  base = unpackBusybox(work)
  writeFileSync(join(work, 'probe.c'), PROBE)
  for (const [name, flags] of [
    ['amd64', []],
    ['386', ['-m32']],
  ] as const) {
    mkdirSync(join(work, name))
    execFileSync('gcc', [...flags, '-static', '-O2', '-o', join(work, name, 'probe'), join(work, 'probe.c')])
  }
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('the default seccomp profile', () => {
  for (const arch of ['amd64', '386']) {
    it(`denies namespace, keyring and mount calls with EPERM on ${arch}`, async () => {
      const { image: img, runtime } = image([join(work, arch)], { Cmd: ['/probe'] }, arch)
      const { stdout, status } = await collectOutput(await runtime.start({ image: img }))
      expect(status.code).toBe(0)
      expect(stdout).toContain(`bits=${arch === 'amd64' ? 64 : 32}`)
      expect(stdout).toContain('unshare: Operation not permitted')
      expect(stdout).toContain('keyctl: Operation not permitted')
      expect(stdout).toContain('mount: Operation not permitted')
      expect(stdout).toContain('getpid: allowed')
    })
  }
})

describe('host directories mapped in', () => {
  it('binds read-write and read-only as asked', async () => {
    const shared = join(work, 'shared')
    const frozen = join(work, 'frozen')
    // Container root is host uid 100000 here: it may write where anyone may.
    mkdirSync(shared, { mode: 0o777 })
    chmodSync(shared, 0o777)
    mkdirSync(frozen, { mode: 0o777 })
    chmodSync(frozen, 0o777)
    writeFileSync(join(frozen, 'note'), 'from the host\n')
    const { image: img, runtime } = image([base])
    const r = await runtime.start({
      image: img,
      cmd: ['sh', '-c', 'echo hello > /data/out; cat /ro/note; echo x > /ro/new 2>/dev/null || echo ro-refused'],
      mounts: [
        { hostPath: shared, guestPath: '/data' },
        { hostPath: frozen, guestPath: '/ro', readonly: true },
      ],
    })
    const { stdout, status } = await collectOutput(r)
    expect(status.code).toBe(0)
    expect(stdout).toBe('from the host\nro-refused\n')
    expect(readFileSync(join(shared, 'out'), 'utf8')).toBe('hello\n')
  })
})
