// `-p [IP:]HOST:CONTAINER[/tcp]` as Docker reads it, with boxplay's safer default: without an
// IP the port is bound on 127.0.0.1 (Docker binds 0.0.0.0), so a published port is reachable
// from this machine only unless the user asks for more.

import type { PublishedPort } from '../../web/runtimes/runtime.js'
import { NetworkError } from './errors.js'
import { ipToInt } from './ipam.js'

export function parsePublish(text: string): PublishedPort {
  const usage = `-p ${text}: give [IP:]HOST_PORT:CONTAINER_PORT[/tcp], e.g. -p 8080:80 or -p 127.0.0.1:8080:80`
  let rest = text
  const slash = rest.lastIndexOf('/')
  if (slash >= 0) {
    const proto = rest.slice(slash + 1)
    if (proto === 'udp' || proto === 'sctp') throw new NetworkError('unsupported', `-p ${text}: ${proto} ports are not supported yet (tcp only)`)
    if (proto !== 'tcp') throw new NetworkError('invalid', usage)
    rest = rest.slice(0, slash)
  }
  if (rest.startsWith('[')) throw new NetworkError('unsupported', `-p ${text}: IPv6 host addresses are not supported yet`)
  const parts = rest.split(':')
  if (parts.length > 3) throw new NetworkError('invalid', usage)
  const containerPort = port(parts.pop()!, false, usage)
  const hostPort = parts.length ? port(parts.pop()!, true, usage) : 0
  const hostIp = parts.length ? parts.pop()! || '127.0.0.1' : '127.0.0.1'
  ipToInt(hostIp) // throws a clear error for a malformed address
  return { hostIp, hostPort, containerPort, protocol: 'tcp' }
}

function port(text: string, mayBeEmpty: boolean, usage: string): number {
  if (text === '' && mayBeEmpty) return 0
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    if (text.includes('-')) throw new NetworkError('unsupported', `${usage.split(':')[0]}: port ranges are not supported yet`)
    throw new NetworkError('invalid', usage)
  }
  return Number(text)
}

export function formatPublished(p: { hostIp: string; hostPort: number; containerPort: number }): string {
  return `${p.hostIp}:${p.hostPort}->${p.containerPort}/tcp`
}
