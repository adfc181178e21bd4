//! cgroups for one run: limits (memory, pids, cpu), statistics (memory peak, CPU time, OOM
//! kills) and removal. Works on cgroup v2 (unified) and on v1, including the "hybrid" layout
//! where v1 controllers sit under /sys/fs/cgroup/<controller> and cgroup2 at .../unified holds
//! nothing we use. Each run's cgroup is nested under the caller's own cgroup, as runc does.

use crate::spec::Limits;
use crate::sys::{self, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ROOT: &str = "/sys/fs/cgroup";
const CFS_PERIOD_US: u64 = 100_000;
/// The v2 leaf that holds the server's own processes once runs need controllers beside it.
const HOST_LEAF: &str = "boxplay-host";
const V1_CONTROLLERS: [&str; 4] = ["memory", "pids", "cpu", "cpuacct"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

pub fn detect() -> Version {
    if Path::new(ROOT).join("cgroup.controllers").exists() {
        Version::V2
    } else {
        Version::V1
    }
}

/// The cgroup directories of one run (one per v1 controller, or one on v2).
#[derive(Debug, Clone)]
pub struct RunCgroup {
    pub version: Version,
    pub dirs: Vec<PathBuf>,
}

/// The caller's own cgroup path for a v1 controller, or the v2 path (controller "").
fn own_path(proc_cgroup: &str, controller: &str) -> Option<String> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = if controller.is_empty() { ctrls.is_empty() } else { ctrls.split(',').any(|c| c == controller) };
        hit.then(|| path.to_string())
    })
}

