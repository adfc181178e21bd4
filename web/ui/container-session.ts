// Containers in the page: a browser run (v86 or wasi) started with a name is a container
// kept in the page's store (web/store/). Its files are saved when it exits (init syncs the
// guest first, so the save holds everything), and while a v86 run is going every
// SAVE_EVERY_MS and when the page is hidden: those saves hold what the guest kernel has
// written back to 9p so far (it keeps written pages in its cache, cache=loose, and writes
// them back within ~30 s), so a tab closed mid-run keeps what was saved last, possibly
// without its latest writes. Resuming starts a run of the same image, by digest, with the
// kept changes as its writable layer (RunSpec.changes).

import type { ChangeSet } from '../oci/changes.js'
import type { ResolvedImage } from '../oci/image.js'
import { resolveImage } from '../oci/image.js'
import { parsePlatform } from '../oci/platform.js'
import type { Run, RunSpec, Runtime } from '../runtimes/runtime.js'
import { hasChangeSet } from '../runtimes/writable-layer.js'
import type { BrowserStore } from '../store/browser-store.js'
import type { ContainerProcess, ContainerRecord, ContainerRuntime } from '../store/container-store.js'
import { StoreError } from '../store/errors.js'
import type { ImageCatalog } from './image-catalog.js'

/** How often a running v86 container's files are saved (a run's files are read from its VM). */
export const SAVE_EVERY_MS = 20_000

export interface SaveReport {
  container: string
  ok: boolean
  /** What went wrong, e.g. the store is full (StoreError code 'quota'). */
  error?: StoreError
  final: boolean
}

export interface ContainerRunOptions {
  store: BrowserStore
  runtime: Runtime
  runtimeId: ContainerRuntime
  image: ResolvedImage
  spec: Omit<RunSpec, 'image' | 'changes'>
  onSave?: (report: SaveReport) => void
}

function processOf(spec: Omit<RunSpec, 'image' | 'changes'>): ContainerProcess {
  return {
    ...(spec.cmd ? { cmd: spec.cmd } : {}),
    ...(spec.entrypoint ? { entrypoint: spec.entrypoint } : {}),
    ...(spec.env?.length ? { env: spec.env } : {}),
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
    ...(spec.user ? { user: spec.user } : {}),
  }
}

function asStoreError(e: unknown): StoreError {
  return e instanceof StoreError ? e : new StoreError('failed', e instanceof Error ? e.message : String(e))
}

/** Creates container `name` from `image` and starts its first run. */
export async function createContainer(name: string, o: ContainerRunOptions): Promise<{ record: ContainerRecord; run: Run }> {
  const record = await o.store.containers.create({
    name,
    image: { name: o.image.name, digest: o.image.digest, platform: `${o.image.platform.os}/${o.image.platform.architecture}` },
    runtime: o.runtimeId,
    process: processOf(o.spec),
  })
  try {
    return { record, run: await startKept(record, undefined, o) }
  } catch (e) {
    // A container whose first run could not start is not kept (docker run leaves one in
    // "created"; here it would only be in the way of the name).
    await o.store.containers.remove(record.id).catch(() => {})
    throw e
  }
}

/**
 * Starts a kept container again on its files. `cmd` replaces the command it was made with
 * for this run only (a deep link's `cmd`); otherwise it runs what it was made with.
 */
export async function resumeContainer(record: ContainerRecord, o: ContainerRunOptions): Promise<Run> {
  if (o.image.digest !== record.image.digest) {
    throw new StoreError('invalid', `container ${record.name} was made from ${record.image.name}@${record.image.digest}; this is ${o.image.name}@${o.image.digest}`)
  }
  const changes = await o.store.containers.changes(record.id)
  const spec = { ...o.spec }
  if (!spec.cmd && record.process.cmd) spec.cmd = record.process.cmd
  if (!spec.entrypoint && record.process.entrypoint) spec.entrypoint = record.process.entrypoint
  if (!spec.env && record.process.env) spec.env = record.process.env
  if (!spec.cwd && record.process.cwd) spec.cwd = record.process.cwd
  if (!spec.user && record.process.user) spec.user = record.process.user
  return startKept(record, changes, { ...o, spec })
}

/**
 * Holds the container while it runs, across the tabs of this browser (the Web Locks API: a
 * lock goes with its tab when the tab closes or crashes), so two tabs never run one
 * container and overwrite each other's files. Undefined when another tab holds it.
 */
function holdContainer(id: string): Promise<(() => void) | undefined> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks
  if (!locks) return Promise.resolve(() => {})
  return new Promise((resolve) => {
    void locks.request(`boxplay-container:${id}`, { ifAvailable: true }, (lock) => {
      if (!lock) return resolve(undefined)
      return new Promise<void>((release) => resolve(release))
    })
  })
}

