// Ethernet, ARP, IPv4, ICMP and TCP frames: just the fields the in-page network needs, read
// and written over plain Uint8Arrays. No DOM and no Node APIs: the switch and the host-side
// TCP stack run the same code in a page, in a worker and in Node.

export const ETHERTYPE_IPV4 = 0x0800
export const ETHERTYPE_ARP = 0x0806
export const IP_PROTO_ICMP = 1
export const IP_PROTO_TCP = 6

export const TCP_FIN = 0x01
export const TCP_SYN = 0x02
export const TCP_RST = 0x04
export const TCP_PSH = 0x08
export const TCP_ACK = 0x10

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff'

export function formatMac(bytes: Uint8Array, at = 0): string {
  const parts: string[] = []
  for (let i = 0; i < 6; i++) parts.push(bytes[at + i]!.toString(16).padStart(2, '0'))
  return parts.join(':')
}

export function parseMac(text: string): Uint8Array {
  const parts = text.split(':')
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) throw new Error(`not a MAC address: "${text}"`)
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)))
}

/** An IPv4 address as an unsigned 32-bit number, so subnets are arithmetic. */
export function parseIp(text: string): number {
  const parts = text.split('.')
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`not an IPv4 address: "${text}"`)
  return parts.reduce((n, p) => n * 256 + Number(p), 0) >>> 0
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

const readIp = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
function writeIp(b: Uint8Array, at: number, ip: number): void {
  b[at] = ip >>> 24
  b[at + 1] = (ip >>> 16) & 255
  b[at + 2] = (ip >>> 8) & 255
  b[at + 3] = ip & 255
}

export function destinationMac(frame: Uint8Array): string {
  return formatMac(frame, 0)
}

export function sourceMac(frame: Uint8Array): string {
  return formatMac(frame, 6)
}

export function etherType(frame: Uint8Array): number {
  return frame.length >= 14 ? (frame[12]! << 8) | frame[13]! : -1
}

export function ethernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(14 + payload.length)
  frame.set(dst, 0)
  frame.set(src, 6)
  frame[12] = type >> 8
  frame[13] = type & 255
  frame.set(payload, 14)
  return frame
}

// ---- ARP (IPv4 over Ethernet only) ----

export interface Arp {
  op: 1 | 2
  senderMac: Uint8Array
  senderIp: number
  targetMac: Uint8Array
  targetIp: number
}

export function parseArp(frame: Uint8Array): Arp | undefined {
  const p = frame.subarray(14)
  if (p.length < 28 || p[0] !== 0 || p[1] !== 1 || p[2] !== 8 || p[3] !== 0 || p[4] !== 6 || p[5] !== 4) return undefined
  const op = p[7]
  if (op !== 1 && op !== 2) return undefined
  return { op, senderMac: p.slice(8, 14), senderIp: readIp(p, 14), targetMac: p.slice(18, 24), targetIp: readIp(p, 24) }
}

export function arp(a: Arp): Uint8Array {
  const p = new Uint8Array(28)
  p.set([0, 1, 8, 0, 6, 4, 0, a.op])
  p.set(a.senderMac, 8)
  writeIp(p, 14, a.senderIp)
  p.set(a.targetMac, 18)
  writeIp(p, 24, a.targetIp)
  return p
}

// ---- IPv4 ----

export interface Ipv4 {
  protocol: number
  source: number
  destination: number
  /** The IP payload (after the header, trimmed to the total length). */
  payload: Uint8Array
}

/** Unfragmented packets with a valid header only: the guests never fragment on a 1500-byte link. */
export function parseIpv4(frame: Uint8Array): Ipv4 | undefined {
  const p = frame.subarray(14)
  if (p.length < 20 || p[0]! >> 4 !== 4) return undefined
  const headerLength = (p[0]! & 15) * 4
  const total = (p[2]! << 8) | p[3]!
  if (headerLength < 20 || total < headerLength || total > p.length) return undefined
  const fragment = ((p[6]! << 8) | p[7]!) & 0x3fff // more-fragments flag and offset
  if (fragment !== 0 || checksum(p.subarray(0, headerLength)) !== 0) return undefined
  return { protocol: p[9]!, source: readIp(p, 12), destination: readIp(p, 16), payload: p.subarray(headerLength, total) }
}

