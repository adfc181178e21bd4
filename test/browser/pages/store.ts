// Test page for web/store/ in a real browser (IndexedDB, navigator.storage): the test drives
// it through window.boxplayStore, with images from the OCI layout served beside the page.

import { resolveImage, buildRootFs } from '../../../web/oci/image.js'
import { parsePlatform } from '../../../web/oci/platform.js'
import { readFile } from '../../../web/oci/rootfs.js'
import type { ChangeSet } from '../../../web/oci/changes.js'
import { LayoutSource } from '../../../web/runtimes/remote/sources.js'
import { containerChangesTar, saveImages } from '../../../web/store/archive.js'
import { BrowserStore } from '../../../web/store/browser-store.js'
import { commitContainer } from '../../../web/store/commit.js'
import { StoreError } from '../../../web/store/errors.js'
import { STORES } from '../../../web/store/idb.js'
import { openArchive } from '../../../web/ui/dropped-archive.js'

const layout = new LayoutSource(new URL('/images', location.href).href)
const enc = new TextEncoder()
const dec = new TextDecoder()

/** A store error as plain data (errors do not cross page.evaluate). */
export interface Failure {
  code: string
  message: string
}

async function failure(p: Promise<unknown>): Promise<Failure | undefined> {
  try {
    await p
    return undefined
  } catch (e) {
    return { code: e instanceof StoreError ? e.code : 'other', message: e instanceof Error ? e.message : String(e) }
  }
}

