//! The container's PID 1 before it becomes the command: runs in the new namespaces, waits
//! for the monitor to write its id maps and join it to the cgroup, builds the root
//! filesystem, drops privileges and execs. Any failure is reported to the monitor over the
//! sync socket as "<errno>\n<message>" and ends the process; a successful exec closes the
//! socket (it is close-on-exec), which the monitor reads as "started".

use crate::rootfs::{self, Layout};
use crate::spec::ContainerSpec;
use crate::sys::{self, Context, Result};
use crate::{caps, seccomp, user};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;

/// The writable layer's tmpfs size unless the spec says otherwise.
pub const DEFAULT_SCRATCH_BYTES: u64 = 1 << 30;

pub struct ChildInput<'a> {
    pub spec: &'a ContainerSpec,
    /// The run's directory: its parent is the state root.
    pub run_dir: &'a str,
    /// Open `tasks` files of the run's v1 cgroups: writing "0" moves just this thread,
    /// which the kernel does without the global lock a move by pid needs (ms → µs).
    pub cgroup_tasks: &'a [OwnedFd],
    pub rootless: bool,
    /// The monitor mounted the scratch tmpfs at `<run dir>/scratch` (kept_scratch.rs).
    pub kept_scratch: bool,
    /// The seccomp BPF program to load last (None: the spec turned seccomp off).
    pub seccomp: Option<&'a [u8]>,
    pub sync: OwnedFd,
}

/// Never returns: execs the command or exits with status 1 after reporting why not.
pub fn run(input: ChildInput) -> ! {
    let sync = input.sync.as_raw_fd();
    let err = match setup_and_exec(&input) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = sys::write_all(sync, format!("{}\n{}", err.errno, err.what).as_bytes());
    sys::exit_now(1)
}

enum Never {}