let ipId = 0

export function ipv4(protocol: number, source: number, destination: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + payload.length)
  p[0] = 0x45
  p[2] = p.length >> 8
  p[3] = p.length & 255
  ipId = (ipId + 1) & 0xffff
  p[4] = ipId >> 8
  p[5] = ipId & 255
  p[6] = 0x40 // don't fragment
  p[8] = 64
  p[9] = protocol
  writeIp(p, 12, source)
  writeIp(p, 16, destination)
  const sum = checksum(p.subarray(0, 20))
  p[10] = sum >> 8
  p[11] = sum & 255
  p.set(payload, 20)
  return p
}

/** The Internet checksum (RFC 1071) of `data`, plus `initial` (a pseudo-header's sum). */
export function checksum(data: Uint8Array, initial = 0): number {
  let sum = initial
  const even = data.length & ~1
  for (let i = 0; i < even; i += 2) sum += (data[i]! << 8) | data[i + 1]!
  if (data.length & 1) sum += data[data.length - 1]! << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

function pseudoHeaderSum(source: number, destination: number, protocol: number, length: number): number {
  return (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + protocol + length
}

// ---- ICMP echo ----

/** The echo reply to an ICMP echo request payload, or undefined for anything else. */
export function icmpEchoReply(icmp: Uint8Array): Uint8Array | undefined {
  if (icmp.length < 8 || icmp[0] !== 8 || checksum(icmp) !== 0) return undefined
  const reply = icmp.slice()
  reply[0] = 0
  reply[2] = reply[3] = 0
  const sum = checksum(reply)
  reply[2] = sum >> 8
  reply[3] = sum & 255
  return reply
}

// ---- TCP ----

export interface TcpSegment {
  sourcePort: number
  destinationPort: number
  seq: number
  ack: number
  flags: number
  window: number
  /** The MSS option of a SYN, if present. */
  mss?: number
  data: Uint8Array
}

export function parseTcp(ip: Ipv4): TcpSegment | undefined {
  const t = ip.payload
  if (t.length < 20) return undefined
  const offset = (t[12]! >> 4) * 4
  if (offset < 20 || offset > t.length) return undefined
  if (checksum(t, pseudoHeaderSum(ip.source, ip.destination, IP_PROTO_TCP, t.length)) !== 0) return undefined
  const segment: TcpSegment = {
    sourcePort: (t[0]! << 8) | t[1]!,
    destinationPort: (t[2]! << 8) | t[3]!,
    seq: readIp(t, 4),
    ack: readIp(t, 8),
    flags: t[13]! & 0x3f,
    window: (t[14]! << 8) | t[15]!,
    data: t.subarray(offset),
  }
  for (let i = 20; i < offset; ) {
    const kind = t[i]!
    if (kind === 0) break
    if (kind === 1) {
      i++
      continue
    }
    const len = t[i + 1] ?? 0
    if (len < 2) break
    if (kind === 2 && len === 4) segment.mss = (t[i + 2]! << 8) | t[i + 3]!
    i += len
  }
  return segment
}

export function tcp(source: number, destination: number, s: TcpSegment): Uint8Array {
  const options = s.mss !== undefined ? 4 : 0
  const t = new Uint8Array(20 + options + s.data.length)
  t[0] = s.sourcePort >> 8
  t[1] = s.sourcePort & 255
  t[2] = s.destinationPort >> 8
  t[3] = s.destinationPort & 255
  writeIp(t, 4, s.seq)
  writeIp(t, 8, s.ack)
  t[12] = ((20 + options) / 4) << 4
  t[13] = s.flags
  t[14] = s.window >> 8
  t[15] = s.window & 255
  if (s.mss !== undefined) t.set([2, 4, s.mss >> 8, s.mss & 255], 20)
  t.set(s.data, 20 + options)
  const sum = checksum(t, pseudoHeaderSum(source, destination, IP_PROTO_TCP, t.length))
  t[16] = sum >> 8
  t[17] = sum & 255
  return ipv4(IP_PROTO_TCP, source, destination, t)
}
