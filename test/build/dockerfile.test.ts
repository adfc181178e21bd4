// The Dockerfile front end and Docker's word rules, without running anything.

import { describe, expect, it } from 'vitest'
import { DockerfileError, parseDockerfile } from '../../web/build/dockerfile.js'
import { applyDockerignore, globRegExp, type ContextEntry } from '../../web/build/context.js'
import { keyValues, processWords } from '../../web/build/words.js'

const vars = new Map([['A', 'one'], ['EMPTY', ''], ['SP', 'two words']])

describe('processWords', () => {
  it('substitutes as Docker does, quotes and escapes included', () => {
    expect(processWords('$A ${A} "${A}x" \'$A\' \\$A', vars)).toEqual(['one', 'one', 'onex', '$A', '$A'])
    expect(processWords('${MISSING:-dflt} ${EMPTY:-e} ${EMPTY-e} ${A:+alt} ${MISSING:+alt}', vars)).toEqual(['dflt', 'e', 'alt'])
    expect(processWords('"$SP"', vars)).toEqual(['two words'])
    expect(processWords('a`$A', vars, '`')).toEqual(['a$A'])
    expect(() => processWords('"open', vars)).toThrow(/unmatched "/)
  })

  it('reads K=V pairs and the legacy ENV form', () => {
    expect(keyValues('X=$A Y="a b"', vars, '\\', true)).toEqual([['X', 'one'], ['Y', 'a b']])
    expect(keyValues('X a value', vars, '\\', true)).toEqual([['X', 'a value']])
  })
})

describe('parseDockerfile', () => {
  it('splits stages, global ARGs, continuations, flags and exec forms', () => {
    const df = parseDockerfile(
      ['# syntax=docker/dockerfile:1', 'ARG BASE=busybox', 'FROM $BASE AS Build', 'RUN echo a \\', '  b', 'COPY --from=build --chown=1:1 /x /y', 'FROM scratch', 'CMD ["/x"]', ''].join('\n'),
    )
    expect(df.globalArgs.map((a) => a.args)).toEqual(['BASE=busybox'])
    expect(df.stages.map((s) => [s.name, s.base])).toEqual([['build', '$BASE'], [undefined, 'scratch']])
    const [run, copy] = df.stages[0]!.steps
    expect([run!.line, run!.args]).toEqual([4, 'echo a   b'])
    expect([...copy!.flags]).toEqual([['from', 'build'], ['chown', '1:1']])
    expect(copy!.args).toBe('/x /y')
    expect(df.stages[1]!.steps[0]!.json).toEqual(['/x'])
  })

  it('honours the escape directive', () => {
    const df = parseDockerfile('# escape=`\nFROM busybox\nRUN echo a `\n  b\n')
    expect(df.escape).toBe('`')
    expect(df.stages[0]!.steps[0]!.args).toBe('echo a   b')
  })

  const bad: [string, number, RegExp][] = [
    ['FROM busybox\nHEALTHCHECK true\n', 2, /HEALTHCHECK: takes NONE or/],
    ['FROM busybox\nHEALTHCHECK --interval=5s NONE\n', 2, /HEALTHCHECK: NONE takes no flags/],
    ['FROM busybox\nHEALTHCHECK --every=5s CMD true\n', 2, /HEALTHCHECK: unknown flag --every/],
    ['FROM busybox\nONBUILD FROM busybox\n', 2, /ONBUILD: FROM is not allowed as an ONBUILD trigger/],
    ['FROM busybox\nONBUILD ONBUILD RUN true\n', 2, /ONBUILD: ONBUILD is not allowed/],
    ['FROM busybox\nONBUILD FROBNICATE x\n', 2, /ONBUILD: the trigger: FROBNICATE: unknown instruction/],
    ['FROM busybox\nFROBNICATE x\n', 2, /FROBNICATE: unknown instruction/],
    ['RUN true\nFROM busybox\n', 1, /RUN: comes before the first FROM/],
    ['FROM busybox\n\nCOPY --link a b\n', 3, /COPY: unknown flag --link/],
    ['FROM busybox\nRUN --mount=type=cache,target=/x true\n', 2, /RUN: unknown flag --mount/],
    ['FROM busybox\nSHELL /bin/bash\n', 2, /SHELL: takes a JSON array/],
    ['FROM busybox AS a\nFROM busybox AS a\n', 2, /already exists/],
    ['FROM busybox\nCOPY onlyone\n', 2, /at least one source/],
    ['# nothing\n', 1, /no FROM/],
  ]
  for (const [text, line, message] of bad) {
    it(`refuses ${JSON.stringify(text.split('\n').find((l) => l && !l.startsWith('#') && !l.startsWith('FROM busybox')) ?? text)} naming line ${line}`, () => {
      let err: unknown
      try {
        parseDockerfile(text, 'Dockerfile')
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(DockerfileError)
      expect((err as DockerfileError).line).toBe(line)
      expect((err as Error).message).toMatch(new RegExp(`^Dockerfile:${line}: `))
      expect((err as Error).message).toMatch(message)
    })
  }
})

describe('context', () => {
  it('applies .dockerignore with exceptions, and matches globs per path component', () => {
    const e = (path: string): ContextEntry => ({ path, kind: 'file', mode: 0o644, data: new Uint8Array(0) })
    const kept = applyDockerignore([e('a.txt'), e('b.log'), e('keep.log'), e('dir/c.log'), e('node_modules/x')], '# comment\n*.log\n!keep.log\nnode_modules\n')
    expect(kept.map((k) => k.path)).toEqual(['a.txt', 'keep.log', 'dir/c.log'])
    expect(globRegExp('*.txt').test('a.txt')).toBe(true)
    expect(globRegExp('*.txt').test('d/a.txt')).toBe(false)
    expect(globRegExp('f[0-9]?').test('f1x')).toBe(true)
  })
})
