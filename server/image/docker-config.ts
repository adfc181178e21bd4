// Registry credentials from Docker's client config (`$DOCKER_CONFIG/config.json`, else
// `~/.docker/config.json`): `auths.<host>.auth` is base64 "user:pass" (or separate username
// and password fields). Docker Hub's key is the legacy `https://index.docker.io/v1/`.

import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Credentials } from '../../web/oci/registry.js'

interface AuthEntry {
  auth?: string
  username?: string
  password?: string
}

function configPath(env: NodeJS.ProcessEnv): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json')
}

function keysFor(host: string): string[] {
  const keys = [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`]
  if (host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io') {
    keys.unshift('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io', 'docker.io')
  }
  return keys
}

export function dockerConfigCredentials(host: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  let config: { auths?: Record<string, AuthEntry> }
  try {
    config = JSON.parse(readFileSync(configPath(env), 'utf8')) as typeof config
  } catch {
    return undefined // no config, or unreadable: anonymous
  }
  const auths = config.auths ?? {}
  for (const key of keysFor(host)) {
    const entry = auths[key]
    if (!entry) continue
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password }
  }
  return undefined
}

/** `--creds user:pass` */
export function parseCreds(text: string): Credentials {
  const colon = text.indexOf(':')
  if (colon <= 0) throw new Error('--creds must be USER:PASSWORD')
  return { username: text.slice(0, colon), password: text.slice(colon + 1) }
}
