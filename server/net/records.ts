// The stored networks: `<state dir>/networks/<name>.json` (the record, with its leases) and
// `<name>.hosts` (the hosts file every member bind-mounts read-only at /etc/hosts). Call
// these under withNetworkLock (lock.ts). Records are replaced atomically (write + rename);
// the hosts file is rewritten in place, because a bind mount follows the inode, not the name.

import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { alive, type Owner } from './owner.js'

/** One container on a network. */
export interface Lease {
  /** The run's id (the core's container id). */
  runId: string
  ip: string
  /** The host end of its veth pair. */
  hostIfname: string
  /** What it answers to on the network: its host name first, then its aliases. */
  names: string[]
  owner: Owner
  attached: string
}

export interface NetworkRecord {
  name: string
  /** 64 hex digits, like Docker's network ids. */
  id: string
  driver: 'bridge'
  /** The Linux bridge on the host, `bpl-` + the id's first 8 digits. */
  bridge: string
  /** e.g. 10.200.1.0/24 */
  subnet: string
  /** The bridge's own address, e.g. 10.200.1.1 */
  gateway: string
  created: string
  leases: Lease[]
}

export function networksDir(stateRoot: string): string {
  return join(stateRoot, 'networks')
}

const recordFile = (dir: string, name: string) => join(dir, `${name}.json`)
export const hostsFile = (dir: string, name: string) => join(dir, `${name}.hosts`)

export function readRecord(dir: string, name: string): NetworkRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(dir, name), 'utf8')) as NetworkRecord
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`network ${name}: its record ${recordFile(dir, name)} is unreadable (${(err as Error).message}): remove it by hand if the network is gone`)
  }
}

export function listRecords(dir: string): NetworkRecord[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readRecord(dir, f.slice(0, -'.json'.length)))
    .filter((r): r is NetworkRecord => r !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name))
}

export function writeRecord(dir: string, record: NetworkRecord): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  const tmp = `${recordFile(dir, record.name)}.tmp`
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 })
  renameSync(tmp, recordFile(dir, record.name))
  writeHosts(dir, record)
}

export function deleteRecord(dir: string, name: string): void {
  for (const f of [recordFile(dir, name), hostsFile(dir, name)]) {
    try {
      unlinkSync(f)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
}

export function renderHosts(record: NetworkRecord): string {
  const lines = [
    `# boxplay network ${record.name} (${record.subnet}): rewritten as containers come and go`,
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...record.leases.map((l) => `${l.ip}\t${l.names.join(' ')}`),
  ]
  return lines.join('\n') + '\n'
}

/** Same inode, new bytes: what every member's read-only bind of it then shows. */
function writeHosts(dir: string, record: NetworkRecord): void {
  const path = hostsFile(dir, record.name)
  const bytes = Buffer.from(renderHosts(record))
  const fd = openSync(path, existsSync(path) ? 'r+' : 'w', 0o644)
  try {
    writeSync(fd, bytes, 0, bytes.length, 0)
    ftruncateSync(fd, bytes.length)
  } finally {
    closeSync(fd)
  }
}

/** Drops the leases of runs whose owner process is gone; true when any were. */
export function pruneLeases(record: NetworkRecord): boolean {
  const before = record.leases.length
  record.leases = record.leases.filter((l) => alive(l.owner))
  return record.leases.length !== before
}
