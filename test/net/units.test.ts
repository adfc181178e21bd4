// The pure parts of server/net/: -p parsing, subnet choice against the host's routes, address
// leasing, the hosts file; and, as root, two state dirs creating networks at once.

import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chooseSubnet, formatSubnet, hostRoutes, nextAddress, parseSubnet } from '../../server/net/ipam.js'
import { createNetwork, removeNetwork } from '../../server/net/networks.js'
import { parsePublish } from '../../server/net/publish.js'
import { renderHosts, type NetworkRecord } from '../../server/net/records.js'
import { tempDir } from '../native/fixture.js'

const record = (over: Partial<NetworkRecord> = {}): NetworkRecord => ({
  name: 'n',
  id: '0'.repeat(64),
  driver: 'bridge',
  bridge: 'bpl-00000000',
  subnet: '10.200.5.0/24',
  gateway: '10.200.5.1',
  created: '',
  leases: [],
  ...over,
})
const lease = (ip: string, names: string[]) => ({ runId: ip, ip, hostIfname: 'bpv', names, owner: { pid: process.pid, start: null }, attached: '' })

describe('-p', () => {
  it('reads [IP:]HOST:CONTAINER[/tcp], defaulting to 127.0.0.1 and any free host port', () => {
    expect(parsePublish('8080:80')).toEqual({ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' })
    expect(parsePublish('0.0.0.0:8080:80/tcp')).toEqual({ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' })
    expect(parsePublish('80')).toEqual({ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' })
    expect(parsePublish('10.0.0.1::80')).toEqual({ hostIp: '10.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' })
  })
  it('refuses what it cannot do, saying so', () => {
    expect(() => parsePublish('53:53/udp')).toThrow(/udp ports are not supported yet/)
    expect(() => parsePublish('[::1]:80:80')).toThrow(/IPv6 host addresses are not supported yet/)
    expect(() => parsePublish('8000-8010:80')).toThrow(/port ranges are not supported yet/)
    expect(() => parsePublish('70000:80')).toThrow(/give \[IP:\]HOST_PORT:CONTAINER_PORT/)
    expect(() => parsePublish('1.2.3:80:80')).toThrow(/is not an IPv4 address/)
    expect(() => parsePublish('a:b:c:d')).toThrow(/give \[IP:\]HOST_PORT/)
  })
})

describe('addresses', () => {
  it('picks the first /24 of the pool that no route and no network covers', () => {
    const routes = [parseSubnet('10.200.0.0/24'), parseSubnet('10.200.2.0/23'), parseSubnet('192.0.2.0/24')]
    expect(formatSubnet(chooseSubnet(undefined, [record({ subnet: '10.200.1.0/24' })], routes))).toBe('10.200.4.0/24')
    expect(() => chooseSubnet('10.200.3.128/25', [], routes)).toThrow(/overlaps 10\.200\.2\.0\/23/)
    expect(formatSubnet(chooseSubnet('10.201.0.0/16', [], routes))).toBe('10.201.0.0/16')
  })
  it('reads the host routes, leaving the default route out', () => {
    for (const r of hostRoutes()) expect(r.prefix).toBeGreaterThan(0)
  })
  it('leases the lowest free address after the gateway, and says when none is left', () => {
    expect(nextAddress(record())).toBe('10.200.5.2')
    expect(nextAddress(record({ leases: [lease('10.200.5.2', ['a']), lease('10.200.5.4', ['b'])] }))).toBe('10.200.5.3')
    const full = record({ subnet: '10.200.5.0/29', leases: [2, 3, 4, 5, 6].map((n) => lease(`10.200.5.${n}`, ['x'])) })
    expect(() => nextAddress(full)).toThrow(/has no free address left/)
  })
  it('writes one hosts line per member: its address, host name and aliases', () => {
    const text = renderHosts(record({ leases: [lease('10.200.5.2', ['web', 'www']), lease('10.200.5.3', ['db'])] }))
    expect(text.split('\n').slice(1)).toEqual(['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', '10.200.5.2\tweb www', '10.200.5.3\tdb', ''])
  })
})

describe.runIf(process.getuid?.() === 0)('networks of two state dirs at once (root)', () => {
  const work = tempDir('net-units')
  afterAll(() => rmSync(work, { recursive: true, force: true }))
  it('never get the same subnet', async () => {
    const roots = [0, 1, 2, 3].map((i) => join(work, `state${i}`))
    const made = await Promise.all(roots.map((r, i) => createNetwork(r, `par${i}`)))
    try {
      expect(new Set(made.map((m) => m.subnet)).size).toBe(made.length)
    } finally {
      await Promise.all(roots.map((r, i) => removeNetwork(r, `par${i}`)))
    }
  })
})
