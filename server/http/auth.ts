// The access token, like Jupyter's: random, printed in the URL, accepted as a bearer header,
// a `?token=` query, or the HttpOnly SameSite=Strict cookie a query token is exchanged for.

import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { TOKEN_QUERY } from '../../web/runtimes/remote/protocol.js'

export function newToken(): string {
  return randomBytes(24).toString('hex')
}

/** Cookies are shared by every port of a host, so the name carries the port. */
export function cookieName(port: number): string {
  return `boxplay-token-${port}`
}

export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function cookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  return out
}

export type TokenSource = 'header' | 'query' | 'cookie'

/** Which presented credential matches the token, if any. */
export function authenticate(req: IncomingMessage, url: URL, token: string, port: number): TokenSource | undefined {
  const auth = req.headers.authorization
  if (auth?.startsWith('Bearer ') && sameToken(auth.slice(7).trim(), token)) return 'header'
  if (sameToken(url.searchParams.get(TOKEN_QUERY) ?? undefined, token)) return 'query'
  if (sameToken(cookies(req.headers.cookie).get(cookieName(port)), token)) return 'cookie'
  return undefined
}

export function tokenCookie(token: string, port: number): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`
}
