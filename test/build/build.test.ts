// `boxplay build` through the compiled CLI with RUN steps in real native containers: the
// image's layers and config, whiteouts, multi-stage, args, .dockerignore, the cache, errors
// naming their line, and the result read by boxplay run, skopeo and umoci.

import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { readTarSync } from '../../web/oci/tar.js'

const cli = join(import.meta.dirname, '..', '..', 'dist', 'server', 'cli', 'main.js')
const scratch = mkdtempSync(join(tmpdir(), 'boxplay-build-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
let homes = 0

function freshHome(): string {
  return join(scratch, `home-${homes++}`)
}

function boxplay(home: string, args: string[]) {
  const res = spawnSync(process.execPath, [cli, '--home', home, ...args], { encoding: 'utf8', timeout: 120_000 })
  return { code: res.status, stdout: res.stdout, stderr: res.stderr }
}

let contexts = 0
function context(files: Record<string, string>): string {
  const dir = join(scratch, `ctx-${contexts++}`)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

function blob(home: string, digest: string): Buffer {
  return readFileSync(join(home, 'blobs', 'sha256', digest.replace(/^sha256:/, '')))
}
function json<T>(home: string, digest: string): T {
  return JSON.parse(blob(home, digest).toString('utf8')) as T
}
interface Manifest {
  config: { digest: string }
  layers: { digest: string }[]
}
interface Config {
  created: string
  config: { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string; Labels?: Record<string, string>; ExposedPorts?: Record<string, object> }
  rootfs: { diff_ids: string[] }
  history: { created_by: string; empty_layer?: boolean }[]
}
function layerPaths(home: string, digest: string): string[] {
  return [...readTarSync(new Uint8Array(gunzipSync(blob(home, digest))))].map((e) => e.path)
}
const digestOf = (out: string) => out.trim().split('\n').at(-1)!

const APP = [
  'FROM busybox',
  'ARG GREETING=hello',
  'ENV NAME=world',
  'WORKDIR /app',
  'COPY *.txt ./',
  'RUN echo "$GREETING $NAME" > out.txt && mkdir -p /data && echo scratch > /data/tmp && rm /bin/vi',
  'RUN rm /data/tmp && touch /data/kept',
  'USER 1000:1000',
  'EXPOSE 8080',
  'LABEL org.example.name="my app"',
  'CMD ["cat", "/app/out.txt"]',
  '',
].join('\n')

describe('boxplay build (native RUN)', () => {
  const home = freshHome()
  const ctx = context({ Dockerfile: APP, 'a.txt': 'A\n', 'b.txt': 'B\n', 'secret.txt': 'no\n', '.dockerignore': 'secret.txt\n' })
  let digest = ''

  it('builds an image with one layer per RUN/COPY and Docker habits in its output', () => {
    const r = boxplay(home, ['build', '-t', 'app:1', '-t', 'app:latest', ctx])
    digest = digestOf(r.stdout)
    expect(r.stderr).toContain('#5 [stage-0 1/1] COPY *.txt ./')
    expect(r.stderr).toMatch(/#6 DONE \d+\.\ds/)
    expect(r.stderr).toContain('naming to app:1 done')
    expect(r.code).toBe(0)
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('writes the config: Env, Cmd, WorkingDir, User, ports, labels and a history entry per step', () => {
    const manifest = json<Manifest>(home, digest)
    const config = json<Config>(home, manifest.config.digest)
    expect(config.config.Env).toContain('NAME=world')
    expect(config.config.Env?.some((e) => e.startsWith('GREETING'))).toBe(false)
    expect(config.config.Cmd).toEqual(['cat', '/app/out.txt'])
    expect(config.config.WorkingDir).toBe('/app')
    expect(config.config.User).toBe('1000:1000')
    expect(config.config.ExposedPorts).toEqual({ '8080/tcp': {} })
    expect(config.config.Labels).toEqual({ 'org.example.name': 'my app' })
    const steps = config.history.slice(-9).map((h) => h.created_by)
    expect(steps[0]).toBe('ENV NAME=world')
    expect(steps).toContain('COPY *.txt ./')
    expect(config.history.filter((h) => !h.empty_layer).length).toBe(manifest.layers.length)
    expect(config.rootfs.diff_ids.length).toBe(manifest.layers.length)
    // busybox + WORKDIR + COPY + two RUNs
    expect(manifest.layers.length).toBe(5)
  })

  it('stores deletions as whiteouts: of a lower layer file and of an earlier RUN file', () => {
    const manifest = json<Manifest>(home, digest)
    const [, workdir, copy, run1, run2] = manifest.layers.map((l) => layerPaths(home, l.digest))
    expect(workdir).toEqual(['app/'])
    // .dockerignore kept secret.txt out.
    expect(copy).toEqual(['app/', 'app/a.txt', 'app/b.txt'])
    expect(run1).toEqual(['app/', 'app/out.txt', 'bin/', 'bin/.wh.vi', 'data/', 'data/tmp'])
    expect(run2).toEqual(['data/', 'data/.wh.tmp', 'data/kept'])
  })

  it('gives an image boxplay runs, skopeo inspects and umoci unpacks', () => {
    const run = boxplay(home, ['run', 'app:1'])
    expect(run.stdout).toBe('hello world\n')
    const who = boxplay(home, ['run', 'app:1', '--', 'sh', '-c', 'id -u; pwd; ls /app; ls /bin/vi 2>&1; ls /data'])
    expect(who.stdout).toBe('1000\n/app\na.txt\nb.txt\nout.txt\nls: /bin/vi: No such file or directory\nkept\n')
    const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${home}:app:1`], { encoding: 'utf8' })) as { Digest: string; Layers: string[] }
    expect(inspected.Digest).toBe(digest)
    const bundle = join(scratch, 'bundle')
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${home}:app:1`, bundle], { stdio: 'pipe' })
    expect(readFileSync(join(bundle, 'rootfs', 'app', 'out.txt'), 'utf8')).toBe('hello world\n')
    expect(existsSync(join(bundle, 'rootfs', 'bin', 'vi'))).toBe(false)
    expect(existsSync(join(bundle, 'rootfs', 'data', 'tmp'))).toBe(false)
  })

  it('takes every step from the cache on a rebuild and gives the same digest', () => {
    const r = boxplay(home, ['build', '-t', 'app:2', ctx])
    expect(r.code).toBe(0)
    expect(r.stderr.match(/CACHED/g)?.length).toBe(9)
    expect(digestOf(r.stdout)).toBe(digest)
  })

  it('gives the same digest in a fresh store (deterministic layers)', () => {
    const r = boxplay(freshHome(), ['build', '--no-cache', ctx])
    expect(r.stderr).not.toContain('CACHED')
    expect(digestOf(r.stdout)).toBe(digest)
  })

  it('reruns from the changed line on: a --build-arg, then a context file', () => {
    const arg = boxplay(home, ['build', '--build-arg', 'GREETING=hi', ctx])
    // ENV, WORKDIR and COPY do not see GREETING; the RUNs and what follows them run again.
    expect(arg.stderr.match(/CACHED/g)?.length).toBe(3)
    expect(digestOf(arg.stdout)).not.toBe(digest)
    writeFileSync(join(ctx, 'b.txt'), 'B2\n')
    const file = boxplay(home, ['build', ctx])
    expect(file.stderr.match(/CACHED/g)?.length).toBe(2)
    expect(file.stderr).toMatch(/#5 DONE/)
    writeFileSync(join(ctx, 'secret.txt'), 'changed\n')
    const ignored = boxplay(home, ['build', ctx])
    expect(ignored.stderr.match(/CACHED/g)?.length).toBe(9)
  })
})

describe('boxplay build: SOURCE_DATE_EPOCH', () => {
  it('clamps times to a given epoch, which is part of the cache key', () => {
    const home = freshHome()
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo x > /x\n' })
    const first = boxplay(home, ['build', ctx])
    const other = boxplay(home, ['build', '--build-arg', 'SOURCE_DATE_EPOCH=1000', ctx])
    expect(other.stderr).not.toContain('CACHED')
    const manifest = json<Manifest>(home, digestOf(other.stdout))
    expect(json<Config>(home, manifest.config.digest).created).toBe('1970-01-01T00:16:40.000Z')
    const x = [...readTarSync(new Uint8Array(gunzipSync(blob(home, manifest.layers.at(-1)!.digest))))].find((e) => e.path === 'x')!
    expect(x.mtime).toBe(1000)
    expect(digestOf(other.stdout)).not.toBe(digestOf(first.stdout))
  })
})

describe('boxplay build: stages and errors', () => {
  const home = freshHome()

  it('builds multi-stage Dockerfiles, COPY --from and --target', () => {
    const ctx = context({
      Dockerfile: [
        'ARG VERSION=1.0',
        'FROM busybox AS builder',
        'ARG VERSION',
        'RUN mkdir /out && echo "v$VERSION" > /out/version && chmod 0600 /out/version',
        'FROM busybox AS unused',
        'RUN exit 1',
        'FROM scratch',
        'COPY --from=builder --chown=7:8 /out/ /',
        'COPY --from=busybox /bin/busybox /bin/sh',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["cat /version"]',
      ].join('\n'),
    })
    const r = boxplay(home, ['build', '-t', 'multi', '--build-arg', 'VERSION=2.5', ctx])
    expect(r.stderr).not.toContain('RUN exit 1')
    expect(r.code).toBe(0)
    const manifest = json<Manifest>(home, digestOf(r.stdout))
    expect(manifest.layers.length).toBe(2)
    const run = boxplay(home, ['run', 'multi'])
    expect(run.stdout).toBe('v2.5\n')
    const tar = [...readTarSync(new Uint8Array(gunzipSync(blob(home, manifest.layers[0]!.digest))))]
    const version = tar.find((e) => e.path === 'version')!
    expect([version.uid, version.gid, version.mode & 0o7777]).toEqual([7, 8, 0o600])
    const first = boxplay(home, ['build', '-t', 'builder-only', '--target', 'builder', ctx])
    expect(first.code).toBe(0)
    expect(boxplay(home, ['run', 'builder-only', '--', 'cat', '/out/version']).stdout).toBe('v1.0\n')
  })

  it('scopes ARGs as Docker: a global ARG serves FROM, and a stage sees it only once re-declared', () => {
    const ctx = context({
      Dockerfile: [
        'ARG BASE=busybox',
        'ARG V=outer',
        'FROM $BASE',
        'RUN echo "v=[$V]" > /v',
        'ARG V',
        'RUN echo "v=[$V]" >> /v',
        'ARG LOCAL=${V}-local',
        'ENV FROM_ARG=$LOCAL',
        'SHELL ["/bin/sh", "-ec"]',
        'ENTRYPOINT echo "entry $FROM_ARG"; cat /v',
        'STOPSIGNAL SIGTERM',
      ].join('\n'),
    })
    const r = boxplay(home, ['build', '-t', 'args', ctx])
    expect(r.code).toBe(0)
    expect(boxplay(home, ['run', 'args']).stdout).toBe('entry outer-local\nv=[]\nv=[outer]\n')
    const config = json<Config & { config: { StopSignal?: string } }>(home, json<Manifest>(home, digestOf(r.stdout)).config.digest)
    expect(config.config.Entrypoint).toEqual(['/bin/sh', '-ec', 'echo "entry $FROM_ARG"; cat /v'])
    expect(config.config.Cmd).toBeUndefined()
    expect(config.config.StopSignal).toBe('SIGTERM')
    expect(config.config.Env).toContain('FROM_ARG=outer-local')
  })

  it('fails a RUN with its line and tags nothing', () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo before\nRUN wget -q -O- http://example.com/ > /x\n' })
    const r = boxplay(home, ['build', '-t', 'broken:1', ctx])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/Dockerfile:3: RUN: .*returned a non-zero code: \d+: a build's RUN has no network/)
    expect(boxplay(home, ['images']).stdout).not.toContain('broken')
    expect(readdirSync(join(home, 'tmp'))).toEqual([])
  })

  const bad: [string, number, RegExp][] = [
    ['FROM busybox\nCOPY missing.txt /\n', 2, /missing\.txt: no such file/],
    ['FROM busybox\nADD http://example.com/x /x\n', 2, /ADD of a URL is not supported/],
    ['FROM nosuchimage\n', 1, /no image "nosuchimage"/],
    ['FROM busybox\nCOPY --chown=nobody-here a /\n', 2, /no user "nobody-here"/],
    ['FROM busybox\nHEALTHCHECK --interval=soon CMD true\n', 2, /--interval=soon is not a duration/],
    ['FROM busybox\nHEALTHCHECK --timeout=10us CMD true\n', 2, /the least is 1ms/],
  ]
  for (const [text, line, message] of bad) {
    it(`names line ${line} for ${JSON.stringify(text.trim().split('\n').at(-1))}`, () => {
      const r = boxplay(home, ['build', context({ Dockerfile: text, a: 'a' })])
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(new RegExp(`Dockerfile:${line}: `))
      expect(r.stderr).toMatch(message)
    })
  }

  it('records VOLUME, HEALTHCHECK, MAINTAINER and ONBUILD, and runs the triggers in a child build', () => {
    const parent = context({
      Dockerfile: [
        'FROM busybox',
        'MAINTAINER Ada <ada@example.org>',
        'LABEL org.example.tier=base',
        'EXPOSE 8080',
        'STOPSIGNAL SIGINT',
        'ENV DATA=/data',
        'VOLUME $DATA /cache',
        'VOLUME ["/logs", "/more"]',
        'HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD wget -q -O- http://localhost/ || exit 1',
        'ONBUILD COPY marker.txt /app/',
        'ONBUILD RUN echo "built on $DATA" > /app/onbuild.txt',
        '',
      ].join('\n'),
    })
    const p = boxplay(home, ['build', '-q', '-t', 'parent:1', parent])
    expect(p.stderr).toBe('')
    expect(p.code).toBe(0)
    const pm = json<Manifest>(home, digestOf(p.stdout))
    const pc = json<Config & { author?: string; config: { Volumes?: object; Healthcheck?: object; OnBuild?: string[] } }>(home, pm.config.digest)
    expect(pc.author).toBe('Ada <ada@example.org>')
    expect(Object.keys(pc.config.Volumes ?? {}).sort()).toEqual(['/cache', '/data', '/logs', '/more'])
    expect(pc.config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'],
      Interval: 90e9,
      Timeout: 500e6,
      Retries: 3,
    })
    expect(pc.config.OnBuild).toEqual(['COPY marker.txt /app/', 'RUN echo "built on $DATA" > /app/onbuild.txt'])

    const child = context({ Dockerfile: 'FROM parent:1\nHEALTHCHECK NONE\nCMD ["cat", "/app/onbuild.txt"]\n', 'marker.txt': 'from the child context\n' })
    const c = boxplay(home, ['build', '-t', 'child:1', child])
    expect(c.code).toBe(0)
    expect(c.stderr).toContain('COPY marker.txt /app/')
    const run = boxplay(home, ['run', '--runtime', 'native', 'child:1'])
    expect(run.stdout).toBe('built on /data\n')
    const cat = boxplay(home, ['run', '--runtime', 'native', 'child:1', 'cat', '/app/marker.txt'])
    expect(cat.stdout).toBe('from the child context\n')
    const inspect = JSON.parse(boxplay(home, ['inspect', '--json', 'child:1']).stdout) as unknown
    const text = JSON.stringify(inspect)
    // Triggers are not inherited by grandchildren; HEALTHCHECK NONE turns the check off;
    // labels, ports, volumes and the stop signal are inherited, as in Docker.
    expect(text).not.toContain('OnBuild')
    expect(text).toContain('"org.example.tier":"base"')
    expect(text).toContain('"8080/tcp":{}')
    expect(text).toContain('"/logs":{}')
    expect(text).toContain('"StopSignal":"SIGINT"')
    expect(text).toContain('"Test":["NONE"]')
  })

  it('unpacks a local tar with ADD', () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nADD files.tar.gz /opt/\n' })
    mkdirSync(join(ctx, 'src', 'sub'), { recursive: true })
    writeFileSync(join(ctx, 'src', 'sub', 'f'), 'from tar\n')
    execFileSync('tar', ['-czf', join(ctx, 'files.tar.gz'), '-C', join(ctx, 'src'), 'sub'])
    rmSync(join(ctx, 'src'), { recursive: true })
    const r = boxplay(home, ['build', '-t', 'added', ctx])
    expect(r.code).toBe(0)
    expect(boxplay(home, ['run', 'added', '--', 'cat', '/opt/sub/f']).stdout).toBe('from tar\n')
  })
})