const base64 = (bytes: Uint8Array): string => {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

const sample = (): ChangeSet => ({
  entries: [
    { path: '/etc', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
    { path: '/etc/motd', kind: 'deleted' },
    { path: '/root', kind: 'dir', mode: 0o700, uid: 0, gid: 0, mtime: 1 },
    { path: '/root/notes.txt', kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, data: enc.encode('kept in the browser\n') },
    { path: '/root/link', kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1, target: 'notes.txt' },
    { path: '/srv', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1, opaque: true },
  ],
})

const api = {
  async reset(name: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.deleteDatabase(name)
      req.onsuccess = () => resolve()
      req.onerror = () => reject(req.error)
    })
  },

  /** Copies busybox from the layout, makes a container with the sample changes, commits it. */
  async populate(name: string): Promise<{ images: string[]; containers: string[]; usage: number }> {
    const store = await BrowserStore.open({ name })
    try {
      const busybox = await store.images.copyFrom(layout, 'busybox', 'busybox:latest', parsePlatform('linux/386'))
      const c = await store.containers.create({ name: 'work', image: { name: busybox.name, digest: busybox.digest, platform: busybox.platform }, runtime: 'v86', process: { cmd: ['sh'] } })
      await store.containers.markStarted(c.id)
      await store.containers.saveChanges('work', sample(), { code: 0 })
      const base = await store.images.resolve('busybox')
      await commitContainer(store, 'work', base, 'mine:1')
      const images = (await store.images.list()).images.map((i) => i.name)
      const containers = (await store.containers.list()).containers.map((x) => `${x.name} ${x.state} ${x.exitCode}`)
      return { images, containers, usage: (await store.usage()).storeBytes }
    } finally {
      store.close()
    }
  },

  /** What the store holds now: names, the kept changes, the committed image's files. */
  async inspect(name: string) {
    const store = await BrowserStore.open({ name })
    try {
      const images = (await store.images.list()).images.map((i) => `${i.name} ${i.platform} ${i.origin}`)
      const { containers, skipped } = await store.containers.list()
      const changes = containers.length ? await store.containers.changes(containers[0]!.name) : { entries: [] }
      const shown = changes.entries.map((e) => `${e.kind} ${e.path}${e.kind === 'dir' && e.opaque ? ' opaque' : ''}${e.kind === 'symlink' ? ` -> ${e.target}` : ''}`)
      let committed: { notes?: string; motd: boolean; cmd?: string[] | null; layers: number } | undefined
      if (images.some((i) => i.startsWith('mine:1 '))) {
        const image = await resolveImage(store.images.source(), 'mine:1')
        const fs = await buildRootFs(image)
        const notes = fs.lookup('/root/notes.txt')
        committed = {
          ...(notes?.kind === 'file' ? { notes: dec.decode(await readFile(notes)) } : {}),
          motd: fs.lookup('/etc/motd') !== undefined,
          cmd: image.config.Cmd,
          layers: image.layers.length,
        }
      }
      const usage = await store.usage()
      return { images, containers: containers.map((c) => `${c.name} ${c.state} ${c.exitCode}`), skipped, changes: shown, committed, usage }
    } finally {
      store.close()
    }
  },

  async errors(name: string) {
    const store = await BrowserStore.open({ name })
    try {
      const first = (await store.containers.list()).containers[0]!
      return {
        nameInUse: await failure(store.containers.create({ name: 'work', image: first.image, runtime: 'v86', process: {} })),
        missing: await failure(store.containers.get('nope')),
        badName: await failure(store.containers.create({ name: '../x', image: first.image, runtime: 'v86', process: {} })),
        commitRunning: await (async () => {
          await store.containers.markStarted('work')
          const f = await failure(commitContainer(store, 'work', await store.images.resolve('busybox'), 'mine:2'))
          await store.containers.markExited('work', 0)
          return f
        })(),
        badImageName: await failure(commitContainer(store, 'work', await store.images.resolve('busybox'), 'Not A Name')),
      }
    } finally {
      store.close()
    }
  },

  /** The store capped at `capBytes`: what a too-big write says, and that nothing was lost. */
  async quota(name: string, capBytes: number) {
    const store = await BrowserStore.open({ name, maxBytes: capBytes })
    try {
      const before = (await store.containers.list()).containers.map((c) => c.changes?.digest)
      const big = { entries: [{ path: '/big', kind: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: 1, data: globalThis.crypto.getRandomValues(new Uint8Array(60_000)) }] }
      const refused = await failure(store.containers.saveChanges('work', big))
      const after = (await store.containers.list()).containers.map((c) => c.changes?.digest)
      const changes = await store.containers.changes('work')
      const candidates = await store.removalCandidates()
      return { refused, unchanged: JSON.stringify(before) === JSON.stringify(after), stillReadable: changes.entries.length, candidates, usage: await store.usage() }
    } finally {
      store.close()
    }
  },

  /** Damages records behind the store's back: a container record and a layer blob. */
  async corrupt(name: string): Promise<void> {
    const store = await BrowserStore.open({ name })
    try {
      const work = (await store.containers.list()).containers[0]!
      await store.db.write([STORES.containers, STORES.blobs], (put) => {
        put(STORES.containers, 'damaged-1', { id: 'damaged-1', name: 42 })
        put(STORES.containers, 'damaged-2', 'not even an object')
        put(STORES.blobs, work.changes!.digest, enc.encode('scribbled over'))
      }, 'damage')
    } finally {
      store.close()
    }
  },

  async afterCorruption(name: string) {
    const store = await BrowserStore.open({ name })
    try {
      const { containers, skipped } = await store.containers.list()
      const changes = await failure(store.containers.changes('work'))
      const image = await failure(buildRootFs(await store.images.resolve('busybox')))
      return { containers: containers.map((c) => c.name), skipped, changes, imageStillRuns: image === undefined }
    } finally {
      store.close()
    }
  },

  /** A download of an image and of a container's changes, as base64 (for the Node side). */
  async downloads(name: string): Promise<{ image: string; changes: string; reopened: string[] }> {
    const store = await BrowserStore.open({ name })
    try {
      const archive = await saveImages(store, ['mine:1'])
      const reopened = await openArchive(archive, 'x:latest')
      return { image: base64(archive), changes: base64(await containerChangesTar(store, 'work')), reopened: reopened.names }
    } finally {
      store.close()
    }
  },

  async removeAll(name: string) {
    const store = await BrowserStore.open({ name })
    try {
      await store.removeContainer('work')
      const afterContainer = await store.usage()
      await store.removeImage('mine:1')
      await store.removeImage('busybox')
      const afterImages = await store.usage()
      return { afterContainer: afterContainer.storeBytes, afterImages: afterImages.storeBytes, left: (await store.blobs.sizes()).size }
    } finally {
      store.close()
    }
  },
}

export type StoreApi = typeof api

declare global {
  interface Window {
    boxplayStore: StoreApi
  }
}

window.boxplayStore = api
document.getElementById('status')!.dataset.ready = ''
document.getElementById('status')!.textContent = 'ready'
