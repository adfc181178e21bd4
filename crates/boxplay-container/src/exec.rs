//! `boxplay-init --exec SPEC_JSON`: runs one more process in a running container (`boxplay
//! exec`), as runc's nsenter does. With the container's stdio being this helper's own
//! (pipes from the CLI), it:
//!   1. opens everything it needs from the host first: the namespaces of the container's
//!      PID 1 (/proc/PID/ns/*), its root (/proc/PID/root), and its cgroups;
//!   2. joins its cgroups (only the run's own `boxplay-*` ones), then its user namespace
//!      (becoming the container's root, never host root), then mnt, uts, ipc, net, cgroup
//!      and pid, and enters its root;
//!   3. forks, so the child is inside the pid namespace, and the child drops to the user,
//!      takes Docker's default capabilities, no_new_privs and the same seccomp filter as
//!      PID 1, and execs; the parent waits and exits with the child's code (128+N for a
//!      signal, 126/127 when the command cannot be run or found, 125 for its own failures).
//! All unsafe code stays in sys.rs.

use crate::child::{find_program, rlimit_resource};
use crate::spec::Rlimit;
use crate::sys::{self, Context, Result};
use crate::{caps, seccomp, user};
use serde::Deserialize;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecSpec {
    /// The container's PID 1 as the host sees it.
    pub pid: u32,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    #[serde(default)]
    pub cwd: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub seccomp: bool,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    /// A terminal of this size (cols, rows) for the command; none: the helper's own stdio.
    #[serde(default)]
    pub tty: Option<(u16, u16)>,
}

fn yes() -> bool {
    true
}

/// The namespaces joined, in order: the user namespace first, so the others (all owned by
/// it) can be joined with the capabilities it grants; pid last (it applies to children).
const NAMESPACES: [(&str, libc::c_int); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("uts", libc::CLONE_NEWUTS),
    ("ipc", libc::CLONE_NEWIPC),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("pid", libc::CLONE_NEWPID),
];

pub fn main(spec_json: &str) -> i32 {
    let spec: ExecSpec = match serde_json::from_str(spec_json) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("boxplay-init: invalid exec spec: {e}");
            return 125;
        }
    };
    match exec(&spec) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("boxplay exec: {e}");
            125
        }
    }
}

/// A namespace of the container that differs from ours (setns into our own user namespace fails).
fn namespace_fd(pid: u32, name: &str) -> Result<Option<OwnedFd>> {
    let theirs = std::fs::metadata(format!("/proc/{pid}/ns/{name}")).map_err(|e| sys::Error { what: format!("the container's {name} namespace (is it still running?): {e}"), errno: e.raw_os_error().unwrap_or(0) })?;
    let ours = std::fs::metadata(format!("/proc/self/ns/{name}")).ok();
    use std::os::unix::fs::MetadataExt;
    if ours.is_some_and(|o| o.ino() == theirs.ino() && o.dev() == theirs.dev()) {
        return Ok(None);
    }
    sys::open(&format!("/proc/{pid}/ns/{name}"), libc::O_RDONLY | libc::O_CLOEXEC, 0).map(Some)
}

/// The `cgroup.procs` files of the container's own cgroups (the run's `boxplay-*` dirs).
fn cgroup_procs(pid: u32) -> Result<Vec<OwnedFd>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(|e| sys::Error { what: format!("read the container's cgroups: {e}"), errno: e.raw_os_error().unwrap_or(0) })?;
    let unified_only = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let mut files = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if !path.split('/').any(|p| p.starts_with("boxplay-")) || controllers.starts_with("name=") {
            continue;
        }
        let dir = match (controllers.is_empty(), unified_only) {
            (false, _) => format!("/sys/fs/cgroup/{controllers}{path}"),
            (true, true) => format!("/sys/fs/cgroup{path}"),
            (true, false) => continue, // hybrid: the runtime keeps no cgroup in the unified tree
        };
        files.push(sys::open(&format!("{dir}/cgroup.procs"), libc::O_WRONLY | libc::O_CLOEXEC, 0).context(|| format!("open the container's cgroup {dir}"))?);
    }
    Ok(files)
}

