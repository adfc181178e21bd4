// The containers of one machine (or one BOXPLAY_STATE_DIR): create, list, look up, update,
// remove. Many boxplay processes share it (CLIs, monitors, a server), so name checks and
// creation hold one lock file, and each state update holds its container's lock. A record
// that cannot be read is skipped with a warning: one broken directory loses nothing else.

import { existsSync, promises as fsp, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { processAlive, withLock } from '../store/lock.js'
import { defaultStateRoot } from '../native/paths.js'
import { ContainerError, isFullId, newId, noSuchContainer, randomName, shortId } from './ids.js'
import { CONFIG_FILE, STATE_FILE, readRecord, writeJsonAtomic, type ContainerConfig, type ContainerRecord, type ContainerState } from './record.js'

export class ContainerStore {
  readonly root: string

  constructor(
    stateRoot: string = defaultStateRoot(),
    private readonly warn: (message: string) => void = (m) => process.stderr.write(`boxplay: warning: ${m}\n`),
  ) {
    this.root = join(stateRoot, 'containers')
  }

  private get lockPath(): string {
    return join(this.root, '.lock')
  }

  dirOf(id: string): string {
    return join(this.root, id)
  }

  /** Every readable container, oldest first. */
  async list(): Promise<ContainerRecord[]> {
    let names: string[]
    try {
      names = await fsp.readdir(this.root)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw e
    }
    const records: ContainerRecord[] = []
    for (const name of names) {
      if (!isFullId(name)) continue
      const dir = join(this.root, name)
      try {
        records.push(await this.live(await readRecord(dir)))
      } catch (e) {
        // A container being created has its directory before its files: not broken, just young.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(join(dir, STATE_FILE))) continue
        this.warn(`skipping container ${shortId(name)}: ${e instanceof Error ? e.message : String(e)} (remove ${dir} if it is not needed)`)
      }
    }
    return records.sort((a, b) => a.config.created.localeCompare(b.config.created))
  }

  /** Docker's lookup order: a full id, a name, then a unique id prefix. */
  async find(query: string): Promise<ContainerRecord | undefined> {
    const q = query.startsWith('/') ? query.slice(1) : query
    const all = await this.list()
    const exact = all.find((r) => r.config.id === q) ?? all.find((r) => r.config.name === q)
    if (exact) return exact
    if (!/^[0-9a-f]+$/.test(q)) return undefined
    const prefixed = all.filter((r) => r.config.id.startsWith(q))
    if (prefixed.length > 1) throw new ContainerError('invalid', `multiple containers found with provided prefix: ${query}`)
    return prefixed[0]
  }

  async get(query: string): Promise<ContainerRecord> {
    const found = await this.find(query)
    if (!found) throw noSuchContainer(query)
    return found
  }

  /** Creates the record (status created); `name` undefined gets a random free one. */
  async create(config: Omit<ContainerConfig, 'id' | 'name' | 'created'>, name: string | undefined): Promise<ContainerRecord> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 })
    return withLock(this.lockPath, async () => {
      const taken = new Map((await this.list()).map((r) => [r.config.name, r.config.id]))
      if (name !== undefined && taken.has(name)) {
        throw new ContainerError(
          'conflict',
          `Conflict. The container name "/${name}" is already in use by container "${taken.get(name)}". You have to remove (or rename) that container to be able to reuse that name.`,
        )
      }
      let chosen = name ?? randomName()
      for (let i = 2; taken.has(chosen); i++) chosen = `${randomName()}${i}`
      const id = newId()
      const dir = this.dirOf(id)
      await fsp.mkdir(dir, { mode: 0o700 })
      const full: ContainerConfig = { ...config, id, name: chosen, created: new Date().toISOString() }
      const state: ContainerState = { status: 'created', runs: 0 }
      // State last: list() passes over a directory without state.json (one being created).
      await writeJsonAtomic(join(dir, CONFIG_FILE), full)
      await writeJsonAtomic(join(dir, STATE_FILE), state)
      return { dir, config: full, state }
    })
  }

  /** Read-modify-write of one container's state under its lock; returns the new state. */
  async update(record: ContainerRecord, fn: (state: ContainerState) => ContainerState): Promise<ContainerState> {
    return withLock(join(record.dir, 'state.lock'), async () => {
      const current = (await readRecord(record.dir)).state
      const next = fn(current)
      await writeJsonAtomic(join(record.dir, STATE_FILE), next)
      record.state = next
      return next
    })
  }

  /** Renamed out of sight first (readers list only id-named dirs), then deleted. */
  async remove(record: ContainerRecord): Promise<void> {
    const gone = join(this.root, `.removing-${record.config.id}-${process.pid}`)
    await withLock(this.lockPath, async () => {
      try {
        await fsp.rename(record.dir, gone)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return // removed already (--rm, another rm)
        throw e
      }
    })
    await fsp.rm(gone, { recursive: true, force: true })
  }

  /**
   * A record that says running whose monitor is gone (killed, the machine rebooted) is an
   * exited container: say so, and write it down so every reader agrees.
   */
  private async live(record: ContainerRecord): Promise<ContainerRecord> {
    const s = record.state
    if (s.status !== 'running' || monitorAlive(s.monitorPid, s.monitorStart)) return record
    const state: ContainerState = {
      ...s,
      status: 'exited',
      exitCode: s.exitCode ?? 137,
      finishedAt: s.finishedAt ?? new Date().toISOString(),
      error: s.error ?? 'its monitor process ended without recording an exit (killed, or the machine restarted)',
    }
    delete state.monitorPid
    delete state.monitorStart
    delete state.pid
    await writeJsonAtomic(join(record.dir, STATE_FILE), state).catch(() => undefined)
    return { ...record, state }
  }
}

/**
 * The pid is alive and is still the process that started then (not a reused pid). A zombie
 * (a monitor killed outright, not yet reaped by whoever inherited it) is not alive.
 */
export function monitorAlive(pid: number | undefined, start: number | undefined): boolean {
  if (pid === undefined || !processAlive(pid)) return false
  const stat = procStat(pid)
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false
  return start === undefined || stat.start === start
}

/** State letter and start time (clock ticks since boot) from /proc/PID/stat. */
function procStat(pid: number): { state: string; start: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: fields[0] ?? '', start: Number(fields[19]) }
  } catch {
    return undefined
  }
}

/** The kernel's start time of a process (/proc/PID/stat field 22). */
export function processStartTime(pid: number): number | undefined {
  return procStat(pid)?.start
}
