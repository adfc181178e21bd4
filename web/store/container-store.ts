// The browser's container store: a container is a run with a name and a life (created,
// running, exited, removed), kept in IndexedDB so it survives a reload and a browser
// restart. Its files are the change set of its writable layer, kept as the OCI layer the
// one layer writer makes of it (web/oci/layer-writer.ts): the same bytes become the top
// layer of a commit and the tarball a learner downloads. The image it was made from is
// named by digest, so a resume runs on exactly that image.

import type { ChangeSet } from '../oci/changes.js'
import { writeLayer } from '../oci/layer-writer.js'
import { BlobStore } from './blob-store.js'
import { type SkippedRecord, StoreError } from './errors.js'
import { type Database, STORES } from './idb.js'
import { changesFromLayer } from './layer-changes.js'

export type ContainerRuntime = 'v86' | 'wasi'
export type ContainerState = 'created' | 'running' | 'exited'

/** What the container runs, as given when it was made (the image config fills the rest). */
export interface ContainerProcess {
  cmd?: string[]
  entrypoint?: string[]
  env?: string[]
  cwd?: string
  user?: string
}

export interface ContainerChanges {
  /** The gzip layer blob in the blob store. */
  digest: string
  diffId: string
  mediaType: string
  size: number
  /** Tar entries, whiteouts included. */
  entries: number
}

export interface ContainerRecord {
  id: string
  name: string
  image: { name: string; digest: string; platform: string }
  runtime: ContainerRuntime
  process: ContainerProcess
  state: ContainerState
  createdAt: number
  startedAt?: number
  exitedAt?: number
  exitCode?: number
  /** Absent until the first save. */
  changes?: ContainerChanges
  usedAt: number
}

export interface NewContainer {
  name: string
  image: { name: string; digest: string; platform: string }
  runtime: ContainerRuntime
  process: ContainerProcess
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/

function isRecord(v: unknown): v is ContainerRecord {
  const r = v as Partial<ContainerRecord> | null
  return (
    typeof r === 'object' && r !== null && typeof r.id === 'string' && typeof r.name === 'string' && typeof r.image === 'object' && r.image !== null &&
    typeof r.image.digest === 'string' && typeof r.image.name === 'string' && (r.runtime === 'v86' || r.runtime === 'wasi') &&
    typeof r.process === 'object' && r.process !== null && typeof r.createdAt === 'number' && typeof r.usedAt === 'number' &&
    (r.changes === undefined || (typeof r.changes === 'object' && typeof r.changes.digest === 'string'))
  )
}

function newId(): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export class ContainerStore {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
  ) {}

  /** Every readable container, oldest first; unreadable records are skipped and reported. */
  async list(): Promise<{ containers: ContainerRecord[]; skipped: SkippedRecord[] }> {
    const containers: ContainerRecord[] = []
    const skipped: SkippedRecord[] = []
    for (const { key, value } of await this.db.entries(STORES.containers)) {
      if (isRecord(value) && value.id === key) containers.push(value)
      else skipped.push({ store: 'containers', key: String(key), reason: 'the record is not a container record (damaged, or written by another version)' })
    }
    containers.sort((a, b) => a.createdAt - b.createdAt)
    return { containers, skipped }
  }

  /** By name, by full id, or by an unambiguous id prefix (as Docker). */
  async find(nameOrId: string): Promise<ContainerRecord | undefined> {
    const { containers } = await this.list()
    const byName = containers.find((c) => c.name === nameOrId)
    if (byName) return byName
    const byId = containers.filter((c) => nameOrId.length >= 4 && c.id.startsWith(nameOrId))
    if (byId.length > 1) throw new StoreError('invalid', `"${nameOrId}" matches ${byId.length} containers: give more of the id, or the name`)
    return byId[0]
  }

  async get(nameOrId: string): Promise<ContainerRecord> {
    const found = await this.find(nameOrId)
    if (!found) throw new StoreError('not-found', `no container "${nameOrId}" is kept in this browser: see the Containers panel, or start one with &name=${encodeURIComponent(nameOrId)}`)
    return found
  }

  async create(spec: NewContainer): Promise<ContainerRecord> {
    if (!NAME.test(spec.name)) throw new StoreError('invalid', `"${spec.name}" is not a container name: use letters, digits, _ . - (starting with a letter or digit)`)
    const taken = (await this.list()).containers.find((c) => c.name === spec.name)
    if (taken) throw new StoreError('exists', `the container name "${spec.name}" is already in use by container ${taken.id.slice(0, 12)}: remove it, or choose another name`)
    const now = Date.now()
    const record: ContainerRecord = { id: newId(), ...spec, state: 'created', createdAt: now, usedAt: now }
    await this.db.write([STORES.containers], (put) => put(STORES.containers, record.id, record), `container ${spec.name}`)
    return record
  }