fn exec(spec: &ExecSpec) -> Result<i32> {
    let pid = spec.pid;
    let mut joins = Vec::new();
    for (name, flag) in NAMESPACES {
        if let Some(fd) = namespace_fd(pid, name)? {
            joins.push((name, flag, fd));
        }
    }
    let root = sys::open(&format!("/proc/{pid}/root"), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC, 0).context(|| "open the container's root".into())?;
    let seccomp_program = if spec.seccomp { Some(seccomp::default_program()?) } else { None };

    for procs in cgroup_procs(pid)? {
        sys::write_all(procs.as_raw_fd(), std::process::id().to_string().as_bytes()).context(|| "join the container's cgroup".into())?;
    }
    for (name, flag, fd) in &joins {
        sys::setns(fd.as_raw_fd(), *flag).context(|| format!("join the container's {name} namespace"))?;
        if *flag == libc::CLONE_NEWUSER {
            // The container's root, mapped to an unprivileged host id.
            sys::setresgid(0)?;
            sys::setresuid(0)?;
        }
    }
    sys::fchdir(root.as_raw_fd())?;
    sys::chroot(".")?;
    drop(root);

    // With a terminal: a new pty whose slave becomes the command's stdio and controlling
    // terminal, relayed here to our own stdio (the CLI's pipes).
    let pty = match spec.tty {
        Some((cols, rows)) => Some(sys::openpty(cols.max(1), rows.max(1))?),
        None => None,
    };
    let child = sys::clone_process(0)?;
    if child == 0 {
        if let Some((_, slave)) = &pty {
            for fd in 0..3 {
                if let Err(e) = sys::dup2(slave.as_raw_fd(), fd) {
                    eprintln!("boxplay exec: {e}");
                    sys::exit_now(126);
                }
            }
        }
        drop(pty);
        let err = match become_command(spec, seccomp_program.as_deref()) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let is_exec = err.what.starts_with("exec");
        eprintln!("boxplay exec: {err}");
        sys::exit_now(if err.errno == libc::ENOENT && is_exec { 127 } else { 126 });
    }
    if let Some((master, slave)) = pty {
        drop(slave);
        relay(&master);
    }
    let status = sys::waitpid(child, 0)?.unwrap_or(0);
    Ok(if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) })
}

/// Copies our stdin to the pty and the pty to our stdout until the command's side closes.
fn relay(master: &OwnedFd) {
    let m = master.as_raw_fd();
    let mut stdin_open = true;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let fds: Vec<i32> = if stdin_open { vec![m, 0] } else { vec![m] };
        let Ok(revents) = sys::poll(&fds, -1) else { return };
        if revents[0] != 0 {
            match sys::read(m, &mut buf) {
                Ok(n) if n > 0 => {
                    if sys::write_all(1, &buf[..n]).is_err() {
                        return;
                    }
                }
                _ => return, // EIO: the last slave closed (the command ended)
            }
        }
        if stdin_open && revents.get(1).is_some_and(|r| *r != 0) {
            match sys::read(0, &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = sys::write_all(m, &buf[..n]);
                }
                _ => stdin_open = false,
            }
        }
    }
}

enum Never {}

/// In the child, inside every namespace: the same confinement as the container's PID 1.
fn become_command(spec: &ExecSpec, seccomp_program: Option<&[u8]>) -> Result<Never> {
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let who = user::resolve(&spec.user, &passwd, &group)?;
    let mut env = spec.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", who.home.clone().unwrap_or_else(|| "/".into())));
    }
    for r in &spec.rlimits {
        sys::setrlimit(rlimit_resource(&r.kind)?, r.soft, r.hard)?;
    }
    let program = find_program(&spec.argv, &env)?;
    let keep = match &spec.capabilities {
        Some(list) => caps::mask_of(list)?,
        None => caps::mask_of(caps::DOCKER_DEFAULT)?,
    };
    if spec.tty.is_some() {
        sys::setsid_and_controlling_tty(0)?;
        if !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
    } else {
        sys::setsid();
    }
    caps::limit_bounding(keep)?;
    // A rootless container denies setgroups; its processes keep none anyway.
    if std::fs::read_to_string("/proc/self/setgroups").map(|s| s.trim() == "allow").unwrap_or(false) {
        sys::setgroups(&who.groups)?;
    }
    sys::setresgid(who.gid)?;
    sys::setresuid(who.uid)?;
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)?;
    sys::chdir(if spec.cwd.is_empty() { "/" } else { &spec.cwd }).context(|| "the working directory".into())?;
    caps::apply_final(keep, who.uid == 0)?;
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)?;
    if let Some(program) = seccomp_program {
        seccomp::load(program)?;
    }
    let argv: Vec<CString> = spec.argv.iter().map(|a| sys::cstr(a)).collect::<Result<_>>()?;
    let envc: Vec<CString> = env.iter().map(|a| sys::cstr(a)).collect::<Result<_>>()?;
    Err(sys::execve(&program, &argv, &envc))
}
