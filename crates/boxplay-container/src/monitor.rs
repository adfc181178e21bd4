//! `boxplay-init`: one process per run, started by the Node addon (fork+exec from a
//! multithreaded Node is only safe when the child execs at once; doing the namespace work
//! here, in a fresh single-threaded process, is runc's answer and ours).
//!
//! fd 0/1/2 are the container's stdio (pipes or a pty slave); fd 3 is a stream socket to
//! the addon: the spec arrives as one JSON line, then commands ("kill <signo>"); events go
//! back as JSON lines ("started", then "exited" after cleanup). If the socket closes (the
//! server died), the container is killed and cleaned up.
//!
//! Order: run dir → layer ownership → cgroup → clone(new user, mount, pid, uts, ipc, net
//! namespaces) → [parent] join cgroup, write id maps, say go → [child] see child.rs.

use crate::cgroup::RunCgroup;
use crate::child::{self, ChildInput};
use crate::idmap::{self, IdMap};
use crate::kept_scratch;
use crate::net;
use crate::ports::{self, Proxy};
use crate::seccomp;
use crate::spec::{ContainerSpec, Exited, Started};
use crate::state::{self, RunDir, RunState};
use crate::sys::{self, Context, Result};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

const CONTROL_FD: RawFd = 3;
const NAMESPACES: libc::c_int =
    libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET;

struct Control {
    fd: RawFd,
    buf: Vec<u8>,
}

impl Control {
    /// The next full line, blocking; None at EOF.
    fn line(&mut self) -> Result<Option<String>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Ok(Some(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned()));
            }
            let mut chunk = [0u8; 4096];
            let n = sys::read(self.fd, &mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn send(&self, event: &impl serde::Serialize) {
        if let Ok(mut json) = serde_json::to_vec(event) {
            json.push(b'\n');
            let _ = sys::write_all(self.fd, &json);
        }
    }
}

/// What must be undone, in reverse, whatever happens.
struct Cleanup {
    run_dir: Option<RunDir>,
    cgroup: Option<RunCgroup>,
    /// Keep the run dir's upper/ (set once the container ran, with `keep_changes`).
    keep: bool,
    /// Where the kept changes are, once `finish` kept them.
    kept: Option<String>,
    /// The run's scratch tmpfs is mounted at `<run dir>/scratch` (kept_scratch.rs).
    scratch: bool,
    /// The published ports' proxy (ports.rs), stopped first.
    proxy: Option<Proxy>,
}

impl Cleanup {
    fn finish(&mut self) -> Option<String> {
        let mut problems = Vec::new();
        if let Some(mut proxy) = self.proxy.take() {
            proxy.stop();
        }
        if let Some(cg) = self.cgroup.take() {
            problems.extend(cg.remove());
        }
        if let Some(dir) = self.run_dir.take() {
            if self.keep {
                let kept = if self.scratch {
                    kept_scratch::copy_out(&dir).and_then(|()| state::keep_changes(&dir, &dir.sub("scratch").join("upper")))
                } else {
                    state::keep_changes(&dir, &dir.sub("upper"))
                };
                if self.scratch {
                    self.scratch = false;
                    if let Err(e) = kept_scratch::unmount(&dir) {
                        problems.push(format!("the run's scratch tmpfs: {e}"));
                    }
                }
                match kept {
                    Ok(()) => {
                        self.kept = Some(dir.path.to_string_lossy().into_owned());
                        return (!problems.is_empty()).then(|| problems.join("; "));
                    }
                    Err(e) => problems.push(format!("could not keep the run's changes: {e}")),
                }
            }
            if self.scratch {
                if let Err(e) = kept_scratch::unmount(&dir) {
                    problems.push(format!("the run's scratch tmpfs: {e}"));
                }
            }
            if let Err(e) = state::remove_tree(&dir.path) {
                problems.push(format!("run directory {} left behind: {e}", dir.path.display()));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

pub fn main() -> i32 {
    // `boxplay-init --prepare`: compile and cache the seccomp program (the build step runs it).
    if std::env::args().nth(1).as_deref() == Some("--prepare") {
        return match seccomp::default_program() {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("boxplay-init: {e}");
                1
            }
        };
    }
    // `boxplay-init --exec SPEC`: one more process in a running container (exec.rs).
    if std::env::args().nth(1).as_deref() == Some("--exec") {
        return crate::exec::main(&std::env::args().nth(2).unwrap_or_default());
    }
    // `boxplay-init --probe`: can this host make a container's namespaces at all?
    if std::env::args().nth(1).as_deref() == Some("--probe") {
        return match probe() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{e}");
                1
            }
        };
    }
    // Nothing of ours may reach the container: the control socket closes at its exec, and
    // anything else Node let us inherit is closed now.
    // SAFETY: plain fcntl/close_range on descriptors this process owns.
    unsafe {
        libc::fcntl(CONTROL_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::syscall(libc::SYS_close_range, CONTROL_FD as u32 + 1, u32::MAX, 0u32);
    }
    let mut control = Control { fd: CONTROL_FD, buf: Vec::new() };
    let spec: ContainerSpec = match control.line() {
        Ok(Some(line)) => match serde_json::from_str(&line) {
            Ok(s) => s,
            Err(e) => {
                control.send(&Exited { event: "exited", code: 125, error: Some(format!("invalid container spec: {e}")), ..Default::default() });
                return 1;
            }
        },
        _ => return 1,
    };
    let mut cleanup = Cleanup { run_dir: None, cgroup: None, keep: false, kept: None, scratch: false, proxy: None };
    let mut exited = match run(&spec, &mut control, &mut cleanup) {
        Ok(exited) => exited,
        Err(e) => {
            let errno = e.errno;
            let is_exec = e.what.starts_with("exec");
            Exited {
                event: "exited",
                code: if is_exec { if errno == libc::ENOENT { 127 } else { 126 } } else { 125 },
                error: Some(e.to_string()),
                exec_errno: is_exec.then_some(errno),
                ..Default::default()
            }
        }
    };
    exited.cleanup_error = cleanup.finish();
    exited.changes_dir = cleanup.kept.take();
    control.send(&exited);
    0
}

/// Creates the namespaces a run needs in a throwaway child, which exits at once.
fn probe() -> Result<()> {
    let pid = sys::clone_process(NAMESPACES).context(|| "create user, mount, pid, uts, ipc and net namespaces".into())?;
    if pid == 0 {
        sys::exit_now(0);
    }
    let status = sys::waitpid(pid, 0)?.unwrap_or(-1);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return sys::err(format!("the namespace probe ended with status {status}"));
    }
    Ok(())
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_micros() as f64) / 1000.0
}

