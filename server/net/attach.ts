// A run joining a network: under the network lock, an address and a veth name are leased,
// the run's names are added to the network's hosts file, and the core is told what to make
// (the veth pair itself is the core's work: crates/boxplay-container/src/net.rs). release()
// gives it all back when the run has exited; a lease whose owner process died without
// releasing is dropped by the next network operation (records.ts pruneLeases).

import { randomBytes } from 'node:crypto'
import type { CoreNetwork } from '../native/core-spec.js'
import { NetworkError } from './errors.js'
import { nextAddress, parseSubnet } from './ipam.js'
import { withNetworkLock } from './lock.js'
import { DEFAULT_BRIDGE, ensureBridge, makeNetwork, notFound, requireRoot } from './networks.js'
import { thisProcess } from './owner.js'
import { hostsFile, listRecords, networksDir, pruneLeases, readRecord, writeRecord } from './records.js'

export interface Attachment {
  network: string
  ip: string
  core: CoreNetwork
  /** Bind it read-only at /etc/hosts: every member's names, kept current. */
  hostsFile: string
  release(): Promise<void>
}

export async function attachRun(stateRoot: string, networkName: string, run: { runId: string; names: string[] }): Promise<Attachment> {
  if (networkName === 'host') {
    throw new NetworkError('unsupported', "--network host is not supported: a container always gets its own network namespace (use -p to reach it from the host)")
  }
  requireRoot(`--network ${networkName}`)
  const dir = networksDir(stateRoot)
  const lease = await withNetworkLock(dir, async () => {
    let record = readRecord(dir, networkName)
    if (!record && networkName === DEFAULT_BRIDGE) record = await makeNetwork(dir, DEFAULT_BRIDGE, {})
    if (!record) throw notFound(networkName)
    pruneLeases(record)
    await ensureBridge(record)
    const ip = nextAddress(record)
    const hostIfname = `bpv${randomBytes(6).toString('hex')}`
    record.leases.push({ runId: run.runId, ip, hostIfname, names: run.names, owner: thisProcess(), attached: new Date().toISOString() })
    writeRecord(dir, record)
    return { record, ip, hostIfname }
  })
  return {
    network: networkName,
    ip: lease.ip,
    core: { bridge: lease.record.bridge, hostIfname: lease.hostIfname, address: lease.ip, prefixLen: parseSubnet(lease.record.subnet).prefix },
    hostsFile: hostsFile(dir, networkName),
    release: () => releaseRun(dir, networkName, run.runId),
  }
}

async function releaseRun(dir: string, networkName: string, runId: string): Promise<void> {
  await withNetworkLock(dir, () => {
    const record = readRecord(dir, networkName)
    if (!record) return
    const before = record.leases.length
    record.leases = record.leases.filter((l) => l.runId !== runId)
    if (record.leases.length !== before) writeRecord(dir, record)
  })
}

/** For the native runtime's sweep: drops leases of dead owners in every network. Cheap when
 *  there is nothing to do (no lock taken). */
export async function pruneAllLeases(stateRoot: string): Promise<void> {
  const dir = networksDir(stateRoot)
  const records = listRecords(dir)
  if (!records.some((r) => pruneLeases({ ...r, leases: [...r.leases] }))) return
  await withNetworkLock(dir, () => {
    for (const r of listRecords(dir)) if (pruneLeases(r)) writeRecord(dir, r)
  })
}

export function checkAliases(networkName: string, aliases: readonly string[]): void {
  if (aliases.length && networkName === 'none') {
    throw new NetworkError('invalid', '--network-alias needs a network: give --network NAME (a user network) or --network bridge')
  }
  for (const a of aliases) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(a)) throw new NetworkError('invalid', `--network-alias ${JSON.stringify(a)}: use a host name (letters, digits, '-' and '.')`)
  }
}
