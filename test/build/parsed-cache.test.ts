// The parsed-Dockerfile cache (server/build/parsed-cache.ts): an unchanged Dockerfile comes
// back from disk equal to a fresh parse (flags and all), a damaged entry is parsed again and
// rewritten, and a Dockerfile that does not parse is never kept.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { parseDockerfileCached } from '../../server/build/parsed-cache.js'
import { DockerfileError, parseDockerfile } from '../../web/build/dockerfile.js'

const dir = mkdtempSync(join(tmpdir(), 'boxplay-parsed-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const TEXT = 'ARG BASE=busybox\nFROM $BASE AS one\nCOPY --chown=1:2 --chmod=644 a b /x/\nHEALTHCHECK --interval=5s CMD true\nFROM one\nRUN ["echo", "hi"]\n'

it('gives back what a fresh parse gives, from the second call on', async () => {
  const fresh = parseDockerfile(TEXT, 'Dockerfile')
  const first = await parseDockerfileCached(dir, TEXT, 'Dockerfile')
  expect(readdirSync(dir).filter((n) => n.endsWith('.json'))).toHaveLength(1)
  const second = await parseDockerfileCached(dir, TEXT, 'Dockerfile')
  for (const got of [first, second]) {
    expect(got).toEqual(fresh)
    expect(got.stages[0]!.steps[0]!.flags).toBeInstanceOf(Map)
    expect(got.stages[0]!.steps[0]!.flags.get('chmod')).toBe('644')
  }
  // Another file name is another entry (errors name the file).
  await parseDockerfileCached(dir, TEXT, 'other/Dockerfile')
  expect(readdirSync(dir).filter((n) => n.endsWith('.json'))).toHaveLength(2)
})

it('parses again over a damaged entry, and keeps no entry for a Dockerfile that fails', async () => {
  const text = 'FROM busybox\nRUN true\n'
  await parseDockerfileCached(dir, text, 'Dockerfile')
  const before = new Set(readdirSync(dir))
  const entry = [...before].find((n) => n.endsWith('.json') && !n.includes('tmp'))!
  for (const n of readdirSync(dir)) writeFileSync(join(dir, n), '{"format":1,"stages":"no"')
  expect(await parseDockerfileCached(dir, text, 'Dockerfile')).toEqual(parseDockerfile(text, 'Dockerfile'))
  expect(entry).toBeDefined()

  const count = readdirSync(dir).length
  await expect(parseDockerfileCached(dir, 'FROM busybox\nFROBNICATE x\n', 'Dockerfile')).rejects.toBeInstanceOf(DockerfileError)
  expect(readdirSync(dir).length).toBe(count)
})