  private async update(record: ContainerRecord, patch: Partial<ContainerRecord>): Promise<ContainerRecord> {
    const next = { ...record, ...patch, usedAt: Date.now() }
    await this.db.write([STORES.containers], (put) => put(STORES.containers, next.id, next), `container ${record.name}`)
    return next
  }

  async markStarted(nameOrId: string): Promise<ContainerRecord> {
    const record = await this.get(nameOrId)
    const { exitCode: _code, exitedAt: _at, ...rest } = record
    const next = { ...rest, state: 'running' as const, startedAt: Date.now(), usedAt: Date.now() }
    await this.db.write([STORES.containers], (put) => put(STORES.containers, next.id, next), `container ${record.name}`)
    return next
  }

  /**
   * Keeps the container's files: `changes` (over its image) become its writable layer,
   * replacing the one kept before. With `exit`, the container is marked exited. The new layer
   * is stored before the record points at it, so a refused write keeps the old files.
   */
  async saveChanges(nameOrId: string, changes: ChangeSet, exit?: { code: number }): Promise<ContainerRecord> {
    const record = await this.get(nameOrId)
    const layer = await writeLayer(changes, { epoch: Math.floor(Date.now() / 1000) })
    const kept: ContainerChanges = { digest: layer.digest, diffId: layer.diffId, mediaType: layer.mediaType, size: layer.size, entries: layer.entries }
    if (record.changes?.digest !== layer.digest) {
      await this.blobs.put([{ digest: layer.digest, bytes: layer.blob }], `the files of container ${record.name}`)
    }
    const next = await this.update(record, {
      changes: kept,
      ...(exit ? { state: 'exited' as const, exitedAt: Date.now(), exitCode: exit.code } : {}),
    })
    return next
  }

  /**
   * Adds files to a stopped container's kept files (an upload): `extra` goes over what it
   * had, later entries winning, as the layer writer orders them.
   */
  async addChanges(nameOrId: string, extra: ChangeSet): Promise<ContainerRecord> {
    const record = await this.get(nameOrId)
    if (record.state === 'running') throw new StoreError('busy', `container ${record.name} is running: stop it, then add files (a running VM would not see them)`)
    const kept = await this.changes(record.id)
    return this.saveChanges(record.id, { entries: [...kept.entries, ...extra.entries] })
  }

  /** Marks an exited container without touching its files (a run that kept nothing new). */
  async markExited(nameOrId: string, code: number): Promise<ContainerRecord> {
    return this.update(await this.get(nameOrId), { state: 'exited', exitedAt: Date.now(), exitCode: code })
  }

  /** The kept writable layer's blob, or undefined before the first save. */
  async layer(nameOrId: string): Promise<{ record: ContainerRecord; blob: Uint8Array } | undefined> {
    const record = await this.get(nameOrId)
    if (!record.changes) return undefined
    return { record, blob: await this.blobs.get(record.changes.digest) }
  }

  /** The container's kept files as a change set over its image (empty before the first save). */
  async changes(nameOrId: string): Promise<ChangeSet> {
    const kept = await this.layer(nameOrId)
    if (!kept) return { entries: [] }
    return changesFromLayer(kept.record.changes!.mediaType, kept.blob)
  }

  async rename(nameOrId: string, name: string): Promise<ContainerRecord> {
    if (!NAME.test(name)) throw new StoreError('invalid', `"${name}" is not a container name`)
    const record = await this.get(nameOrId)
    if ((await this.list()).containers.some((c) => c.name === name && c.id !== record.id)) throw new StoreError('exists', `the container name "${name}" is already in use`)
    return this.update(record, { name })
  }

  /** Forgets a container; its layer blob goes at the next prune unless an image uses it. */
  async remove(nameOrId: string): Promise<ContainerRecord> {
    const record = await this.get(nameOrId)
    await this.db.write([STORES.containers], (_put, del) => del(STORES.containers, record.id), `container ${record.name}`)
    return record
  }

  /** Removes a record that cannot be read (see list().skipped), by its key. */
  async removeSkipped(key: string): Promise<void> {
    await this.db.write([STORES.containers], (_put, del) => del(STORES.containers, key), `record ${key}`)
  }

  async referenced(): Promise<Set<string>> {
    const out = new Set<string>()
    for (const c of (await this.list()).containers) if (c.changes) out.add(c.changes.digest)
    return out
  }
}
