// The in-page LAN without any VM: frames and checksums, the learning switch, the IPAM and
// its hosts file, and the host stack's answers (ARP, ping, resets) seen from a scripted member.

import { describe, expect, test } from 'vitest'
import {
  ETHERTYPE_ARP, ETHERTYPE_IPV4, IP_PROTO_ICMP, TCP_ACK, TCP_RST, TCP_SYN, arp, checksum, ethernet, etherType,
  formatIp, ipv4, parseArp, parseIp, parseIpv4, parseMac, parseTcp, tcp,
} from '../../web/net/frames.js'
import { Lan, macFor } from '../../web/net/lan.js'
import { VirtualSwitch } from '../../web/net/switch.js'

const tick = () => new Promise((r) => setTimeout(r, 0))
const mac = (n: number) => parseMac(`02:00:00:00:00:0${n}`)
const frame = (dst: Uint8Array, src: Uint8Array) => ethernet(dst, src, 0x88b5, new Uint8Array([1, 2, 3]))

describe('frames', () => {
  test('addresses round-trip and bad ones are refused', () => {
    expect(formatIp(parseIp('10.86.0.254'))).toBe('10.86.0.254')
    expect(() => parseIp('10.86.0')).toThrow(/not an IPv4 address/)
    expect(() => parseMac('02:00:00')).toThrow(/not a MAC address/)
  })

  test('IPv4 and TCP headers carry valid checksums and parse back', () => {
    const packet = tcp(parseIp('10.0.0.1'), parseIp('10.0.0.2'), {
      sourcePort: 40000, destinationPort: 80, seq: 0xfffffff0, ack: 7, flags: TCP_SYN, window: 1000, mss: 1460, data: new Uint8Array([9, 9, 9]),
    })
    expect(checksum(packet.subarray(0, 20))).toBe(0)
    const ip = parseIpv4(ethernet(mac(1), mac(2), ETHERTYPE_IPV4, packet))!
    expect(ip.source).toBe(parseIp('10.0.0.1'))
    const s = parseTcp(ip)!
    expect(s).toMatchObject({ sourcePort: 40000, destinationPort: 80, seq: 0xfffffff0, ack: 7, flags: TCP_SYN, window: 1000, mss: 1460 })
    expect([...s.data]).toEqual([9, 9, 9])
    // A flipped bit fails the checksum: the segment is ignored, as a NIC would drop it.
    const bad = packet.slice()
    bad[bad.length - 1]! ^= 1
    expect(parseTcp(parseIpv4(ethernet(mac(1), mac(2), ETHERTYPE_IPV4, bad))!)).toBeUndefined()
  })
})

describe('virtual switch', () => {
  test('floods broadcasts and unknown destinations, then sends only to the port that owns a MAC', async () => {
    const sw = new VirtualSwitch()
    const got: number[][] = [[], [], []]
    const ports = [0, 1, 2].map((i) => sw.attach(() => got[i]!.push(1)))
    ports[0]!.send(frame(new Uint8Array(6).fill(255), mac(1)))
    await tick()
    expect(got.map((g) => g.length)).toEqual([0, 1, 1])
    ports[1]!.send(frame(mac(1), mac(2))) // mac 1 is known to be behind port 0
    await tick()
    expect(got.map((g) => g.length)).toEqual([1, 1, 1])
    ports[2]!.send(frame(mac(9), mac(3))) // unknown: flooded
    await tick()
    expect(got.map((g) => g.length)).toEqual([2, 2, 1])
    ports[0]!.close()
    ports[1]!.send(frame(mac(1), mac(2))) // port 0 is gone, mac 1 unknown again
    await tick()
    expect(got.map((g) => g.length)).toEqual([2, 2, 2])
  })
})

