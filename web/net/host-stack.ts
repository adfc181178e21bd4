// The host's own member of a LAN, at the gateway address: a minimal IPv4 stack that answers
// ARP and ping, and opens TCP connections *into* guests — what a published port and the
// page's preview need. Only the active side of TCP: a guest connecting to the host gets a
// reset (outbound traffic is out of scope). One MSS-sized segment per frame, no window
// scaling, go-back-N retransmission on a timer: the link is a queue in memory, and what is
// lost is only what a guest's full receive ring drops. No DOM and no Node APIs.

import {
  ETHERTYPE_ARP, ETHERTYPE_IPV4, IP_PROTO_ICMP, IP_PROTO_TCP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN,
  type TcpSegment, arp, ethernet, etherType, icmpEchoReply, ipv4, parseArp, parseIp, parseIpv4, parseMac, parseTcp, tcp, formatIp,
} from './frames.js'
import type { SwitchPort, VirtualSwitch } from './switch.js'

const MSS = 1460
const RECEIVE_WINDOW = 65535
const RETRANSMIT_MS = 200
const MAX_RETRANSMITS = 12
const ARP_RETRY_MS = 250
const ARP_TRIES = 8
const FIRST_LOCAL_PORT = 49152

export interface TcpConnection {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly localPort: number
  /** Resolves once the handshake is done; rejects when refused or unreachable. */
  readonly established: Promise<void>
  onData(listener: (data: Uint8Array) => void): void
  /** The peer closed its side (FIN). */
  onEnd(listener: () => void): void
  /** The connection is gone: `error` when it was reset, refused or timed out. */
  onClose(listener: (error?: Error) => void): void
  write(data: Uint8Array): void
  /** Sends FIN after what was written. */
  end(): void
  /** Resets the connection at once. */
  destroy(): void
}

type State = 'syn-sent' | 'established' | 'closed'

const add = (a: number, b: number) => (a + b) >>> 0
/** a - b in sequence space, as a signed number. */
const diff = (a: number, b: number) => (a - b) | 0

class Connection implements TcpConnection {
  readonly established: Promise<void>
  state: State = 'syn-sent'
  private resolveEstablished!: () => void
  private rejectEstablished!: (e: Error) => void
  private readonly dataListeners: ((d: Uint8Array) => void)[] = []
  private readonly endListeners: (() => void)[] = []
  private readonly closeListeners: ((e?: Error) => void)[] = []
  /** Bytes from sndUna on, the unacknowledged and the not yet sent. */
  private out = new Uint8Array(0)
  private sent = 0
  private sndUna: number
  private rcvNxt = 0
  private peerWindow = MSS
  private peerMss = 536
  private finQueued = false
  private finSent = false
  private peerFin = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private retries = 0

  constructor(
    private readonly stack: HostStack,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localPort: number,
    private readonly iss: number,
  ) {
    this.sndUna = iss
    this.established = new Promise((resolve, reject) => {
      this.resolveEstablished = resolve
      this.rejectEstablished = reject
    })
    this.established.catch(() => {})
  }

  onData(l: (d: Uint8Array) => void): void {
    this.dataListeners.push(l)
  }
  onEnd(l: () => void): void {
    this.endListeners.push(l)
  }
  onClose(l: (e?: Error) => void): void {
    this.closeListeners.push(l)
  }

  write(data: Uint8Array): void {
    if (this.state === 'closed' || this.finQueued || data.length === 0) return
    const next = new Uint8Array(this.out.length + data.length)
    next.set(this.out)
    next.set(data, this.out.length)
    this.out = next
    this.pump()
  }

  end(): void {
    if (this.state === 'closed' || this.finQueued) return
    this.finQueued = true
    this.pump()
  }

  destroy(): void {
    if (this.state === 'closed') return
    this.segment(TCP_RST | TCP_ACK, this.sndNxt(), new Uint8Array(0))
    this.close(new Error('the connection was reset by this side'))
  }

  open(): void {
    this.segment(TCP_SYN, this.iss, new Uint8Array(0), MSS)
    this.arm()
  }

  private sndNxt(): number {
    return add(this.sndUna, this.sent + (this.finSent ? 1 : 0))
  }

