// The network's Linux bridge on the host, made and removed with one `ip -batch` each (these
// run per `network create|rm`, not per container; per-container work is netlink in the core).
// The bridge holds the gateway address; no forwarding, NAT or firewall rule is added, so a
// container reaches its subnet (the other members and this host's bridge address) only.

import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export function bridgeExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`)
}

export function createBridge(name: string, gateway: string, prefix: number): void {
  ip(`link add ${name} type bridge\naddr add ${gateway}/${prefix} dev ${name}\nlink set ${name} up\n`, `create the bridge ${name}`)
}

export function deleteBridge(name: string): void {
  if (bridgeExists(name)) ip(`link delete ${name} type bridge\n`, `remove the bridge ${name}`)
}

function ip(batch: string, what: string): void {
  try {
    execFileSync('ip', ['-batch', '-'], { input: batch, stdio: ['pipe', 'ignore', 'pipe'] })
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim()
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
    throw new Error(missing ? `${what}: the \`ip\` command (Debian package iproute2) is not installed` : `${what}: ${stderr || (err as Error).message}`)
  }
}