describe('LAN and IPAM', () => {
  test('members get the next free address, a MAC from it, and one hosts file with every name', () => {
    const lan = new Lan({ name: 'dev' })
    const web = lan.join('web', ['www'])
    const db = lan.join('db')
    expect([web.address, db.address]).toEqual(['10.86.0.2', '10.86.0.3'])
    expect(web).toMatchObject({ prefixLength: 24, gateway: '10.86.0.1', mac: '02:b0:0a:56:00:02' })
    expect(macFor(parseIp('10.86.0.3'))).toBe(db.mac)
    expect(lan.lookup('WWW')).toBe('10.86.0.2')
    expect(web.hosts()).toBe('127.0.0.1\tlocalhost\n10.86.0.1\thost.boxplay.internal\n10.86.0.2\tweb www\n10.86.0.3\tdb\n')
    expect(() => lan.join('db')).toThrow(/already taken on network dev/)
    expect(() => lan.join('bad name')).toThrow(/not a valid host name/)
    web.leave()
    expect(lan.join('cache').address).toBe('10.86.0.2')
  })

  test('members hear when others join and leave', () => {
    const lan = new Lan({ subnet: '192.168.50.0/24' })
    const a = lan.join('a')
    const seen: string[] = []
    a.onHostsChange((h) => seen.push(h))
    const b = lan.join('b')
    b.leave()
    expect(seen).toHaveLength(2)
    expect(seen[0]).toContain('192.168.50.3\tb')
    expect(seen[1]).not.toContain('\tb')
    expect(() => new Lan({ subnet: '10.0.0.0/8' })).toThrow(/from \/16 to \/24/)
  })
})

describe('host stack', () => {
  test('answers ARP and ping for the gateway address, and resets connections to it', async () => {
    const lan = new Lan()
    const host = lan.host()
    const me = parseMac('02:b0:0a:56:00:02')
    const myIp = parseIp('10.86.0.2')
    const gw = parseIp(lan.gateway)
    const got: Uint8Array[] = []
    const port = lan.switch.attach((f) => got.push(f))
    port.send(ethernet(new Uint8Array(6).fill(255), me, ETHERTYPE_ARP, arp({ op: 1, senderMac: me, senderIp: myIp, targetMac: new Uint8Array(6), targetIp: gw })))
    await tick()
    const reply = parseArp(got.shift()!)!
    expect(reply).toMatchObject({ op: 2, senderIp: gw, targetIp: myIp })
    expect(reply.senderMac).toEqual(parseMac(host.mac))

    const echo = new Uint8Array([8, 0, 0, 0, 0, 1, 0, 1, 104, 105])
    const sum = checksum(echo)
    echo[2] = sum >> 8
    echo[3] = sum & 255
    port.send(ethernet(reply.senderMac, me, ETHERTYPE_IPV4, ipv4(IP_PROTO_ICMP, myIp, gw, echo)))
    await tick()
    const pong = parseIpv4(got.shift()!)!
    expect(pong).toMatchObject({ protocol: IP_PROTO_ICMP, source: gw, destination: myIp })
    expect(pong.payload[0]).toBe(0)

    port.send(ethernet(reply.senderMac, me, ETHERTYPE_IPV4, tcp(myIp, gw, { sourcePort: 5555, destinationPort: 80, seq: 100, ack: 0, flags: TCP_SYN, window: 100, data: new Uint8Array(0) })))
    await tick()
    const rst = parseTcp(parseIpv4(got.shift()!)!)!
    expect(rst.flags).toBe(TCP_RST | TCP_ACK)
    expect(rst.ack).toBe(101)
    expect(etherType(ethernet(me, me, ETHERTYPE_ARP, new Uint8Array(0)))).toBe(ETHERTYPE_ARP)
    host.close()
  })

  test('a connection to an address nobody has fails after its ARP requests go unanswered', async () => {
    const lan = new Lan()
    const c = lan.host().connect('10.86.0.77', 80)
    await expect(c.established).rejects.toThrow(/not on the network/)
    lan.host().close()
  }, 10_000)
})

describe('preview route', () => {
  test('the service worker and the page agree on the preview URL segment', async () => {
    const { readFileSync } = await import('node:fs')
    const { PREVIEW_SEGMENT, previewUrl } = await import('../../web/preview-protocol.js')
    const worker = readFileSync(new URL('../../web/coi-sw.ts', import.meta.url), 'utf8')
    expect(worker).toContain(`const PREVIEW_SEGMENT = '${PREVIEW_SEGMENT}'`)
    expect(previewUrl('http://127.0.0.1:8080/play/', 'v86-x 1', 80)).toBe('http://127.0.0.1:8080/play/__preview/v86-x%201/80/')
  })
})
