// Parsed Dockerfiles kept on disk by the hash of their text, so a rebuild of an unchanged
// Dockerfile does not load the parser: dockerfile-ast is ~40 ms of a ~240 ms fully cached
// `boxplay build`. The key also holds a hash of the front end itself
// (web/build/dockerfile.js), so a changed parser never reads an old result. An entry that does
// not parse is ignored and rewritten; a Dockerfile that fails to parse is never kept.

import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Instruction, ParsedDockerfile } from '../../web/build/dockerfile-model.js'

const FORMAT = 1

type StoredInstruction = Omit<Instruction, 'flags'> & { flags: [string, string][] }
interface Stored {
  format: typeof FORMAT
  file: string
  escape: string
  globalArgs: StoredInstruction[]
  stages: (Omit<ParsedDockerfile['stages'][number], 'from' | 'steps'> & { from: StoredInstruction; steps: StoredInstruction[] })[]
}

function parserIdentity(): string {
  // dist/ holds the compiled .js; run from the sources (the tests), the .ts is the front end.
  for (const ext of ['js', 'ts']) {
    try {
      const source = readFileSync(fileURLToPath(new URL(`../../web/build/dockerfile.${ext}`, import.meta.url)))
      return `${ext}:${createHash('sha256').update(source).digest('hex')}`
    } catch {
      // try the other
    }
  }
  return `missing:${randomBytes(8).toString('hex')}` // never matches: parse every time
}

const toStored = (i: Instruction): StoredInstruction => ({ ...i, flags: [...i.flags] })
const fromStored = (i: StoredInstruction): Instruction => ({ ...i, flags: new Map(i.flags) })

export async function parseDockerfileCached(dir: string, text: string, file: string): Promise<ParsedDockerfile> {
  const key = createHash('sha256').update(JSON.stringify([FORMAT, parserIdentity(), file, text])).digest('hex')
  const path = join(dir, `${key}.json`)
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as Stored
    if (stored.format === FORMAT && stored.file === file && Array.isArray(stored.stages) && stored.stages.length > 0) {
      return {
        file: stored.file,
        escape: stored.escape,
        globalArgs: stored.globalArgs.map(fromStored),
        stages: stored.stages.map((s) => ({ ...s, from: fromStored(s.from), steps: s.steps.map(fromStored) })),
      }
    }
  } catch {
    // no entry yet, or one that does not read: parse
  }
  const { parseDockerfile } = await import('../../web/build/dockerfile.js')
  const parsed = parseDockerfile(text, file)
  const stored: Stored = {
    format: FORMAT,
    file: parsed.file,
    escape: parsed.escape,
    globalArgs: parsed.globalArgs.map(toStored),
    stages: parsed.stages.map((s) => ({ ...s, from: toStored(s.from), steps: s.steps.map(toStored) })),
  }
  try {
    await mkdir(dir, { recursive: true })
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    await writeFile(tmp, JSON.stringify(stored))
    await rename(tmp, path).catch(async (e: unknown) => {
      await rm(tmp, { force: true })
      throw e
    })
  } catch {
    // a read-only store: parse again next time
  }
  return parsed
}
