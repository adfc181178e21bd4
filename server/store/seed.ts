// Bundled images (busybox, hello, lua, python — built into dist/images by `boxplay setup`)
// appear in every store, including a fresh one or another user's, without network.
//
// Policy: each bundled name is seeded once per store; boxplay.json remembers which bundled
// digest each name got. So
//   - a new store gets every bundled image on first open;
//   - a bundled image added or built later appears on the next open;
//   - a name the user rmi'd is NOT re-added (it was seeded before);
//   - a name the user re-pointed (pulled their own busybox:latest) is left alone;
//   - when a bundled image is rebuilt, a name still pointing at the old bundled digest moves
//     to the new one.
// Blobs are hardlinked from dist/images when the filesystem allows, else copied.

import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { readVerified } from './blobs.js'
import { readIndex, refName, writeJsonAtomic } from './layout.js'
import type { Store } from './store.js'
import { reachableDescriptors } from './walk.js'

interface SeedState {
  seeded: Record<string, string>
}

async function readState(path: string): Promise<SeedState> {
  try {
    const s = JSON.parse(await fsp.readFile(path, 'utf8')) as Partial<SeedState>
    return { seeded: typeof s.seeded === 'object' && s.seeded !== null ? s.seeded : {} }
  } catch {
    return { seeded: {} }
  }
}

export async function seedBundled(store: Store, bundledDir: string): Promise<string[]> {
  const bundled = (await readIndex(join(bundledDir, 'index.json'))).manifests
    .map((d) => ({ name: refName(d), descriptor: d }))
    .filter((e): e is { name: string; descriptor: typeof e.descriptor } => e.name !== undefined)
  const state = await readState(store.paths.state)
  const todo = bundled.filter((e) => state.seeded[e.name] !== e.descriptor.digest)
  if (todo.length === 0) return []

  const blobPath = (digest: string) => join(bundledDir, 'blobs', 'sha256', digest.slice('sha256:'.length))
  const read = async (digest: string) => readVerified(blobPath(digest), digest).catch(() => undefined)
  await store.withTemp(async (tmp) => {
    for (const e of todo) {
      for (const d of await reachableDescriptors(read, e.descriptor)) {
        await store.adoptFile(tmp, blobPath(d.digest), d.digest).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err // a platform the bundle lacks: fine
        })
      }
    }
  })

  return store.updateIndex(async (index) => {
    const now = await readState(store.paths.state) // another process may have seeded meanwhile
    const added: string[] = []
    for (const e of todo) {
      const previous = now.seeded[e.name]
      if (previous === e.descriptor.digest) continue
      const current = index.manifests.find((m) => refName(m) === e.name)
      const mayPoint = previous === undefined ? current === undefined : current?.digest === previous
      if (mayPoint && store.hasBlob(e.descriptor.digest)) {
        index.manifests = index.manifests.filter((m) => refName(m) !== e.name)
        index.manifests.push({ ...e.descriptor })
        added.push(e.name)
      }
      now.seeded[e.name] = e.descriptor.digest
    }
    await writeJsonAtomic(store.paths.state, now)
    return added
  })
}
