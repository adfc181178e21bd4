// The one interface every runtime implements, so the UI, the CLI, the lesson widget and
// the tests never ask which runtime they hold. No DOM and no Node APIs here.

import type { ChangeSet } from '../oci/changes.js'
import type { Platform } from '../oci/platform.js'
import type { LayerIndexSource } from '../oci/layer-index.js'

export type RuntimeKind = 'v86' | 'wasi' | 'native' | 'remote'

/** The runnable part of an OCI image config (`config.config` in the JSON). */
export interface ImageConfig {
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Env?: string[] | null
  WorkingDir?: string
  User?: string
}

export interface LayerRef {
  /** Digest of the blob as stored (compressed). */
  digest: string
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string
  mediaType: string
  size: number
}

/** An image already narrowed to one platform: what a runtime needs to run it. */
export interface RunImage {
  /** How the user named it, e.g. `busybox:latest`. */
  name: string
  /** Digest of the platform-specific manifest. */
  digest: string
  platform: Platform
  config: ImageConfig
  layers: readonly LayerRef[]
  /** Reads a blob by digest (from the on-disk store, the server, or memory), verified. */
  blob(digest: string): Promise<Uint8Array>
  /**
   * Where layer indexes and file contents can be fetched by hash, when the image's source
   * offers them: a runtime that reads few files (v86) then builds its tree without
   * downloading whole layers (web/oci/layer-index.ts).
   */
  layerIndexes?: LayerIndexSource
}

export interface Limits {
  memoryBytes?: number
  pids?: number
  /** CPUs as a fraction, like `docker run --cpus 0.5`. */
  cpus?: number
  timeoutMs?: number
}

export interface Mount {
  hostPath: string
  guestPath: string
  readonly?: boolean
}

export interface RunSpec {
  image: RunImage
  /** Replaces the image's Cmd, like arguments after the image in `docker run`. */
  cmd?: string[]
  /** Replaces the image's Entrypoint (and drops its Cmd unless `cmd` is given). */
  entrypoint?: string[]
  /** `K=V` entries added to (and overriding) the image's Env. */
  env?: string[]
  cwd?: string
  user?: string
  hostname?: string
  /** Interactive terminal of this size; without it stdout and stderr are separate pipes. */
  tty?: { cols: number; rows: number }
  /** Keep stdin open for writes; without it stdin is at EOF from the start. */
  stdin?: boolean
  limits?: Limits
  /** Host directories to map in (runtimes that cannot, say so in start()). */
  mounts?: Mount[]
  /**
   * A container's kept files (its writable layer from earlier runs), laid over the image's
   * layers; the run's own change set then includes them (web/runtimes/writable-layer.ts).
   * Runtimes that cannot, say so in start().
   */
  changes?: ChangeSet
  /** Runtime-specific switches, e.g. `{ cold: true }` for v86. */
  options?: Record<string, unknown>
  /**
   * Where the run is reachable: `docker run --network/--network-alias/-p`. Omitted: the
   * runtime's default (natively: a network namespace with only `lo`, see server/net/README.md).
   * Runtimes that cannot honour it say so in start().
   */
  network?: NetworkSpec
}

/** A run's network: which one it joins, the names it answers to there, its published ports. */
export interface NetworkSpec {
  /** 'none' (only loopback), 'bridge' (the default bridge network) or a user network's name. */
  name?: string
  /** Extra names the run answers to on its network (`--network-alias`). */
  aliases?: string[]
  /** Host ports forwarded to the run's ports (`-p`). */
  ports?: PublishedPort[]
}

/** `-p [IP:]HOST:CONTAINER[/tcp]`. */
export interface PublishedPort {
  /** The host address to listen on; 127.0.0.1 unless the user gave one. */
  hostIp: string
  /** 0: any free port (the run reports the one it got in its facts). */
  hostPort: number
  containerPort: number
  protocol: 'tcp'
}

export interface OutputChunk {
  stream: 'stdout' | 'stderr'
  data: Uint8Array
}

export type ExitReason = 'exited' | 'signaled' | 'killed' | 'timeout' | 'oom' | 'memory' | 'trap' | 'error'

export interface ExitStatus {
  code: number
  signal?: string
  reason: ExitReason
  /** Words for the user when the reason is not a plain exit. */
  message?: string
}

export interface Phase {
  name: string
  ms: number
}

export interface Run {
  readonly id: string
  readonly kind: RuntimeKind
  /** Output is buffered until the first listener subscribes, so nothing early is lost. */
  onOutput(listener: (chunk: OutputChunk) => void): () => void
  write(data: Uint8Array | string): void
  closeStdin(): void
  resize(cols: number, rows: number): void
  kill(signal?: string): void
  readonly exit: Promise<ExitStatus>
  /** Where the time went, in order (e.g. resolve, boot, start, run), filled in as phases end. */
  readonly timings: readonly Phase[]
  /** Facts a comparison shows: kernel release, PID 1, hostname, memory peak … as known. */
  readonly facts: Readonly<Record<string, string | number>>
  /** The TCP ports the program listens on now (runtimes that can tell; v86 asks its init). */
  listening?(): Promise<ListeningPort[]>
}

/** A TCP port a run's program listens on, as the run's own network stack sees it. */
export interface ListeningPort {
  /** The local address bound: 0.0.0.0 for every interface, 127.0.0.1 for the guest alone. */
  address: string
  port: number
  protocol: 'tcp'
}

export type Availability = { ok: true } | { ok: false; reason: string }

export interface Runtime {
  readonly kind: RuntimeKind
  available(): Promise<Availability>
  supports(platform: Platform): boolean
  start(spec: RunSpec): Promise<Run>
}

/** The final argv, env and cwd: the image config overridden by the spec, Docker's rules. */
export function resolveProcess(spec: RunSpec): { argv: string[]; env: string[]; cwd: string; user: string } {
  const config = spec.image.config
  const entrypoint = spec.entrypoint ?? config.Entrypoint ?? []
  const cmd = spec.cmd ?? (spec.entrypoint ? [] : (config.Cmd ?? []))
  const argv = [...entrypoint, ...cmd]
  if (argv.length === 0) {
    throw new Error(`image ${spec.image.name} has no Entrypoint or Cmd: give a command to run after the image name`)
  }
  const env = new Map<string, string>()
  for (const entry of [...(config.Env ?? []), ...(spec.env ?? [])]) {
    const eq = entry.indexOf('=')
    env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1))
  }
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  return {
    argv,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd: spec.cwd ?? (config.WorkingDir || '/'),
    user: spec.user ?? (config.User || ''),
  }
}
