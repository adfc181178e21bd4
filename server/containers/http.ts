// `boxplay serve`'s view of the same containers the CLI makes (no daemon: both read the
// state directory and talk to the monitors). Small on purpose: list, inspect, stop, kill,
// remove, behind the server's token, Host and Origin guards (server/http/).
//   GET    /api/containers              [{ id, name, image, runtime, command, created, state, status, exitCode? }]
//   GET    /api/containers/ID           docker inspect's object (describe.ts)
//   POST   /api/containers/ID/stop      { timeout? } (seconds, default 10) → the summary
//   POST   /api/containers/ID/kill      { signal? } (default SIGKILL) → the summary
//   DELETE /api/containers/ID[?force=1] → { removed: ID }

import { commandText, inspectJson, statusText } from './describe.js'
import { ContainerError, type ContainerErrorCode } from './ids.js'
import { killContainer, removeContainer, stopContainer } from './ops.js'
import type { ContainerRecord } from './record.js'
import { ContainerStore } from './store.js'

export interface ContainerSummary {
  id: string
  name: string
  image: string
  runtime: string
  command: string
  created: string
  state: string
  status: string
  exitCode?: number
}

export function summary(r: ContainerRecord): ContainerSummary {
  return {
    id: r.config.id,
    name: r.config.name,
    image: r.config.image,
    runtime: r.config.runtime,
    command: commandText(r),
    created: r.config.created,
    state: r.state.status,
    status: statusText(r),
    ...(r.state.status === 'exited' ? { exitCode: r.state.exitCode ?? 0 } : {}),
  }
}

const STATUS: Record<ContainerErrorCode, number> = { 'not-found': 404, conflict: 409, running: 409, 'not-running': 409, invalid: 400, unsupported: 400 }

/** A failure as the API's HTTP status and words. */
export class ContainerHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export interface ContainerRoute {
  method: string
  /** Path segments after /api/containers. */
  rest: readonly string[]
  query: URLSearchParams
  body(): Promise<unknown>
}

/** Answers a /api/containers route; `send` writes the JSON (the server's sendJson). */
export async function handleContainers(
  route: ContainerRoute,
  send: (status: number, body: unknown) => void,
  containers: ContainerStore = new ContainerStore(undefined, () => undefined),
): Promise<void> {
  const { method, rest } = route
  try {
    if (rest.length === 0) {
      if (method !== 'GET') throw new ContainerHttpError(405, 'method not allowed here: use GET')
      return send(200, (await containers.list()).reverse().map(summary))
    }
    const record = await containers.get(rest[0]!)
    if (rest.length === 1) {
      if (method === 'GET') return send(200, inspectJson(record))
      if (method === 'DELETE') {
        await removeContainer(containers, record, ['1', 'true'].includes(route.query.get('force') ?? ''))
        return send(200, { removed: record.config.id })
      }
      throw new ContainerHttpError(405, 'method not allowed here: use GET, DELETE')
    }
    if (rest.length === 2 && (rest[1] === 'stop' || rest[1] === 'kill')) {
      if (method !== 'POST') throw new ContainerHttpError(405, 'method not allowed here: use POST')
      const body = ((await route.body()) ?? {}) as { timeout?: unknown; signal?: unknown }
      if (rest[1] === 'stop') {
        const t = body.timeout
        if (t !== undefined && (typeof t !== 'number' || !(t >= 0) || t > 3600)) throw new ContainerHttpError(400, '"timeout" must be a number of seconds from 0 to 3600')
        await stopContainer(record, t ?? 10)
      } else {
        const s = body.signal
        if (s !== undefined && (typeof s !== 'string' || !/^(SIG)?[A-Z0-9]{2,10}$/.test(s))) throw new ContainerHttpError(400, '"signal" must be a signal name such as SIGTERM or SIGKILL')
        await killContainer(record, s === undefined ? 'SIGKILL' : s.startsWith('SIG') ? s : `SIG${s}`)
      }
      return send(200, summary(await containers.get(record.config.id)))
    }
    throw new ContainerHttpError(404, `no API endpoint ${method} /api/containers/${rest.join('/')}`)
  } catch (e) {
    if (e instanceof ContainerError) throw new ContainerHttpError(STATUS[e.code], e.message)
    throw e
  }
}

