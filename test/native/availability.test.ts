// available() tells the truth, and says what to do: here, a core that was never built.
// (A file of its own: the loaded core is cached per process.)

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { NativeRuntime } from '../../server/native/index.js'

describe('native availability', () => {
  it('names the missing core and the command that builds it', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'boxplay-native-nocore-'))
    const saved = process.env.BOXPLAY_CORE_DIR
    process.env.BOXPLAY_CORE_DIR = empty
    try {
      const runtime = new NativeRuntime({ layerDirs: async () => [] })
      const result = await runtime.available()
      expect(result.ok).toBe(false)
      if (!result.ok) {
        expect(result.reason).toContain(join(empty, 'boxplay-core.linux-x64-gnu.node'))
        expect(result.reason).toMatch(/run `npm run setup`/)
      }
    } finally {
      if (saved === undefined) delete process.env.BOXPLAY_CORE_DIR
      else process.env.BOXPLAY_CORE_DIR = saved
      rmSync(empty, { recursive: true, force: true })
    }
  })
})