  receive(s: TcpSegment): void {
    if (this.state === 'closed') return
    if (s.flags & TCP_RST) {
      const refused = this.state === 'syn-sent'
      this.close(new Error(refused ? `connection refused by ${this.remoteAddress}:${this.remotePort}` : 'the connection was reset by the guest'))
      return
    }
    if (this.state === 'syn-sent') {
      if ((s.flags & (TCP_SYN | TCP_ACK)) !== (TCP_SYN | TCP_ACK) || s.ack !== add(this.iss, 1)) return
      this.state = 'established'
      this.sndUna = s.ack
      this.rcvNxt = add(s.seq, 1)
      this.peerMss = Math.min(MSS, s.mss ?? 536)
      this.peerWindow = s.window
      this.disarm()
      this.ack()
      this.resolveEstablished()
      this.pump()
      return
    }
    if (s.flags & TCP_ACK) this.acknowledged(s)
    if ((this.state as State) === 'closed') return
    if (s.data.length > 0 || s.flags & TCP_FIN) {
      if (s.seq !== this.rcvNxt) {
        this.ack() // out of order or a repeat: say where we are
        return
      }
      if (s.data.length > 0) {
        this.rcvNxt = add(this.rcvNxt, s.data.length)
        for (const l of this.dataListeners) l(s.data.slice())
      }
      if (s.flags & TCP_FIN && !this.peerFin) {
        this.peerFin = true
        this.rcvNxt = add(this.rcvNxt, 1)
        for (const l of this.endListeners) l()
      }
      this.ack()
      this.maybeDone()
    }
  }

  private acknowledged(s: TcpSegment): void {
    this.peerWindow = s.window
    const acked = diff(s.ack, this.sndUna)
    const inFlight = this.sent + (this.finSent ? 1 : 0)
    if (acked <= 0 || acked > inFlight) {
      this.pump()
      return
    }
    const dataAcked = Math.min(acked, this.sent)
    this.out = this.out.subarray(dataAcked)
    this.sent -= dataAcked
    this.sndUna = add(this.sndUna, dataAcked)
    this.retries = 0
    if (acked > dataAcked) this.finAcked = true
    this.disarm()
    this.pump()
    this.maybeDone()
  }

  private finAcked = false

  private maybeDone(): void {
    if (this.finAcked && this.peerFin) this.close()
  }

  /** Sends what the peer's window allows, then the FIN once everything is out. */
  private pump(): void {
    if (this.state !== 'established') return
    while (this.sent < this.out.length) {
      const room = this.peerWindow - this.sent
      if (room <= 0) break
      const n = Math.min(this.peerMss, room, this.out.length - this.sent)
      const data = this.out.subarray(this.sent, this.sent + n)
      this.segment(TCP_ACK | TCP_PSH, add(this.sndUna, this.sent), data)
      this.sent += n
    }
    if (this.finQueued && !this.finSent && this.sent === this.out.length) {
      this.finSent = true
      this.segment(TCP_FIN | TCP_ACK, add(this.sndUna, this.sent), new Uint8Array(0))
    }
    if (this.sent > 0 || (this.finSent && !this.finAcked)) this.arm()
    else if (this.out.length > 0 && this.peerWindow === 0) this.arm() // probe a closed window
  }

  private ack(): void {
    this.segment(TCP_ACK, this.sndNxt(), new Uint8Array(0))
  }

  private segment(flags: number, seq: number, data: Uint8Array, mss?: number): void {
    this.stack.sendTcp(this.remoteAddress, {
      sourcePort: this.localPort,
      destinationPort: this.remotePort,
      seq,
      ack: flags & TCP_ACK ? this.rcvNxt : 0,
      flags,
      window: RECEIVE_WINDOW,
      ...(mss !== undefined ? { mss } : {}),
      data,
    })
  }

  private arm(): void {
    if (this.timer) return
    this.timer = setTimeout(() => this.retransmit(), RETRANSMIT_MS * Math.min(8, 2 ** Math.min(this.retries, 3)))
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private retransmit(): void {
    this.timer = undefined
    if (this.state === 'closed') return
    if (++this.retries > MAX_RETRANSMITS) {
      this.segment(TCP_RST, this.sndNxt(), new Uint8Array(0))
      this.close(new Error(`${this.remoteAddress}:${this.remotePort} stopped answering`))
      return
    }
    if (this.state === 'syn-sent') return this.open()
    // Go back to the first unacknowledged byte and send again.
    this.sent = 0
    this.finSent = false
    if (this.peerWindow === 0) this.peerWindow = 1
    this.pump()
  }

  close(error?: Error): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.disarm()
    this.stack.forget(this)
    this.rejectEstablished(error ?? new Error('the connection closed before it was established'))
    for (const l of this.closeListeners) l(error)
  }
}

export class HostStack {
  readonly address: string
  readonly mac: string
  private readonly ip: number
  private readonly macBytes: Uint8Array
  private readonly port: SwitchPort
  private readonly arpCache = new Map<number, Uint8Array>()
  private readonly arpWaiting = new Map<number, { frames: Uint8Array[]; tries: number; timer: ReturnType<typeof setTimeout> }>()
  private readonly connections = new Map<string, Connection>()
  private nextPort = FIRST_LOCAL_PORT

  constructor(lan: VirtualSwitch, options: { address: string; mac: string }) {
    this.address = options.address
    this.mac = options.mac
    this.ip = parseIp(options.address)
    this.macBytes = parseMac(options.mac)
    this.port = lan.attach((frame) => this.receive(frame))
  }

