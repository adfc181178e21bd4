// A LAN: one virtual switch, one IPv4 subnet and the names on it — the in-page network that
// v86 guests (and the host-side stack, at the gateway address) join. The IPAM hands out the
// next free address and a MAC derived from it (locally administered, like Docker's
// 02:42:…), and keeps the hosts file every member sees: when a member joins or leaves, each
// one is told the new text (v86 guests get it through boxplay-init's 'N' frame).
// No DOM and no Node APIs.

import { formatIp, parseIp } from './frames.js'
import { HostStack } from './host-stack.js'
import { VirtualSwitch } from './switch.js'

export interface LanOptions {
  /** Shown in facts and errors. */
  name?: string
  /** A /24 … /16 IPv4 subnet, e.g. "10.86.0.0/24" (the default). */
  subnet?: string
}

export interface LanAddress {
  address: string
  prefixLength: number
  gateway: string
  mac: string
}

export interface LanMember extends LanAddress {
  readonly name: string
  readonly aliases: readonly string[]
  /** The hosts file as this member should see it now. */
  hosts(): string
  /** Called with the new hosts text whenever the membership changes. */
  onHostsChange(listener: (hosts: string) => void): () => void
  /** Frees the address and the names. */
  leave(): void
}

const NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/i

export class Lan {
  readonly name: string
  readonly switch = new VirtualSwitch()
  readonly gateway: string
  readonly prefixLength: number
  private readonly base: number
  private readonly size: number
  private readonly used = new Map<number, { name: string; aliases: readonly string[] }>()
  private readonly listeners = new Set<() => void>()
  private stack: HostStack | undefined

  constructor(options: LanOptions = {}) {
    this.name = options.name ?? 'boxplay'
    const [net = '', bits = ''] = (options.subnet ?? '10.86.0.0/24').split('/')
    const prefix = Number(bits)
    if (!Number.isInteger(prefix) || prefix < 16 || prefix > 24) {
      throw new Error(`subnet ${options.subnet}: give an IPv4 subnet from /16 to /24, e.g. 10.86.0.0/24`)
    }
    this.prefixLength = prefix
    this.size = 2 ** (32 - prefix)
    this.base = (parseIp(net) & ~(this.size - 1)) >>> 0
    this.gateway = formatIp(this.base + 1)
  }

  /** The host side of the LAN (at the gateway address): it opens TCP connections into guests. */
  host(): HostStack {
    this.stack ??= new HostStack(this.switch, { address: this.gateway, mac: macFor(parseIp(this.gateway)) })
    return this.stack
  }

  /** Takes the next free address for `name` (unique on this LAN, as are the aliases). */
  join(name: string, aliases: readonly string[] = []): LanMember {
    for (const n of [name, ...aliases]) {
      if (!NAME.test(n)) throw new Error(`"${n}" is not a valid host name (letters, digits, dots and dashes)`)
      if (this.lookup(n)) throw new Error(`the name ${n} is already taken on network ${this.name}: choose another --name`)
    }
    let ip = this.base + 2
    while (this.used.has(ip) && ip < this.base + this.size - 1) ip++
    if (ip >= this.base + this.size - 1) throw new Error(`network ${this.name} has no free addresses left`)
    this.used.set(ip, { name, aliases })
    const address = formatIp(ip)
    const lan = this
    const own = new Set<(hosts: string) => void>()
    const notify = () => {
      for (const l of own) l(lan.hosts())
    }
    this.listeners.add(notify)
    this.changed(notify)
    return {
      name,
      aliases,
      address,
      prefixLength: this.prefixLength,
      gateway: this.gateway,
      mac: macFor(ip),
      hosts: () => this.hosts(),
      onHostsChange(listener) {
        own.add(listener)
        return () => own.delete(listener)
      },
      leave: () => {
        if (!this.used.delete(ip)) return
        this.listeners.delete(notify)
        this.changed()
      },
    }
  }

  /** The address of a member by name or alias. */
  lookup(name: string): string | undefined {
    const n = name.toLowerCase()
    for (const [ip, m] of this.used) if (m.name.toLowerCase() === n || m.aliases.some((a) => a.toLowerCase() === n)) return formatIp(ip)
    return undefined
  }

  members(): { name: string; aliases: readonly string[]; address: string }[] {
    return [...this.used].sort(([a], [b]) => a - b).map(([ip, m]) => ({ ...m, address: formatIp(ip) }))
  }

  /** Docker's shape: localhost, then every member (this one too) by name and aliases. */
  hosts(): string {
    const lines = ['127.0.0.1\tlocalhost', `${this.gateway}\thost.boxplay.internal`]
    for (const m of this.members()) lines.push(`${m.address}\t${[m.name, ...m.aliases].join(' ')}`)
    return lines.join('\n') + '\n'
  }

  private changed(except?: () => void): void {
    for (const l of this.listeners) if (l !== except) l()
  }
}

/** 02:b0 + the IPv4 address: unique on the LAN, locally administered, readable. */
export function macFor(ip: number): string {
  return ['02', 'b0', ...[ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':')
}