fn run(spec: &ContainerSpec, control: &mut Control, cleanup: &mut Cleanup) -> Result<Exited> {
    let mut phases: Vec<(String, f64)> = Vec::new();
    let mut t = Instant::now();
    let map = IdMap::for_caller();
    if spec.lower_dirs.is_empty() {
        return sys::err("no image layers given (lowerDirs is empty)");
    }
    if map.rootless && spec.network.is_some() {
        return sys::err("user networks need root (a bridge and veth pairs on the host): run boxplay as root, or use --network none with -p, which works rootless");
    }

    let dir = RunDir::create(&spec.state_root, spec.owner_pid, &spec.id)?;
    let run_dir = dir.path.to_string_lossy().into_owned();
    if !map.rootless {
        // The mapped root mounts its scratch tmpfs on this directory.
        std::os::unix::fs::chown(&dir.path, Some(map.host_uid), Some(map.host_gid)).context(|| format!("chown {run_dir}"))?;
    }
    cleanup.run_dir = Some(dir);
    // Kept changes stay bounded: as root, the monitor holds them on a tmpfs it copies out
    // after the run. (Rootless, they go straight to the user's own disk and quota.)
    let kept_scratch = spec.keep_changes && !map.rootless;
    if let (true, Some(dir)) = (kept_scratch, &cleanup.run_dir) {
        kept_scratch::mount(dir, spec.scratch_bytes.unwrap_or(child::DEFAULT_SCRATCH_BYTES), map.host_uid, map.host_gid)?;
        cleanup.scratch = true;
    }
    phases.push(("rundir".into(), ms(t)));
    t = Instant::now();

    for layer in &spec.lower_dirs {
        idmap::shift_layer(layer, &map)?;
    }
    phases.push(("layers".into(), ms(t)));
    t = Instant::now();

    let cgroup = RunCgroup::create(&spec.id, &spec.limits)?;
    if let (Some(cg), Some(dir)) = (&cgroup, &cleanup.run_dir) {
        dir.save(&RunState { owner_pid: spec.owner_pid, owner_start: sys::process_start_time(spec.owner_pid), cgroups: cg.dirs.clone() })?;
    }
    cleanup.cgroup = cgroup.clone();
    phases.push(("cgroup".into(), ms(t)));
    t = Instant::now();

    let cgroup_tasks: Vec<OwnedFd> = match &cgroup {
        Some(cg) => cg.self_join_files()?,
        None => vec![],
    };
    let seccomp_program = if spec.seccomp { Some(seccomp::default_program()?) } else { None };
    // Host ports are taken before the container exists, so a busy port fails the run at once.
    let published = ports::bind(&spec.ports)?;
    let (parent_sock, child_sock) = sys::socketpair_seqpacket()?;
    let pid = sys::clone_process(NAMESPACES)?;
    if pid == 0 {
        drop(parent_sock);
        child::run(ChildInput { spec, run_dir: &run_dir, cgroup_tasks: &cgroup_tasks, rootless: map.rootless, kept_scratch, seccomp: seccomp_program.as_deref(), sync: child_sock });
    }
    drop(child_sock);
    let pidfd = match sys::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::waitpid(pid, 0);
            return Err(e);
        }
    };
    // From here on the child must be killed and reaped on any error.
    let reap_on_error = |e: sys::Error| {
        let _ = sys::pidfd_send_signal(pidfd.as_raw_fd(), libc::SIGKILL);
        let _ = sys::waitpid(pid, 0);
        e
    };
    drop(cgroup_tasks);
    if let Some(cg) = cgroup.as_ref().filter(|cg| cg.version == crate::cgroup::Version::V2) {
        cg.add(pid).map_err(reap_on_error)?;
    }
    map.write_for(pid).map_err(reap_on_error)?;
    phases.push(("clone".into(), ms(t)));
    t = Instant::now();
    if let Some(network) = &spec.network {
        // Before "go": PID 1 finds eth0 in its netns when it configures it.
        net::attach(network, pid).map_err(reap_on_error)?;
        phases.push(("network".into(), ms(t)));
        t = Instant::now();
    }
    sys::write_all(parent_sock.as_raw_fd(), b"G").map_err(reap_on_error)?;

    let mut report = [0u8; 4096];
    let n = sys::read(parent_sock.as_raw_fd(), &mut report).map_err(reap_on_error)?;
    if n > 0 {
        let _ = sys::waitpid(pid, 0);
        let text = String::from_utf8_lossy(&report[..n]);
        let (errno, message) = text.split_once('\n').unwrap_or(("0", &text));
        return Err(sys::Error { what: message.to_string(), errno: errno.parse().unwrap_or(0) });
    }
    phases.push(("setup".into(), ms(t)));
    let bound = published.ports.clone();
    if !bound.is_empty() {
        t = Instant::now();
        let target = match &spec.network {
            Some(n) => net::parse_ipv4(&n.address).map(std::net::Ipv4Addr::from).map_err(reap_on_error)?,
            None => std::net::Ipv4Addr::LOCALHOST,
        };
        cleanup.proxy = ports::start(published, pid, map.rootless, target).map_err(reap_on_error)?;
        phases.push(("ports".into(), ms(t)));
    } else {
        drop(published);
    }
    control.send(&Started { event: "started", host_pid: pid, cgroup: cgroup.as_ref().map(|c| c.display_path()), rootless: map.rootless, id_map: format!("0 {} {}", map.host_uid, map.size), phases, ports: bound });

    cleanup.keep = spec.keep_changes;
    let status = supervise(pid, &pidfd, control)?;
    let mut exited = Exited { event: "exited", ..Default::default() };
    if libc::WIFEXITED(status) {
        exited.code = libc::WEXITSTATUS(status);
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        exited.signal = Some(sig);
        exited.code = 128 + sig;
    }
    if let Some(cg) = &cgroup {
        exited.memory_peak_bytes = cg.memory_peak();
        exited.cpu_usage_ns = cg.cpu_usage_ns();
        exited.pids_peak = cg.pids_peak();
        exited.pids_limit_hits = cg.pids_limit_hits();
        exited.oom = cg.oom_kills() > 0 && exited.signal == Some(libc::SIGKILL);
    }
    Ok(exited)
}