  /** Opens a TCP connection to a guest's listening port. */
  connect(address: string, port: number): TcpConnection {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${port} is not a TCP port (1-65535)`)
    const localPort = this.allocatePort(address, port)
    const iss = (Math.random() * 2 ** 32) >>> 0
    const c = new Connection(this, address, port, localPort, iss)
    this.connections.set(key(address, port, localPort), c)
    c.open()
    return c
  }

  /** Stops answering on the LAN; open connections are reset. */
  close(): void {
    for (const c of [...this.connections.values()]) c.destroy()
    for (const w of this.arpWaiting.values()) clearTimeout(w.timer)
    this.arpWaiting.clear()
    this.port.close()
  }

  forget(c: Connection): void {
    this.connections.delete(key(c.remoteAddress, c.remotePort, c.localPort))
  }

  sendTcp(address: string, s: TcpSegment): void {
    this.sendIp(parseIp(address), tcp(this.ip, parseIp(address), s))
  }

  private allocatePort(address: string, port: number): number {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextPort
      this.nextPort = this.nextPort === 65535 ? FIRST_LOCAL_PORT : this.nextPort + 1
      if (!this.connections.has(key(address, port, p))) return p
    }
    throw new Error(`no free local TCP port left for ${address}:${port}`)
  }

  private sendIp(destination: number, packet: Uint8Array): void {
    const mac = this.arpCache.get(destination)
    if (mac) return this.port.send(ethernet(mac, this.macBytes, ETHERTYPE_IPV4, packet))
    let waiting = this.arpWaiting.get(destination)
    if (!waiting) {
      waiting = { frames: [], tries: 0, timer: setTimeout(() => {}, 0) }
      this.arpWaiting.set(destination, waiting)
      this.requestArp(destination)
    }
    waiting.frames.push(packet)
  }

  private requestArp(destination: number): void {
    const waiting = this.arpWaiting.get(destination)
    if (!waiting) return
    if (waiting.tries++ >= ARP_TRIES) {
      this.arpWaiting.delete(destination)
      const address = formatIp(destination)
      for (const c of [...this.connections.values()]) {
        if (c.remoteAddress === address) c.close(new Error(`${address} is not on the network (no ARP answer)`))
      }
      return
    }
    const broadcast = new Uint8Array(6).fill(255)
    this.port.send(ethernet(broadcast, this.macBytes, ETHERTYPE_ARP, arp({ op: 1, senderMac: this.macBytes, senderIp: this.ip, targetMac: new Uint8Array(6), targetIp: destination })))
    waiting.timer = setTimeout(() => this.requestArp(destination), ARP_RETRY_MS)
  }

  private learned(ip: number, mac: Uint8Array): void {
    this.arpCache.set(ip, mac)
    const waiting = this.arpWaiting.get(ip)
    if (!waiting) return
    clearTimeout(waiting.timer)
    this.arpWaiting.delete(ip)
    for (const packet of waiting.frames) this.port.send(ethernet(mac, this.macBytes, ETHERTYPE_IPV4, packet))
  }

  private receive(frame: Uint8Array): void {
    const type = etherType(frame)
    if (type === ETHERTYPE_ARP) {
      const a = parseArp(frame)
      if (!a) return
      if (a.targetIp === this.ip || this.arpWaiting.has(a.senderIp)) this.learned(a.senderIp, a.senderMac)
      if (a.op === 1 && a.targetIp === this.ip) {
        this.port.send(ethernet(a.senderMac, this.macBytes, ETHERTYPE_ARP, arp({ op: 2, senderMac: this.macBytes, senderIp: this.ip, targetMac: a.senderMac, targetIp: a.senderIp })))
      }
      return
    }
    if (type !== ETHERTYPE_IPV4) return
    const ip = parseIpv4(frame)
    if (!ip || ip.destination !== this.ip) return
    if (!this.arpCache.has(ip.source)) this.arpCache.set(ip.source, frame.slice(6, 12))
    if (ip.protocol === IP_PROTO_ICMP) {
      const reply = icmpEchoReply(ip.payload)
      if (reply) this.sendIp(ip.source, ipv4(IP_PROTO_ICMP, this.ip, ip.source, reply))
      return
    }
    if (ip.protocol !== IP_PROTO_TCP) return
    const s = parseTcp(ip)
    if (!s) return
    const c = this.connections.get(key(formatIp(ip.source), s.sourcePort, s.destinationPort))
    if (c) return c.receive(s)
    if (s.flags & TCP_RST) return
    // Nothing listens on the host side: refuse, as a closed port does.
    const len = s.data.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0)
    this.sendTcp(formatIp(ip.source), {
      sourcePort: s.destinationPort,
      destinationPort: s.sourcePort,
      seq: s.flags & TCP_ACK ? s.ack : 0,
      ack: add(s.seq, len),
      flags: s.flags & TCP_ACK ? TCP_RST : TCP_RST | TCP_ACK,
      window: 0,
      data: new Uint8Array(0),
    })
  }
}

function key(address: string, port: number, localPort: number): string {
  return `${address}:${port}:${localPort}`
}