fn write(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).context(|| format!("write {value:?} to {}", path.display()))
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A `key value` line of a flat-keyed cgroup file (memory.events, cpu.stat, memory.oom_control).
fn read_key(path: &Path, key: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

impl RunCgroup {
    /// Creates the run's cgroup(s) and applies `limits`. When the cgroup tree is not
    /// writable (rootless on v1) and no limit was asked for, returns None: the run goes on
    /// without statistics. A requested limit that cannot be applied is an error.
    pub fn create(id: &str, limits: &Limits) -> Result<Option<RunCgroup>> {
        let proc_cgroup = fs::read_to_string("/proc/self/cgroup").context(|| "read /proc/self/cgroup".into())?;
        let wants_limits = limits.memory_bytes.is_some() || limits.pids.is_some() || limits.cpus.is_some();
        let version = detect();
        let name = format!("boxplay-{id}");
        let mut cg = RunCgroup { version, dirs: Vec::new() };
        let made = match version {
            Version::V1 => cg.create_v1(&proc_cgroup, &name),
            Version::V2 => cg.create_v2(&proc_cgroup, &name, wants_limits),
        };
        if let Err(e) = made {
            cg.remove();
            if !wants_limits && (e.errno == libc::EACCES || e.errno == libc::EROFS || e.errno == libc::EPERM) {
                return Ok(None);
            }
            return Err(e).context(|| "create the run's cgroup (limits need root, or a delegated cgroup v2 tree)".into());
        }
        if let Err(e) = cg.apply(limits) {
            cg.remove();
            return Err(e);
        }
        Ok(Some(cg))
    }

    fn create_v1(&mut self, proc_cgroup: &str, name: &str) -> Result<()> {
        for ctrl in V1_CONTROLLERS {
            // A controller this host lacks is skipped; asking for its limit fails in apply().
            let Some(own) = own_path(proc_cgroup, ctrl) else { continue };
            if !Path::new(ROOT).join(ctrl).is_dir() {
                continue;
            }
            let dir = Path::new(ROOT).join(ctrl).join(own.trim_start_matches('/')).join(name);
            // cpu and cpuacct are often co-mounted: the same directory serves both.
            if self.dirs.iter().any(|d| fs::canonicalize(d).ok() == fs::canonicalize(&dir).ok() && dir.exists()) {
                continue;
            }
            fs::create_dir(&dir).context(|| format!("create cgroup {}", dir.display()))?;
            self.dirs.push(dir);
        }
        Ok(())
    }

    fn create_v2(&mut self, proc_cgroup: &str, name: &str, wants_limits: bool) -> Result<()> {
        let own = own_path(proc_cgroup, "").ok_or_else(|| sys::Error { what: "no cgroup v2 entry in /proc/self/cgroup".into(), errno: 0 })?;
        // A server moved into its leaf earlier (below) nests runs beside that leaf.
        let own = own.strip_suffix(&format!("/{HOST_LEAF}")).unwrap_or(&own);
        let parent = Path::new(ROOT).join(own.trim_start_matches('/'));
        // Controllers must be enabled in the parent for the child to have them; a non-root
        // parent that holds processes itself refuses (EBUSY, the "no internal processes" rule).
        // Then its processes (the server among them) move to a leaf beside the runs, as
        // systemd's init.scope does, and the controllers can be enabled.
        let mut enabled = write(&parent.join("cgroup.subtree_control"), "+memory +pids +cpu");
        if matches!(&enabled, Err(e) if e.errno == libc::EBUSY) {
            enabled = move_processes_to_leaf(&parent).and_then(|()| write(&parent.join("cgroup.subtree_control"), "+memory +pids +cpu"));
        }
        if let Err(e) = enabled {
            let have = fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
            if wants_limits && !(have.contains("memory") && have.contains("pids") && have.contains("cpu")) {
                return Err(e);
            }
        }
        let dir = parent.join(name);
        fs::create_dir(&dir).context(|| format!("create cgroup {}", dir.display()))?;
        self.dirs.push(dir);
        Ok(())
    }

    fn dir_of(&self, controller: &str) -> Option<&PathBuf> {
        match self.version {
            Version::V2 => self.dirs.first(),
            Version::V1 => self.dirs.iter().find(|d| d.join(format!("{controller}.stat")).exists() || d.join(format!("{controller}.max")).exists() || d.join(format!("{controller}.usage")).exists()),
        }
    }

    fn apply(&self, limits: &Limits) -> Result<()> {
        match self.version {
            Version::V1 => {
                if let Some(bytes) = limits.memory_bytes {
                    let d = self.dir_of("memory").ok_or_else(|| sys::Error { what: "no memory cgroup".into(), errno: 0 })?;
                    write(&d.join("memory.limit_in_bytes"), &bytes.to_string())?;
                    // Without swap accounting the limit would just push pages to swap.
                    let _ = write(&d.join("memory.memsw.limit_in_bytes"), &bytes.to_string());
                }
                if let Some(n) = limits.pids {
                    let d = self.dir_of("pids").ok_or_else(|| sys::Error { what: "no pids cgroup".into(), errno: 0 })?;
                    write(&d.join("pids.max"), &n.to_string())?;
                }
                if let Some(cpus) = limits.cpus {
                    let d = self.dirs.iter().find(|d| d.join("cpu.cfs_quota_us").exists()).ok_or_else(|| sys::Error { what: "no cpu cgroup".into(), errno: 0 })?;
                    write(&d.join("cpu.cfs_period_us"), &CFS_PERIOD_US.to_string())?;
                    write(&d.join("cpu.cfs_quota_us"), &quota(cpus).to_string())?;
                }
            }
            Version::V2 => {
                let d = &self.dirs[0];
                if let Some(bytes) = limits.memory_bytes {
                    write(&d.join("memory.max"), &bytes.to_string())?;
                    let _ = write(&d.join("memory.swap.max"), "0");
                }
                if let Some(n) = limits.pids {
                    write(&d.join("pids.max"), &n.to_string())?;
                }
                if let Some(cpus) = limits.cpus {
                    write(&d.join("cpu.max"), &format!("{} {CFS_PERIOD_US}", quota(cpus)))?;
                }
            }
        }
        Ok(())
    }

    /// v1 only: the `tasks` files, opened for the child to write "0" into (see child.rs).
    pub fn self_join_files(&self) -> Result<Vec<std::os::fd::OwnedFd>> {
        if self.version != Version::V1 {
            return Ok(vec![]);
        }
        self.dirs.iter().map(|d| sys::open(&d.join("tasks").to_string_lossy(), libc::O_WRONLY, 0)).collect()
    }

    pub fn add(&self, pid: i32) -> Result<()> {
        for d in &self.dirs {
            write(&d.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The directory shown to users (memory's on v1).
    pub fn display_path(&self) -> String {
        self.dir_of("memory").or(self.dirs.first()).map(|d| d.display().to_string()).unwrap_or_default()
    }

    pub fn memory_peak(&self) -> Option<u64> {
        match self.version {
            Version::V1 => read_u64(&self.dir_of("memory")?.join("memory.max_usage_in_bytes")),
            Version::V2 => read_u64(&self.dirs[0].join("memory.peak")),
        }
    }

    pub fn cpu_usage_ns(&self) -> Option<u64> {
        match self.version {
            Version::V1 => read_u64(&self.dirs.iter().find(|d| d.join("cpuacct.usage").exists())?.join("cpuacct.usage")),
            Version::V2 => read_key(&self.dirs[0].join("cpu.stat"), "usage_usec").map(|us| us * 1000),
        }
    }

    pub fn pids_peak(&self) -> Option<u64> {
        read_u64(&self.dir_of("pids")?.join("pids.peak"))
    }

    /// How many forks the pids limit refused (pids.events "max", v1 and v2).
    pub fn pids_limit_hits(&self) -> Option<u64> {
        read_key(&self.dir_of("pids")?.join("pids.events"), "max")
    }

    /// How many processes the kernel's OOM killer took in this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let n = match self.version {
            Version::V1 => self.dir_of("memory").and_then(|d| read_key(&d.join("memory.oom_control"), "oom_kill")),
            Version::V2 => read_key(&self.dirs[0].join("memory.events"), "oom_kill"),
        };
        n.unwrap_or(0)
    }

    /// Kills whatever is left and removes the directories, waiting briefly for dying tasks.
    pub fn remove(&self) -> Option<String> {
        remove_dirs(&self.dirs)
    }
}

/// Moves every process of the v2 cgroup `parent` into `parent/boxplay-host`.
fn move_processes_to_leaf(parent: &Path) -> Result<()> {
    let leaf = parent.join(HOST_LEAF);
    match fs::create_dir(&leaf) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e).context(|| format!("create cgroup {}", leaf.display())),
        _ => {}
    }
    // Processes may fork while we move them: a few passes until the parent is empty.
    for _ in 0..5 {
        let procs = fs::read_to_string(parent.join("cgroup.procs")).context(|| format!("list {}", parent.display()))?;
        let pids: Vec<&str> = procs.lines().filter(|l| !l.trim().is_empty()).collect();
        if pids.is_empty() {
            return Ok(());
        }
        for pid in pids {
            // A process that exited meanwhile is not an error.
            let _ = fs::write(leaf.join("cgroup.procs"), pid);
        }
    }
    Ok(())
}

fn quota(cpus: f64) -> u64 {
    ((cpus * CFS_PERIOD_US as f64).round() as u64).max(1000)
}

/// Kills every task in `dirs` and removes them; returns what could not be removed.
pub fn remove_dirs(dirs: &[PathBuf]) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left = Vec::new();
    for d in dirs {
        if !d.exists() {
            continue;
        }
        let _ = fs::write(d.join("cgroup.kill"), "1");
        loop {
            if let Ok(procs) = fs::read_to_string(d.join("cgroup.procs")) {
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    let _ = sys::kill(pid, libc::SIGKILL);
                }
            }
            match fs::remove_dir(d) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) if Instant::now() > deadline => {
                    left.push(format!("{}: {e}", d.display()));
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }
    (!left.is_empty()).then(|| format!("cgroups left behind: {}", left.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_own_paths_in_a_hybrid_layout() {
        let text = "9:name=systemd:/\n4:memory:/a/b\n2:cpu,cpuacct:/c\n0::/u\n";
        assert_eq!(own_path(text, "memory").as_deref(), Some("/a/b"));
        assert_eq!(own_path(text, "cpuacct").as_deref(), Some("/c"));
        assert_eq!(own_path(text, "").as_deref(), Some("/u"));
        assert_eq!(own_path(text, "pids"), None);
    }

    #[test]
    fn cpu_quota_is_a_fraction_of_the_period() {
        assert_eq!(quota(0.5), 50_000);
        assert_eq!(quota(2.0), 200_000);
        assert_eq!(quota(0.0001), 1000);
    }
}
