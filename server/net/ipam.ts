// Addresses: each network gets a /24 from a private pool that overlaps none of the host's
// routes (so a container's subnet never hides a real network) nor another boxplay network;
// members get the next free host address, the bridge itself the first.

import { readFileSync } from 'node:fs'
import { NetworkError } from './errors.js'
import type { NetworkRecord } from './records.js'

/** 10.200.0.0/16 in /24 steps: away from Docker's 172.17+ and podman's 10.88/10.89. */
const POOL_BASE = ipToInt('10.200.0.0')
const POOL_SUBNETS = 256

export interface Subnet {
  base: number
  prefix: number
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new NetworkError('invalid', `${JSON.stringify(ip)} is not an IPv4 address`)
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0)
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

export function parseSubnet(cidr: string): Subnet {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr)
  const prefix = m ? Number(m[2]) : NaN
  if (!m || prefix < 8 || prefix > 29) throw new NetworkError('invalid', `--subnet ${cidr}: give an IPv4 CIDR with a prefix of /8 to /29, e.g. 10.201.0.0/24`)
  const base = ipToInt(m[1]!)
  if (base % 2 ** (32 - prefix) !== 0) throw new NetworkError('invalid', `--subnet ${cidr}: the address has bits set beyond /${prefix} (did you mean ${intToIp(base - (base % 2 ** (32 - prefix)))}/${prefix}?)`)
  return { base, prefix }
}

export function formatSubnet(s: Subnet): string {
  return `${intToIp(s.base)}/${s.prefix}`
}

const size = (s: Subnet) => 2 ** (32 - s.prefix)
const overlaps = (a: Subnet, b: Subnet) => a.base < b.base + size(b) && b.base < a.base + size(a)

/** The host's IPv4 routes other than the default one (/proc/net/route, little-endian hex). */
export function hostRoutes(): Subnet[] {
  let text: string
  try {
    text = readFileSync('/proc/net/route', 'utf8')
  } catch {
    return []
  }
  const le = (hex: string) => {
    const n = parseInt(hex, 16)
    return ((n & 255) << 24 >>> 0) + ((n >>> 8) & 255) * 65536 + ((n >>> 16) & 255) * 256 + (n >>> 24)
  }
  const routes: Subnet[] = []
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 8) continue
    const base = le(f[1]!)
    const mask = le(f[7]!)
    if (mask === 0) continue // the default route covers everything; it is not a network here
    const prefix = mask.toString(2).replace(/0+$/, '').length
    routes.push({ base, prefix })
  }
  return routes
}

/** A subnet for a new network: the one asked for (checked), or the first free /24 of the pool. */
export function chooseSubnet(asked: string | undefined, taken: NetworkRecord[], routes = hostRoutes()): Subnet {
  const used = [...routes, ...taken.map((r) => parseSubnet(r.subnet))]
  if (asked) {
    const s = parseSubnet(asked)
    const clash = used.find((u) => overlaps(u, s))
    if (clash) throw new NetworkError('invalid', `--subnet ${asked} overlaps ${formatSubnet(clash)}, already a route of this host or another network: pick another`)
    return s
  }
  for (let i = 0; i < POOL_SUBNETS; i++) {
    const s = { base: POOL_BASE + i * 256, prefix: 24 }
    if (!used.some((u) => overlaps(u, s))) return s
  }
  throw new NetworkError('exhausted', `no free /24 is left in ${intToIp(POOL_BASE)}/16: remove unused networks (boxplay network ls) or give --subnet`)
}

export function gatewayOf(s: Subnet): string {
  return intToIp(s.base + 1)
}

/** The lowest free member address: after the gateway, before the broadcast address. */
export function nextAddress(record: NetworkRecord): string {
  const s = parseSubnet(record.subnet)
  const used = new Set([record.gateway, ...record.leases.map((l) => l.ip)])
  for (let n = s.base + 2; n < s.base + size(s) - 1; n++) {
    const ip = intToIp(n)
    if (!used.has(ip)) return ip
  }
  throw new NetworkError('exhausted', `network ${record.name} (${record.subnet}) has no free address left: stop a container on it, or create a network with a bigger --subnet`)
}