/// Waits for PID 1 to exit, forwarding signals asked for on the control socket. If the
/// socket closes (the server is gone), the container is killed.
fn supervise(pid: libc::pid_t, pidfd: &OwnedFd, control: &mut Control) -> Result<libc::c_int> {
    let mut control_open = true;
    // Commands that arrived with the spec (a kill sent right after start) wait in the buffer.
    obey(pidfd, control);
    loop {
        let fds: Vec<RawFd> = if control_open { vec![pidfd.as_raw_fd(), control.fd] } else { vec![pidfd.as_raw_fd()] };
        let revents = sys::poll(&fds, -1)?;
        if revents[0] != 0 {
            if let Some(status) = sys::waitpid(pid, 0)? {
                return Ok(status);
            }
        }
        if control_open && revents[1] != 0 {
            let mut chunk = [0u8; 1024];
            let n = sys::read(control.fd, &mut chunk).unwrap_or(0);
            if n == 0 {
                control_open = false;
                let _ = sys::pidfd_send_signal(pidfd.as_raw_fd(), libc::SIGKILL);
                continue;
            }
            control.buf.extend_from_slice(&chunk[..n]);
            obey(pidfd, control);
        }
    }
}

/// Carries out the complete command lines in the control buffer ("kill <signo>").
fn obey(pidfd: &OwnedFd, control: &mut Control) {
    while let Some(pos) = control.buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = control.buf.drain(..=pos).collect();
        let line = String::from_utf8_lossy(&line);
        if let Some(sig) = line.trim().strip_prefix("kill ").and_then(|s| s.parse::<i32>().ok()) {
            let _ = sys::pidfd_send_signal(pidfd.as_raw_fd(), sig);
        }
    }
}
