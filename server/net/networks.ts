// `boxplay network create|ls|inspect|rm`: user networks as root, one bridge each. `bridge` is
// the default network (made on first use, as Docker's is there from the start); `none` is
// not stored: a run on it has only loopback.

import { randomBytes } from 'node:crypto'
import { createBridge, bridgeExists, deleteBridge } from './bridge.js'
import { NetworkError } from './errors.js'
import { chooseSubnet, formatSubnet, gatewayOf, hostRoutes, parseSubnet } from './ipam.js'
import { withNetworkLock } from './lock.js'
import { deleteRecord, listRecords, networksDir, pruneLeases, readRecord, writeRecord, type NetworkRecord } from './records.js'

import { DEFAULT_BRIDGE, NO_NETWORK } from './names.js'

export { DEFAULT_BRIDGE, NO_NETWORK }
const RESERVED = new Set([NO_NETWORK, 'host', 'default'])

export function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new NetworkError('invalid', `${JSON.stringify(name)} is not a valid network name: 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit`)
  }
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new NetworkError('unsupported', `${what} needs root (it makes a Linux bridge and veth pairs): rootless runs support --network none and -p`)
  }
}

export interface CreateOptions {
  subnet?: string
}

export async function createNetwork(stateRoot: string, name: string, opts: CreateOptions = {}): Promise<NetworkRecord> {
  checkName(name)
  if (RESERVED.has(name)) throw new NetworkError('invalid', `${name} is a built-in network mode, not a name a network can take`)
  requireRoot('network create')
  const dir = networksDir(stateRoot)
  return withNetworkLock(dir, () => {
    if (readRecord(dir, name)) throw new NetworkError('exists', `network with name ${name} already exists`)
    return makeNetwork(dir, name, opts)
  })
}

/**
 * Bridges of every state dir on this host share its routing table: choosing a subnet and
 * giving the bridge its address happen under one host-wide lock (root-only /run), so two
 * boxplays (two state dirs, parallel tests) never pick the same /24. Taken inside a state
 * dir's lock, never the other way round.
 */
const HOST_LOCK_DIR = '/run/boxplay-hostnet'

/** Under the state dir's lock: picks a subnet, makes the bridge, stores the record. */
export async function makeNetwork(dir: string, name: string, opts: CreateOptions): Promise<NetworkRecord> {
  const id = randomBytes(32).toString('hex')
  const record = await withNetworkLock(HOST_LOCK_DIR, () => {
    // The host's routes include every other boxplay's bridges, made under this same lock.
    const subnet = chooseSubnet(opts.subnet, listRecords(dir))
    const made: NetworkRecord = {
      name,
      id,
      driver: 'bridge',
      bridge: `bpl-${id.slice(0, 8)}`,
      subnet: formatSubnet(subnet),
      gateway: gatewayOf(subnet),
      created: new Date().toISOString(),
      leases: [],
    }
    createBridge(made.bridge, made.gateway, subnet.prefix)
    return made
  })
  try {
    writeRecord(dir, record)
  } catch (err) {
    deleteBridge(record.bridge)
    throw err
  }
  return record
}

/** After a reboot (or `ip link del`) the record outlives its bridge: make it again. */
export async function ensureBridge(record: NetworkRecord): Promise<void> {
  if (bridgeExists(record.bridge)) return
  await withNetworkLock(HOST_LOCK_DIR, () => {
    if (bridgeExists(record.bridge)) return
    const subnet = parseSubnet(record.subnet)
    const clash = hostRoutes().find((r) => r.base < subnet.base + 2 ** (32 - subnet.prefix) && subnet.base < r.base + 2 ** (32 - r.prefix))
    if (clash) throw new NetworkError('in-use', `network ${record.name}: its bridge is gone and its subnet ${record.subnet} is now routed elsewhere on this host (${formatSubnet(clash)}): remove the network and create it again`)
    createBridge(record.bridge, record.gateway, subnet.prefix)
  })
}

/** Every stored network, leases of dead runs dropped. */
export async function listNetworks(stateRoot: string): Promise<NetworkRecord[]> {
  const dir = networksDir(stateRoot)
  const records = listRecords(dir)
  if (!records.some((r) => pruneLeases({ ...r, leases: [...r.leases] }))) return records
  return withNetworkLock(dir, () => {
    const fresh = listRecords(dir)
    for (const r of fresh) if (pruneLeases(r)) writeRecord(dir, r)
    return fresh
  })
}

export async function inspectNetwork(stateRoot: string, name: string): Promise<NetworkRecord> {
  const record = (await listNetworks(stateRoot)).find((r) => r.name === name)
  if (!record) throw notFound(name)
  return record
}

export async function removeNetwork(stateRoot: string, name: string): Promise<void> {
  if (name === NO_NETWORK) throw new NetworkError('invalid', `${name} is a built-in network mode and cannot be removed`)
  const dir = networksDir(stateRoot)
  await withNetworkLock(dir, () => {
    const record = readRecord(dir, name)
    if (!record) throw notFound(name)
    pruneLeases(record)
    if (record.leases.length > 0) {
      const who = record.leases.map((l) => l.names[0] ?? l.runId).join(', ')
      throw new NetworkError('in-use', `network ${name} has active endpoints (${who}): stop those containers first`)
    }
    if (bridgeExists(record.bridge)) requireRoot('network rm')
    deleteBridge(record.bridge)
    deleteRecord(dir, name)
  })
}

export function notFound(name: string): NetworkError {
  return new NetworkError('not-found', `network ${name} not found: see boxplay network ls, or make it with boxplay network create ${name}`)
}
