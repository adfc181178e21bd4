// Requests from the wrong place are refused before anything else runs:
// - Host: only this machine's own names and addresses, so a DNS-rebinding page (evil.example
//   resolving to 127.0.0.1) cannot talk to the server under its own origin;
// - Origin: a browser request from a page of another origin is refused (except the one origin
//   named by --allow-origin), which also covers WebSocket upgrades, since browsers do not apply
//   the same-origin policy to those.

import { isIP } from 'node:net'
import { hostname } from 'node:os'

export interface GuardConfig {
  /** Extra host names accepted in the Host header (e.g. the name the user bound to). */
  hostNames: readonly string[]
  allowOrigin?: string
}

function hostPart(hostHeader: string): string {
  // `[::1]:4173` → `::1`; `localhost:4173` → `localhost`
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']'))
  const colon = hostHeader.lastIndexOf(':')
  return (colon >= 0 ? hostHeader.slice(0, colon) : hostHeader).toLowerCase()
}

export function hostAllowed(hostHeader: string | undefined, config: GuardConfig): boolean {
  if (!hostHeader) return false
  const name = hostPart(hostHeader)
  if (isIP(name)) return true
  if (name === 'localhost' || name.endsWith('.localhost')) return true
  if (name === hostname().toLowerCase()) return true
  return config.hostNames.some((h) => h.toLowerCase() === name)
}

/** The origin a page served by this server has, as the browser spells it. */
export function ownOrigin(hostHeader: string): string {
  return `http://${hostHeader.toLowerCase()}`
}

export type OriginVerdict = 'none' | 'same' | 'allowed' | 'foreign'

export function judgeOrigin(origin: string | undefined, hostHeader: string, config: GuardConfig): OriginVerdict {
  if (origin === undefined) return 'none'
  if (origin.toLowerCase() === ownOrigin(hostHeader)) return 'same'
  if (config.allowOrigin !== undefined && origin === config.allowOrigin) return 'allowed'
  return 'foreign'
}

/** `--allow-origin` must be an origin, nothing more: scheme, host, optional port. */
export function parseAllowOrigin(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new Error(`--allow-origin "${text}" is not a URL: give an origin such as https://lessons.example`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`--allow-origin "${text}" must be an http or https origin`)
  }
  return url.origin
}
