// How containers are shown, in Docker's words: `ps` columns and statuses, `inspect`'s JSON.

import { shortId } from './ids.js'
import type { ContainerRecord } from './record.js'

/** go-units HumanDuration, which `docker ps` uses for CREATED and STATUS. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < 1) return 'Less than a second'
  if (seconds === 1) return '1 second'
  if (seconds < 60) return `${seconds} seconds`
  const minutes = Math.floor(ms / 60_000)
  if (minutes === 1) return 'About a minute'
  if (minutes < 60) return `${minutes} minutes`
  const hours = Math.floor(ms / 3_600_000 + 0.5)
  if (hours === 1) return 'About an hour'
  if (hours < 48) return `${hours} hours`
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`
}

const since = (iso: string | undefined, now: number) => humanDuration(now - Date.parse(iso ?? new Date(now).toISOString()))

export function statusText(r: ContainerRecord, now = Date.now()): string {
  const s = r.state
  if (s.status === 'running') return `Up ${since(s.startedAt, now)}`
  if (s.status === 'exited') return `Exited (${s.exitCode ?? 0}) ${since(s.finishedAt, now)} ago`
  return 'Created'
}

export function commandText(r: ContainerRecord): string {
  return [r.config.path, ...r.config.args].join(' ')
}

/** Docker's cell: quoted, cut to 20 characters with an ellipsis unless --no-trunc. */
export function commandCell(r: ContainerRecord, trunc: boolean): string {
  const text = commandText(r)
  return `"${trunc && [...text].length > 20 ? [...text].slice(0, 19).join('') + '…' : text}"`
}

/** Docker shows the ports of running containers only. */
function portsText(r: ContainerRecord): string {
  return r.state.status === 'running' ? (r.state.ports ?? '') : ''
}

export const PS_HEADER = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'] as const

export function psRow(r: ContainerRecord, trunc: boolean, now = Date.now()): string[] {
  return [trunc ? shortId(r.config.id) : r.config.id, r.config.image, commandCell(r, trunc), `${since(r.config.created, now)} ago`, statusText(r, now), portsText(r), r.config.name]
}

/** One line of `ps --format json`, with Docker's keys (and the runtime). */
export function psJson(r: ContainerRecord, trunc: boolean, now = Date.now()): Record<string, string> {
  return {
    Command: commandCell(r, trunc),
    CreatedAt: r.config.created,
    ID: trunc ? shortId(r.config.id) : r.config.id,
    Image: r.config.image,
    Names: r.config.name,
    Ports: portsText(r),
    RunningFor: `${since(r.config.created, now)} ago`,
    State: r.state.status,
    Status: statusText(r, now),
    Runtime: r.config.runtime,
  }
}

const ZERO_TIME = '0001-01-01T00:00:00Z'

/** `docker inspect`'s shape for a container, with boxplay's own facts under `Boxplay`. */
export function inspectJson(r: ContainerRecord): Record<string, unknown> {
  const { config: c, state: s } = r
  return {
    Id: c.id,
    Created: c.created,
    Path: c.path,
    Args: c.args,
    State: {
      Status: s.status,
      Running: s.status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: /out of memory/.test(s.error ?? ''),
      Dead: false,
      Pid: s.pid ?? 0,
      ExitCode: s.exitCode ?? 0,
      Error: s.error ?? '',
      StartedAt: s.startedAt ?? ZERO_TIME,
      FinishedAt: s.finishedAt ?? ZERO_TIME,
    },
    Image: c.imageDigest,
    Name: `/${c.name}`,
    RestartCount: 0,
    Platform: c.platform.split('/')[0],
    HostConfig: {
      AutoRemove: c.autoRemove,
      Memory: c.limits.memoryBytes ?? 0,
      PidsLimit: c.limits.pids ?? null,
      NanoCpus: c.limits.cpus ? Math.round(c.limits.cpus * 1e9) : 0,
    },
    Config: {
      Hostname: c.hostname ?? '',
      User: c.user ?? '',
      Tty: c.tty,
      OpenStdin: c.openStdin,
      Env: c.env,
      Cmd: c.cmd ?? null,
      Image: c.image,
      WorkingDir: c.cwd ?? '',
      Entrypoint: c.entrypoint ?? null,
      StopSignal: c.stopSignal,
    },
    Boxplay: {
      Runtime: c.runtime,
      Platform: c.platform,
      StateDir: r.dir,
      Runs: s.runs,
      Changes: s.changes ?? null,
    },
  }
}