async function startKept(record: ContainerRecord, changes: ChangeSet | undefined, o: ContainerRunOptions): Promise<Run> {
  const release = await holdContainer(record.id)
  if (!release) throw new StoreError('busy', `container ${record.name} is running in another tab of this browser: stop it there (or close that tab) first`)
  let run: Run
  try {
    run = await o.runtime.start({ ...o.spec, image: o.image, ...(changes && changes.entries.length ? { changes } : {}) })
  } catch (e) {
    release()
    throw e
  }
  if (!hasChangeSet(run)) {
    run.kill()
    release()
    throw new StoreError('invalid', `the ${o.runtimeId} runtime does not report a run's changes, so its containers cannot be kept`)
  }
  await o.store.containers.markStarted(record.id)
  let saving: Promise<void> = Promise.resolve()
  let ended = false
  const save = (final: boolean, exit?: { code: number }): Promise<void> => {
    // One save at a time, in order: the exit's save is the last word.
    saving = saving.then(async () => {
      if (ended && !final) return
      try {
        const changeSet = await run.changeSet()
        await o.store.containers.saveChanges(record.id, changeSet, exit)
        o.onSave?.({ container: record.name, ok: true, final })
      } catch (e) {
        if (exit) await o.store.containers.markExited(record.id, exit.code).catch(() => {})
        o.onSave?.({ container: record.name, ok: false, error: asStoreError(e), final })
      }
    })
    return saving
  }
  // While it runs: wasi files exist only after exit, a v86 VM's can be read at any time.
  const live = o.runtimeId === 'v86'
  const timer = live ? setInterval(() => void save(false), SAVE_EVERY_MS) : undefined
  const onHide = () => {
    if (document.visibilityState === 'hidden') void save(false)
  }
  if (live && typeof document !== 'undefined') document.addEventListener('visibilitychange', onHide)
  void run.exit.then(async (status) => {
    if (timer) clearInterval(timer)
    if (live && typeof document !== 'undefined') document.removeEventListener('visibilitychange', onHide)
    ended = true
    await save(true, { code: status.code })
    release()
  })
  return run
}

/**
 * The image a kept container was made from, by digest: from the page's store when it keeps
 * a copy, else from the page's images (server or bundled) when one of them still has it.
 */
export async function containerImage(store: BrowserStore, catalog: ImageCatalog | undefined, record: ContainerRecord): Promise<ResolvedImage> {
  const platform = parsePlatform(record.image.platform)
  if (await store.blobs.has(record.image.digest)) {
    const image = await resolveImage(store.images.source(), record.image.digest, platform)
    return { ...image, name: record.image.name }
  }
  if (catalog?.find(record.image.name)) {
    const image = await catalog.resolve(record.image.name, platform)
    if (image.digest === record.image.digest) return image
    throw new StoreError(
      'not-found',
      `container ${record.name} was made from ${record.image.name}@${record.image.digest.slice(0, 19)}…, but ${record.image.name} here is now ${image.digest.slice(0, 19)}…: the image it needs is gone`,
    )
  }
  throw new StoreError('not-found', `container ${record.name} was made from ${record.image.name}, which neither this page nor its server has any more`)
}

/** Copies an image into the page's store when it is small, so its containers outlive the server. */
export const KEEP_IMAGE_MAX_BYTES = 8 * 2 ** 20

export async function keepImageCopy(store: BrowserStore, catalog: ImageCatalog, image: ResolvedImage): Promise<boolean> {
  if (await store.blobs.has(image.digest)) return true
  const bytes = image.layers.reduce((n, l) => n + l.size, 0)
  if (bytes > KEEP_IMAGE_MAX_BYTES) return false
  const entry = catalog.find(image.name)
  if (!entry) return false
  await store.images.copyFrom(entry.source, image.digest, image.name.includes(':') ? image.name : `${image.name}:latest`, image.platform)
  return true
}

/**
 * Containers recorded as running whose tab is gone (closed or crashed mid-run: no tab holds
 * their lock) are marked exited, killed with their tab (137, as `docker ps` shows a killed
 * container); their files are those of the last save.
 */
export async function settleOrphans(store: BrowserStore): Promise<string[]> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks
  if (!locks) return []
  const held = new Set(((await locks.query()).held ?? []).map((l) => l.name))
  const settled: string[] = []
  for (const c of (await store.containers.list()).containers) {
    if (c.state === 'running' && !held.has(`boxplay-container:${c.id}`)) {
      await store.containers.markExited(c.id, 137)
      settled.push(c.name)
    }
  }
  return settled
}
