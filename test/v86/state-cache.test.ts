// The Node state cache: states are written whole or not at all, and what a killed writer
// left behind (a ~10 MB temp file) is swept by the next writer.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { stateWritesSettled, writeState } from '../../server/v86/node-assets.js'

const dir = mkdtempSync(join(tmpdir(), 'boxplay-state-cache-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('v86 state cache (Node)', () => {
  test("a write replaces nothing half-way and sweeps a dead writer's temp files, not a live one's", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid! // exited: its pid is free
    const deadTemp = join(dir, `.v86-64m-aaaa.state.${dead}.tmp`)
    const liveTemp = join(dir, `.v86-64m-bbbb.state.${process.pid}.tmp`)
    const unrelated = join(dir, 'notes.txt')
    for (const f of [deadTemp, liveTemp, unrelated]) writeFileSync(f, 'x')

    const state = new Uint8Array([1, 2, 3, 4]).buffer
    await writeState(dir, 'v86-64m-cccc', { state, release: '6.1.0' }, 'raw')
    await stateWritesSettled()

    expect(existsSync(deadTemp)).toBe(false)
    expect(existsSync(liveTemp)).toBe(true)
    expect(existsSync(unrelated)).toBe(true)
    expect([...readFileSync(join(dir, 'v86-64m-cccc.state'))]).toEqual([1, 2, 3, 4])
    expect(JSON.parse(readFileSync(join(dir, 'v86-64m-cccc.json'), 'utf8'))).toEqual({ release: '6.1.0', file: 'v86-64m-cccc.state' })
  })
})
