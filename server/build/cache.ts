// The build cache on disk: one JSON file a step key under <store>/cache/build/, holding the
// image state after that step (config, layer descriptors, history). Layers themselves are
// ordinary blobs of the store; an entry whose blobs a prune removed is a miss. Written via
// temp + rename, so a reader sees a whole entry or none.

import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { ImageState } from '../../web/build/builder.js'
import { writeJsonAtomic } from '../store/layout.js'

export class BuildCache {
  constructor(readonly dir: string) {}

  private file(key: string): string {
    return join(this.dir, `${key.replace(/^sha256:/, '')}.json`)
  }

  async get(key: string): Promise<ImageState | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.file(key), 'utf8')) as ImageState
    } catch {
      return undefined
    }
  }

  async put(key: string, state: ImageState): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true })
    await writeJsonAtomic(this.file(key), state)
  }
}
