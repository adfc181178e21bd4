//! The container's root filesystem, built inside its own user + mount namespace:
//! overlayfs over the image layers, /proc, a minimal /dev, read-only /sys, the files every
//! container expects in /etc, then pivot_root and runc's default masked / read-only paths.
//!
//! Every mount target is opened with `open_in_root` (RESOLVE_IN_ROOT) and mounted through
//! its /proc/self/fd path, so a hostile image's symlinks cannot aim a mount at the host.

use crate::sys::{self, Context, Result};
use std::os::fd::{AsRawFd, OwnedFd};

const NOSUID: libc::c_ulong = libc::MS_NOSUID;
const NODEV: libc::c_ulong = libc::MS_NODEV;
const NOEXEC: libc::c_ulong = libc::MS_NOEXEC;

/// Device nodes bind-mounted from the host (mknod is not allowed in a user namespace).
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// runc's default masked paths: files get /dev/null, directories an empty read-only tmpfs.
const MASKED: &[&str] = &[
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
];
const READONLY: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

pub struct Layout<'a> {
    pub lowers: &'a [OwnedFd],
    /// The state root and the run's directory in it (opened before dropping to the mapped
    /// root, which may not be able to walk their path).
    pub state_root: &'a OwnedFd,
    pub run_dir: &'a OwnedFd,
    pub run_name: &'a str,
    /// Size of the tmpfs holding the overlay's upper and work dirs.
    pub scratch_bytes: u64,
    /// Put upper/work straight in the run dir on the host (no tmpfs), so the writes outlive
    /// the mount namespace for the monitor to hand over.
    pub keep_changes: bool,
    /// With `keep_changes` as root: upper/work go on the scratch tmpfs the monitor mounted
    /// at `<run dir>/scratch` (bounded; the monitor copies the upper dir out after the run).
    pub kept_scratch: bool,
    pub hostname: &'a str,
    pub rootless: bool,
    pub tty: bool,
    pub binds: &'a [crate::spec::BindMount],
    /// O_PATH fds of the bind sources (same order as `binds`).
    pub bind_sources: &'a [OwnedFd],
}

/// Creates (if needed) and opens the directory `path` inside `root`, one component at a time.
fn mkdir_in_root(root: &OwnedFd, path: &str) -> Result<OwnedFd> {
    let mut dir = sys::open_in_root(root.as_raw_fd(), "/", libc::O_PATH | libc::O_DIRECTORY, 0)?;
    let mut so_far = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        so_far.push('/');
        so_far.push_str(part);
        match sys::open_in_root(root.as_raw_fd(), &so_far, libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(fd) => dir = fd,
            Err(e) if e.errno == libc::ENOENT => {
                let parent = sys::open_in_root(root.as_raw_fd(), so_far.rsplit_once('/').map_or("/", |(p, _)| if p.is_empty() { "/" } else { p }), libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                sys::mkdirat(parent.as_raw_fd(), part, 0o755)?;
                dir = match sys::open_in_root(root.as_raw_fd(), &so_far, libc::O_PATH | libc::O_DIRECTORY, 0) {
                    // Still missing: a dangling symlink is in the way (e.g. an image's /dev
                    // pointing at a host path). The runtime owns its mount points: replace it.
                    Err(e) if e.errno == libc::ENOENT => {
                        sys::unlinkat(parent.as_raw_fd(), part, 0)?;
                        sys::mkdirat(parent.as_raw_fd(), part, 0o755)?;
                        sys::open_in_root(root.as_raw_fd(), &so_far, libc::O_PATH | libc::O_DIRECTORY, 0)?
                    }
                    other => other?,
                };
            }
            Err(e) => return Err(e),
        }
    }
    Ok(dir)
}

/// Creates (if needed) and opens the regular file `path` inside `root`, for a bind target.
fn file_in_root(root: &OwnedFd, path: &str) -> Result<OwnedFd> {
    if let Some((parent, _)) = path.rsplit_once('/') {
        if !parent.is_empty() {
            mkdir_in_root(root, parent)?;
        }
    }
    sys::open_in_root(root.as_raw_fd(), path, libc::O_CREAT | libc::O_RDONLY | libc::O_NOFOLLOW, 0o644)
        .or_else(|_| sys::open_in_root(root.as_raw_fd(), path, libc::O_PATH, 0))
}

fn mount_at(target: &OwnedFd, src: Option<&str>, fstype: Option<&str>, flags: libc::c_ulong, data: Option<&str>) -> Result<()> {
    sys::mount(src, &sys::fd_path(target), fstype, flags, data)
}

