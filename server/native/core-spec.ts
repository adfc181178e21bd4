// The JSON the Rust helper takes and reports (mirror of crates/boxplay-container/src/spec.rs).

export interface CoreSpec {
  /** [A-Za-z0-9_-], ≤ 64: names the run dir and the cgroup. */
  id: string
  ownerPid: number
  stateRoot: string
  /** Unpacked image layers, TOP FIRST (overlayfs lowerdir order), as Store.layerDirs gives. */
  lowerDirs: string[]
  argv: string[]
  env: string[]
  cwd: string
  user: string
  hostname: string
  tty: boolean
  limits: { memoryBytes?: number; pids?: number; cpus?: number }
  rlimits: { kind: string; soft: number; hard: number }[]
  /** Capability names for a root process; omitted = Docker's default set. */
  capabilities?: string[]
  seccomp: boolean
  mounts: { hostPath: string; guestPath: string; readonly: boolean }[]
  /** Size of the tmpfs holding the container's writes (default 1 GiB; as root also with keepChanges). */
  scratchBytes?: number
  /** Keep the container's writes in its run dir after exit (see CoreExited.changesDir). */
  keepChanges?: boolean
  /** Join a bridge: a veth pair, eth0 inside with this address (crates/…/net.rs). */
  network?: CoreNetwork
  /** Host ports the monitor binds and proxies into the container's netns (ports.rs). */
  ports?: CorePort[]
}

export interface CoreNetwork {
  bridge: string
  /** ≤ 15 bytes, unique on the host. */
  hostIfname: string
  address: string
  prefixLen: number
}

export interface CorePort {
  hostIp: string
  /** 0: any free port (Started.ports says which). */
  hostPort: number
  containerPort: number
}

export interface CoreStarted {
  event: 'started'
  hostPid: number
  cgroup: string | null
  rootless: boolean
  /** "container host count", e.g. "0 100000 65536": container root is host uid 100000. */
  idMap: string
  phases: [string, number][]
  /** The published ports as bound. */
  ports?: CorePort[]
}

export interface CoreExited {
  event: 'exited'
  code: number
  signal: number | null
  oom: boolean
  error: string | null
  execErrno: number | null
  memoryPeakBytes: number | null
  cpuUsageNs: number | null
  pidsPeak: number | null
  /** Forks the pids limit refused. */
  pidsLimitHits: number | null
  cleanupError: string | null
  /** With keepChanges: the kept run dir (upper/ and opaque), until removeRun(dir). */
  changesDir?: string | null
}