fn setup_and_exec(input: &ChildInput) -> Result<Never> {
    let spec = input.spec;
    // If the monitor dies, so do we (and with PID 1 the whole namespace).
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)?;
    for tasks in input.cgroup_tasks {
        sys::write_all(tasks.as_raw_fd(), b"0").context(|| "join the run's cgroup".into())?;
    }
    let mut go = [0u8; 1];
    if sys::read(input.sync.as_raw_fd(), &mut go)? != 1 {
        return sys::err("the monitor went away before the container started");
    }
    // Open the layers and bind sources while our fs ids are still the caller's (host root
    // or the rootless user), who can walk their paths (the mapped root may not: e.g. a store
    // under /root, mode 700). They must be opened here, in the new mount namespace:
    // overlayfs and bind mounts refuse mounts of another namespace.
    let open_dir = |p: &str| sys::open(p, libc::O_PATH | libc::O_DIRECTORY, 0);
    let lowers: Vec<OwnedFd> = spec.lower_dirs.iter().map(|p| open_dir(p)).collect::<Result<_>>()?;
    let (state_root_path, run_name) = input.run_dir.rsplit_once('/').ok_or_else(|| sys::Error { what: "run dir must be absolute".into(), errno: libc::EINVAL })?;
    let state_root = open_dir(if state_root_path.is_empty() { "/" } else { state_root_path })?;
    let run_dir = open_dir(input.run_dir)?;
    let bind_sources: Vec<OwnedFd> =
        spec.mounts.iter().map(|m| sys::open(&m.host_path, libc::O_PATH, 0).context(|| format!("bind mount source {}", m.host_path))).collect::<Result<_>>()?;
    let layout = Layout {
        lowers: &lowers,
        state_root: &state_root,
        run_dir: &run_dir,
        run_name,
        scratch_bytes: spec.scratch_bytes.unwrap_or(DEFAULT_SCRATCH_BYTES),
        keep_changes: spec.keep_changes,
        kept_scratch: input.kept_scratch,
        hostname: &spec.hostname,
        rootless: input.rootless,
        tty: spec.tty,
        binds: &spec.mounts,
        bind_sources: &bind_sources,
    };

    // Maps are written: become the namespace's root (host id = the mapped base).
    sys::setresgid(0)?;
    sys::setresuid(0)?;
    // The cgroup namespace is entered only now, after the monitor moved us into the run's
    // cgroup, so that cgroup becomes this container's "/".
    sys::unshare(libc::CLONE_NEWCGROUP)?;
    sys::sethostname(&spec.hostname)?;
    sys::loopback_up()?;
    if let Some(network) = &spec.network {
        crate::net::configure_inside(network).context(|| "configure the container's eth0".into())?;
    }

    rootfs::build(&layout).context(|| "prepare the root filesystem".into())?;
    rootfs::mask_and_protect().context(|| "mask /proc and /sys".into())?;

    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let who = user::resolve(&spec.user, &passwd, &group)?;
    if input.rootless && (who.uid != 0 || who.gid != 0) {
        return sys::err(format!(
            "user {:?} (uid {}, gid {}) cannot run rootless: only the caller's own id is mapped (to root); run boxplay as root to use the image's users",
            spec.user, who.uid, who.gid
        ));
    }

    let mut env: Vec<String> = spec.env.clone();
    let has = |env: &[String], k: &str| env.iter().any(|e| e.split_once('=').map_or(e == k, |(n, _)| n == k));
    if !has(&env, "HOSTNAME") {
        env.push(format!("HOSTNAME={}", spec.hostname));
    }
    if !has(&env, "HOME") {
        env.push(format!("HOME={}", who.home.clone().unwrap_or_else(|| "/".into())));
    }
    if spec.tty && !has(&env, "TERM") {
        env.push("TERM=xterm".into());
    }

    // Docker creates a missing WorkingDir (as root, before switching user).
    if !spec.cwd.is_empty() && spec.cwd != "/" {
        std::fs::create_dir_all(&spec.cwd).context(|| format!("create the working directory {}", spec.cwd))?;
        if who.uid != 0 {
            let _ = std::fs::set_permissions(&spec.cwd, std::fs::Permissions::from_mode(0o755));
        }
    }

    for r in &spec.rlimits {
        sys::setrlimit(rlimit_resource(&r.kind)?, r.soft, r.hard)?;
    }

    let program = find_program(&spec.argv, &env)?;
    let keep = match &spec.capabilities {
        Some(list) => caps::mask_of(list)?,
        None => caps::mask_of(caps::DOCKER_DEFAULT)?,
    };

    // setsid: the command leads its own session, so it can never reach the host's terminal;
    // with a pty it also takes that terminal as its controlling tty.
    if spec.tty {
        sys::setsid_and_controlling_tty(0)?;
    } else {
        // SAFETY: plain syscall; failure (already a leader) is harmless.
        unsafe { libc::setsid() };
    }

    caps::limit_bounding(keep)?;
    if input.rootless {
        // setgroups is denied in a rootless user namespace; the process keeps none anyway.
    } else {
        sys::setgroups(&who.groups)?;
    }
    sys::setresgid(who.gid)?;
    sys::setresuid(who.uid)?;
    // Changing credentials cleared the parent-death signal: set it again, then make sure the
    // monitor did not die in between (its end of the sync socket would have hung up).
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)?;
    if sys::hung_up(input.sync.as_raw_fd()) {
        return sys::err("the monitor went away while the container was starting");
    }
    sys::chdir(if spec.cwd.is_empty() { "/" } else { &spec.cwd })?;
    caps::apply_final(keep, who.uid == 0)?;
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)?;
    if let Some(program) = input.seccomp {
        seccomp::load(program)?;
    }

    let argv: Vec<CString> = spec.argv.iter().map(|a| sys::cstr(a)).collect::<Result<_>>()?;
    let envc: Vec<CString> = env.iter().map(|a| sys::cstr(a)).collect::<Result<_>>()?;
    Err(sys::execve(&program, &argv, &envc))
}

/// argv[0] as Docker finds it: a path as is, a bare name through the container's PATH.
pub(crate) fn find_program(argv: &[String], env: &[String]) -> Result<CString> {
    let name = argv.first().ok_or_else(|| sys::Error { what: "no command to run".into(), errno: libc::EINVAL })?;
    if name.contains('/') {
        return sys::cstr(name);
    }
    let path = env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = format!("{dir}/{name}");
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return sys::cstr(&candidate);
            }
        }
    }
    Err(sys::Error { what: format!("exec: \"{name}\": executable file not found in $PATH"), errno: libc::ENOENT })
}

pub(crate) fn rlimit_resource(kind: &str) -> Result<libc::c_int> {
    let k = kind.trim_start_matches("RLIMIT_").to_ascii_uppercase();
    Ok(match k.as_str() {
        "NOFILE" => libc::RLIMIT_NOFILE,
        "NPROC" => libc::RLIMIT_NPROC,
        "CORE" => libc::RLIMIT_CORE,
        "STACK" => libc::RLIMIT_STACK,
        "AS" => libc::RLIMIT_AS,
        "CPU" => libc::RLIMIT_CPU,
        "FSIZE" => libc::RLIMIT_FSIZE,
        "DATA" => libc::RLIMIT_DATA,
        "MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "NICE" => libc::RLIMIT_NICE,
        "RTPRIO" => libc::RLIMIT_RTPRIO,
        "SIGPENDING" => libc::RLIMIT_SIGPENDING,
        _ => return sys::err(format!("unknown rlimit {kind:?}")),
    } as libc::c_int)
}
