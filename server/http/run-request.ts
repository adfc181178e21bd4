// Validates a POST /api/runs body into a CreateRunRequest, with a clear 400 for each mistake.

import { parsePlatform } from '../../web/oci/platform.js'
import type { CreateRunRequest } from '../../web/runtimes/remote/protocol.js'
import type { Limits } from '../../web/runtimes/runtime.js'
import { badRequest } from './errors.js'

const KNOWN = new Set(['image', 'platform', 'runtime', 'cmd', 'entrypoint', 'env', 'cwd', 'user', 'hostname', 'tty', 'stdin', 'limits'])
const MAX_ARGS = 1024
const MAX_STRING = 16 * 1024

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length > MAX_ARGS || value.some((v) => typeof v !== 'string' || v.length > MAX_STRING || v.includes('\0'))) {
    throw badRequest(`"${field}" must be an array of at most ${MAX_ARGS} strings without NUL bytes`)
  }
  return value as string[]
}

function text(value: unknown, field: string, pattern?: RegExp): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096 || value.includes('\0')) {
    throw badRequest(`"${field}" must be a non-empty string`)
  }
  if (pattern && !pattern.test(value)) throw badRequest(`"${field}" is not valid: ${JSON.stringify(value)}`)
  return value
}

function positive(value: unknown, field: string, max: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw badRequest(`"limits.${field}" must be a positive number no larger than ${max}`)
  }
  return value
}

function limits(value: unknown): Limits | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('"limits" must be an object')
  const v = value as Record<string, unknown>
  for (const key of Object.keys(v)) {
    if (!['memoryBytes', 'pids', 'cpus', 'timeoutMs'].includes(key)) {
      throw badRequest(`unknown limit "${key}": expected memoryBytes, pids, cpus or timeoutMs`)
    }
  }
  const out: Limits = {}
  const memoryBytes = positive(v.memoryBytes, 'memoryBytes', 2 ** 40)
  const pids = positive(v.pids, 'pids', 1 << 22)
  const cpus = positive(v.cpus, 'cpus', 1024)
  const timeoutMs = positive(v.timeoutMs, 'timeoutMs', 24 * 3600_000)
  if (memoryBytes !== undefined) out.memoryBytes = Math.floor(memoryBytes)
  if (pids !== undefined) out.pids = Math.floor(pids)
  if (cpus !== undefined) out.cpus = cpus
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs
  return out
}

export function parseRunRequest(body: unknown): CreateRunRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('the run request must be a JSON object such as {"image": "busybox:latest", "cmd": ["uname", "-a"]}')
  }
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b)) {
    if (!KNOWN.has(key)) throw badRequest(`unknown field "${key}" in the run request`)
  }
  const image = text(b.image, 'image')
  if (image === undefined) throw badRequest('"image" is required: the name of an image in the server\'s store, e.g. busybox:latest')
  const req: CreateRunRequest = { image }
  const platform = text(b.platform, 'platform')
  if (platform !== undefined) {
    try {
      parsePlatform(platform)
    } catch (e) {
      throw badRequest((e as Error).message)
    }
    req.platform = platform
  }
  const runtime = text(b.runtime, 'runtime', /^[a-z0-9-]{1,32}$/)
  if (runtime !== undefined) req.runtime = runtime
  const cmd = stringList(b.cmd, 'cmd')
  if (cmd) req.cmd = cmd
  const entrypoint = stringList(b.entrypoint, 'entrypoint')
  if (entrypoint) req.entrypoint = entrypoint
  const env = stringList(b.env, 'env')
  if (env) {
    const bad = env.find((e) => !/^[^=\s]+=/.test(e))
    if (bad !== undefined) throw badRequest(`env entry ${JSON.stringify(bad)} must look like NAME=value`)
    req.env = env
  }
  const cwd = text(b.cwd, 'cwd', /^\//)
  if (cwd !== undefined) req.cwd = cwd
  const user = text(b.user, 'user', /^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/)
  if (user !== undefined) req.user = user
  const hostname = text(b.hostname, 'hostname', /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/)
  if (hostname !== undefined) req.hostname = hostname
  if (b.tty !== undefined) {
    const t = b.tty as Record<string, unknown> | null
    const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1000
    if (typeof t !== 'object' || t === null || !ok(t.cols) || !ok(t.rows)) {
      throw badRequest('"tty" must be {"cols": N, "rows": N} with integers between 1 and 1000')
    }
    req.tty = { cols: t.cols as number, rows: t.rows as number }
  }
  if (b.stdin !== undefined) {
    if (typeof b.stdin !== 'boolean') throw badRequest('"stdin" must be true or false')
    req.stdin = b.stdin
  }
  const l = limits(b.limits)
  if (l) req.limits = l
  return req
}