/// Writes a file the runtime provides (/etc/hosts …). Whatever the image has there, a
/// symlink included, is replaced: its target, even inside the root, is not ours to write.
fn write_in_root(root: &OwnedFd, path: &str, content: &str) -> Result<()> {
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let dir = if parent.is_empty() { sys::open_in_root(root.as_raw_fd(), "/", libc::O_RDONLY | libc::O_DIRECTORY, 0)? } else {
        mkdir_in_root(root, parent)?;
        sys::open_in_root(root.as_raw_fd(), parent, libc::O_RDONLY | libc::O_DIRECTORY, 0)?
    };
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_NOFOLLOW;
    let fd = match sys::open_in_root(dir.as_raw_fd(), name, flags, 0o644) {
        Err(e) if e.errno == libc::ELOOP || e.errno == libc::EISDIR => {
            sys::unlinkat(dir.as_raw_fd(), name, if e.errno == libc::EISDIR { libc::AT_REMOVEDIR } else { 0 })?;
            sys::open_in_root(dir.as_raw_fd(), name, flags, 0o644)?
        }
        other => other?,
    };
    sys::write_all(fd.as_raw_fd(), content.as_bytes()).context(|| format!("write {path}"))
}

/// Everything up to and including pivot_root; afterwards `/` is the container's root.
pub fn build(l: &Layout) -> Result<()> {
    // Nothing we mount may propagate back to the host's mount namespace.
    sys::mount(None, "/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;

    // The container's writable layer lives on a tmpfs mounted over the run dir inside this
    // mount namespace only: when the namespace ends, every byte written goes with it, so a
    // crash cannot leave a container's files on the host. (It is charged to the container's
    // memory cgroup, like any tmpfs page it writes.)
    if !l.keep_changes {
        let size = format!("mode=0755,size={}", l.scratch_bytes);
        sys::mount(Some("boxplay"), &sys::fd_path(l.run_dir), Some("tmpfs"), NOSUID | NODEV, Some(&size)).context(|| "mount the run's scratch tmpfs".into())?;
    }
    let scratch = if l.kept_scratch {
        sys::openat(l.run_dir.as_raw_fd(), "scratch", libc::O_RDONLY | libc::O_DIRECTORY)?
    } else {
        // Looked up again by name, to land on what was just mounted over it.
        sys::openat(l.state_root.as_raw_fd(), l.run_name, libc::O_RDONLY | libc::O_DIRECTORY)?
    };
    for d in ["upper", "work", "rootfs"] {
        sys::mkdirat(scratch.as_raw_fd(), d, 0o755)?;
    }
    let open_sub = |d: &str| sys::openat(scratch.as_raw_fd(), d, libc::O_PATH | libc::O_DIRECTORY);
    let (upper, work, mount_point) = (open_sub("upper")?, open_sub("work")?, open_sub("rootfs")?);
    let lowers: Vec<String> = l.lowers.iter().map(sys::fd_path).collect();
    let options = format!("lowerdir={},upperdir={},workdir={},userxattr", lowers.join(":"), sys::fd_path(&upper), sys::fd_path(&work));
    sys::mount(Some("overlay"), &sys::fd_path(&mount_point), Some("overlay"), 0, Some(&options))
        .context(|| "mount the image layers (overlayfs)".into())?;
    let root = sys::openat(scratch.as_raw_fd(), "rootfs", libc::O_PATH | libc::O_DIRECTORY)?;

    mount_at(&mkdir_in_root(&root, "/proc")?, Some("proc"), Some("proc"), NOSUID | NODEV | NOEXEC, None)?;
    let dev = mkdir_in_root(&root, "/dev")?;
    mount_at(&dev, Some("tmpfs"), Some("tmpfs"), NOSUID | libc::MS_STRICTATIME, Some("mode=755,size=65536k"))?;
    for name in DEVICES {
        let target = file_in_root(&root, &format!("/dev/{name}"))?;
        sys::mount(Some(&format!("/dev/{name}")), &sys::fd_path(&target), None, libc::MS_BIND, None)?;
    }
    let pts_options = if l.rootless { "newinstance,ptmxmode=0666,mode=0620" } else { "newinstance,ptmxmode=0666,mode=0620,gid=5" };
    mount_at(&mkdir_in_root(&root, "/dev/pts")?, Some("devpts"), Some("devpts"), NOSUID | NOEXEC, Some(pts_options))?;
    mount_at(&mkdir_in_root(&root, "/dev/shm")?, Some("shm"), Some("tmpfs"), NOSUID | NODEV | NOEXEC, Some("mode=1777,size=65536k"))?;
    let _ = mkdir_in_root(&root, "/dev/mqueue").and_then(|t| mount_at(&t, Some("mqueue"), Some("mqueue"), NOSUID | NODEV | NOEXEC, None));
    let dev_dir = sys::open_in_root(root.as_raw_fd(), "/dev", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    for (link, to) in [("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore")] {
        symlinkat(to, &dev_dir, link)?;
    }
    if l.tty {
        // The terminal the process runs on, as Docker shows it. Bound by its path (e.g.
        // /dev/pts/3): an fd's mount belongs to the host's namespace, which bind refuses.
        if let Ok(pts) = std::fs::read_link("/proc/self/fd/0") {
            let console = file_in_root(&root, "/dev/console")?;
            sys::mount(Some(&pts.to_string_lossy()), &sys::fd_path(&console), None, libc::MS_BIND, None).context(|| "bind the terminal to /dev/console".into())?;
        }
    }

    let sys_dir = mkdir_in_root(&root, "/sys")?;
    // sysfs may be mounted in a user namespace that owns its network namespace (ours does);
    // if the kernel still refuses, fall back to a read-only recursive bind of the host's.
    if mount_at(&sys_dir, Some("sysfs"), Some("sysfs"), libc::MS_RDONLY | NOSUID | NODEV | NOEXEC, None).is_err() {
        sys::mount(Some("/sys"), &sys::fd_path(&sys_dir), None, libc::MS_BIND | libc::MS_REC, None)?;
        remount_readonly(&sys::fd_path(&sys::open_in_root(root.as_raw_fd(), "/sys", libc::O_PATH, 0)?))?;
    }

    for (bind, src) in l.binds.iter().zip(l.bind_sources) {
        let is_dir = std::fs::metadata(sys::fd_path(src)).map(|m| m.is_dir()).unwrap_or(false);
        let target = if is_dir { mkdir_in_root(&root, &bind.guest_path)? } else { file_in_root(&root, &bind.guest_path)? };
        sys::mount(Some(&sys::fd_path(src)), &sys::fd_path(&target), None, libc::MS_BIND | libc::MS_REC, None)?;
        if bind.readonly {
            // Opened again to get the bind mount itself, not the directory under it.
            let mounted = sys::open_in_root(root.as_raw_fd(), &bind.guest_path, libc::O_PATH, 0)?;
            remount_readonly(&sys::fd_path(&mounted))?;
        }
    }

    // A file the caller binds in (a network's shared /etc/hosts, kept current by
    // server/net/) is theirs: it is not written over.
    let bound = |path: &str| l.binds.iter().any(|b| b.guest_path.trim_end_matches('/') == path);
    write_in_root(&root, "/etc/hostname", &format!("{}\n", l.hostname))?;
    if !bound("/etc/hosts") {
        write_in_root(&root, "/etc/hosts", &format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n", l.hostname))?;
    }
    if !bound("/etc/resolv.conf") {
        let why = if bound("/etc/hosts") { "names on this container's network are in /etc/hosts; there is no DNS server" } else { "this container's network namespace has only loopback" };
        write_in_root(&root, "/etc/resolv.conf", &format!("# boxplay: {why}\nnameserver 127.0.0.1\n"))?;
    }

    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
    // only the container's tree (runc's trick: no put_old directory needed in the image).
    let root_dir = sys::openat(scratch.as_raw_fd(), "rootfs", libc::O_RDONLY | libc::O_DIRECTORY)?;
    sys::fchdir(root_dir.as_raw_fd())?;
    sys::pivot_root(".", ".")?;
    sys::mount(None, ".", None, libc::MS_REC | libc::MS_SLAVE, None)?;
    sys::umount2(".", libc::MNT_DETACH).context(|| "detach the host's root".into())?;
    sys::chdir("/")?;
    Ok(())
}

fn symlinkat(to: &str, dir: &OwnedFd, name: &str) -> Result<()> {
    let a = sys::cstr(to)?;
    let b = sys::cstr(name)?;
    // SAFETY: both strings are NUL-terminated and live for the call; dir is an open fd.
    let ret = unsafe { libc::symlinkat(a.as_ptr(), dir.as_raw_fd(), b.as_ptr()) };
    if ret < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e).context(|| format!("symlink /dev/{name}"));
        }
    }
    Ok(())
}

/// Makes the bind mount at `path` read-only, keeping the flags it has: in a user namespace
/// the kernel refuses to clear nosuid/nodev/noexec/atime flags locked by the host.
fn remount_readonly(path: &str) -> Result<()> {
    let keep = sys::mount_flags(path)?;
    sys::mount(None, path, None, libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep, None)
}

/// After pivot_root: hide and freeze the parts of /proc and /sys a container must not touch.
pub fn mask_and_protect() -> Result<()> {
    for path in MASKED {
        let Ok(meta) = std::fs::symlink_metadata(path) else { continue };
        if meta.is_dir() {
            sys::mount(Some("tmpfs"), path, Some("tmpfs"), libc::MS_RDONLY | NOSUID | NODEV | NOEXEC, Some("size=0"))?;
        } else {
            sys::mount(Some("/dev/null"), path, None, libc::MS_BIND, None)?;
        }
    }
    for path in READONLY {
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        sys::mount(Some(path), path, None, libc::MS_BIND | libc::MS_REC, None)?;
        remount_readonly(path)?;
    }
    Ok(())
}
