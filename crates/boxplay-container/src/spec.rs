//! What the Node side asks for (one JSON document on the helper's control socket) and what
//! the helper reports back (one JSON line per event). The TypeScript mirror of these types
//! lives in server/native/core-spec.ts: keep them in step.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSpec {
    /// Unique per run; names the run dir and the cgroup (`[A-Za-z0-9_-]`, ≤ 64).
    pub id: String,
    /// The server process that owns the run; a sweep removes runs whose owner is gone.
    pub owner_pid: u32,
    /// Where run dirs live, e.g. /run/boxplay (root) or $XDG_RUNTIME_DIR/boxplay.
    pub state_root: String,
    /// The image's unpacked layers, TOP FIRST (overlayfs `lowerdir` order: the last layer
    /// of the manifest comes first).
    pub lower_dirs: Vec<String>,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    /// Docker's `User`: "", "name", "uid", "name:group", "uid:gid"; names resolved in the
    /// container's /etc/passwd and /etc/group.
    #[serde(default)]
    pub user: String,
    pub hostname: String,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    /// Capability names (e.g. "CAP_CHOWN") granted to a root process; None = Docker's default set.
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
    /// Docker-like default seccomp profile (true unless a test turns it off to compare).
    #[serde(default = "yes")]
    pub seccomp: bool,
    /// Size of the tmpfs that holds the container's writes (default 1 GiB).
    #[serde(default)]
    pub scratch_bytes: Option<u64>,
    /// Extra host-side directories bound into the container.
    #[serde(default)]
    pub mounts: Vec<BindMount>,
    /// Keep the container's writes after it exits (opt-in); the run dir stays until
    /// `remove_run` or a sweep. As root the writes still go to a tmpfs of `scratch_bytes`
    /// (in the monitor's private mount namespace), copied to the run dir after exit with a
    /// cap (kept_scratch.rs); rootless, the overlay's upper dir lives in the run dir on disk.
    #[serde(default)]
    pub keep_changes: bool,
    /// Join a user network (a bridge on the host): a veth pair, `eth0` inside (net.rs).
    /// None: the container's network namespace has only `lo`.
    #[serde(default)]
    pub network: Option<NetworkAttach>,
    /// Host ports to forward into the container (ports.rs): bound by the monitor before the
    /// container starts, relayed by a proxy process that lives in the container's netns.
    #[serde(default)]
    pub ports: Vec<PortForward>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAttach {
    /// The host bridge to attach the host end to (it must exist), e.g. "bpl-1a2b3c4d".
    pub bridge: String,
    /// The host end's name (≤ 15 bytes), unique on the host, e.g. "bpv1a2b3c4d5e6f".
    pub host_ifname: String,
    /// The container's IPv4 address on the network, dotted ("10.89.3.5").
    pub address: String,
    /// The network's prefix length (24 for a /24).
    pub prefix_len: u8,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortForward {
    /// The host address to listen on ("127.0.0.1" unless the user gave one).
    pub host_ip: String,
    /// 0: any free port (reported back in `Started::ports`).
    pub host_port: u16,
    pub container_port: u16,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub memory_bytes: Option<u64>,
    pub pids: Option<u64>,
    /// CPUs as a fraction, like `docker run --cpus 0.5`.
    pub cpus: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rlimit {
    /// "NOFILE", "NPROC", "CORE", … (RLIMIT_ without the prefix).
    pub kind: String,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindMount {
    pub host_path: String,
    pub guest_path: String,
    #[serde(default)]
    pub readonly: bool,
}

/// Sent once pid 1 has exec'd the command.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub event: &'static str,
    /// PID 1's pid as the host sees it.
    pub host_pid: i32,
    pub cgroup: Option<String>,
    pub rootless: bool,
    /// How container ids map to host ids: "0 100000 65536" (container, host, count).
    pub id_map: String,
    /// Milliseconds spent in each setup step, in order.
    pub phases: Vec<(String, f64)>,
    /// The published ports as bound (host port 0 replaced by the one the kernel chose).
    pub ports: Vec<PortForward>,
}

/// Sent last, after the run's cgroup and run dir are gone.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exited {
    pub event: &'static str,
    /// Exit code, or 128+signal when killed by a signal (like a shell).
    pub code: i32,
    pub signal: Option<i32>,
    pub oom: bool,
    /// Set when the container never ran the command: what failed, in words.
    pub error: Option<String>,
    /// errno of the failure when it was the exec itself (ENOENT → 127, EACCES → 126).
    pub exec_errno: Option<i32>,
    pub memory_peak_bytes: Option<u64>,
    pub cpu_usage_ns: Option<u64>,
    pub pids_peak: Option<u64>,
    /// Forks refused by the pids limit.
    pub pids_limit_hits: Option<u64>,
    /// Set when cleanup failed: what is left and where.
    pub cleanup_error: Option<String>,
    /// With `keep_changes`: the kept run dir, holding `upper/` (the overlay's upper dir:
    /// whiteouts are 0/0 character devices) and `opaque` (one upper-relative path per line
    /// of each directory overlayfs marked opaque). Remove it with `remove_run`.
    pub changes_dir: Option<String>,
}
