//! The syscall layer: every `unsafe` of the container crate except the libseccomp FFI lives
//! here, each wrapped so callers get a `Result` that names what failed.

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A failed step: what we tried, and the errno the kernel gave.
#[derive(Debug, Clone)]
pub struct Error {
    pub what: String,
    pub errno: i32,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errno == 0 {
            write!(f, "{}", self.what)
        } else {
            // The OS text without Rust's " (os error N)" suffix: the message is for people.
            let text = std::io::Error::from_raw_os_error(self.errno).to_string();
            let text = text.rsplit_once(" (os error").map_or(text.as_str(), |(t, _)| t);
            write!(f, "{}: {}", self.what, text)
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

pub fn err<T>(what: impl Into<String>) -> Result<T> {
    Err(Error { what: what.into(), errno: 0 })
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// Turns a -1 return into an `Error` naming `what`.
fn check(ret: libc::c_long, what: impl FnOnce() -> String) -> Result<libc::c_long> {
    if ret < 0 {
        Err(Error { what: what(), errno: errno() })
    } else {
        Ok(ret)
    }
}

pub fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error { what: format!("{s:?} contains a NUL byte"), errno: libc::EINVAL })
}

pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error { what: what(), errno: e.raw_os_error().unwrap_or(0) })
    }
}

impl<T> Context<T> for Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error { what: format!("{}: {}", what(), e.what), errno: e.errno })
    }
}

/// clone(2) without a new stack: like fork, but entering new namespaces at once.
/// Only call from a single-threaded process (the helper is one), as with fork.
pub fn clone_process(flags: libc::c_int) -> Result<libc::pid_t> {
    // SAFETY: raw clone with a NULL stack behaves like fork(2): the child gets a copy of
    // this (single-threaded) address space, so no other thread's lock can be held in it.
    let ret = unsafe {
        libc::syscall(libc::SYS_clone, (flags | libc::SIGCHLD) as libc::c_ulong, 0usize, 0usize, 0usize, 0usize)
    };
    check(ret, || "clone a process into new namespaces".into()).map(|p| p as libc::pid_t)
}

pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd> {
    // SAFETY: plain syscall; on success the returned fd is new and ours to own.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = check(ret, || format!("pidfd_open({pid})"))?;
    // SAFETY: fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: RawFd, signal: i32) -> Result<()> {
    // SAFETY: plain syscall with a NULL siginfo.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd, signal, 0usize, 0u32) };
    check(ret, || format!("send signal {signal} to the container")).map(drop)
}

pub fn kill(pid: libc::pid_t, signal: i32) -> Result<()> {
    // SAFETY: plain syscall.
    let ret = unsafe { libc::kill(pid, signal) };
    check(ret as libc::c_long, || format!("kill({pid}, {signal})")).map(drop)
}

pub fn mount(src: Option<&str>, target: &str, fstype: Option<&str>, flags: libc::c_ulong, data: Option<&str>) -> Result<()> {
    let c_src = src.map(cstr).transpose()?;
    let c_target = cstr(target)?;
    let c_fstype = fstype.map(cstr).transpose()?;
    let c_data = data.map(cstr).transpose()?;
    // SAFETY: every pointer is either NULL or a NUL-terminated string alive for the call.
    let ret = unsafe {
        libc::mount(
            c_src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            c_target.as_ptr(),
            c_fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            c_data.as_ref().map_or(std::ptr::null(), |s| s.as_ptr() as *const libc::c_void),
        )
    };
    check(ret as libc::c_long, || {
        format!("mount {} on {target} (type {}, flags {flags:#x}, {})", src.unwrap_or("-"), fstype.unwrap_or("-"), data.unwrap_or(""))
    })
    .map(drop)
}

/// The per-mount flags (MS_NOSUID, MS_NODEV, MS_NOEXEC, atime) of the mount holding `path`.
pub fn mount_flags(path: &str) -> Result<libc::c_ulong> {
    let c = cstr(path)?;
    // SAFETY: statvfs is plain old data; all-zero is valid and the kernel fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is NUL-terminated and st is a valid out-pointer.
    let ret = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    check(ret as libc::c_long, || format!("statvfs {path}"))?;
    let f = st.f_flag;
    let mut flags = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    Ok(flags)
}

pub fn umount2(target: &str, flags: libc::c_int) -> Result<()> {
    let c = cstr(target)?;
    // SAFETY: c is a valid NUL-terminated path.
    let ret = unsafe { libc::umount2(c.as_ptr(), flags) };
    check(ret as libc::c_long, || format!("unmount {target}")).map(drop)
}

pub fn pivot_root(new_root: &str, put_old: &str) -> Result<()> {
    let a = cstr(new_root)?;
    let b = cstr(put_old)?;
    // SAFETY: both are valid NUL-terminated paths.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, a.as_ptr(), b.as_ptr()) };
    check(ret, || "pivot_root into the container's root".into()).map(drop)
}

pub fn chdir(path: &str) -> Result<()> {
    let c = cstr(path)?;
    // SAFETY: c is a valid NUL-terminated path.
    let ret = unsafe { libc::chdir(c.as_ptr()) };
    check(ret as libc::c_long, || format!("chdir {path}")).map(drop)
}

pub fn fchdir(fd: RawFd) -> Result<()> {
    // SAFETY: plain syscall on an fd we hold.
    let ret = unsafe { libc::fchdir(fd) };
    check(ret as libc::c_long, || "fchdir".into()).map(drop)
}

pub fn open(path: &str, flags: libc::c_int, mode: libc::mode_t) -> Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: c is a valid NUL-terminated path; the fd returned is new.
    let ret = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) };
    let fd = check(ret as libc::c_long, || format!("open {path}"))?;
    // SAFETY: fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn openat(dir: RawFd, name: &str, flags: libc::c_int) -> Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: c is a valid NUL-terminated name relative to an fd we hold; the fd returned is new.
    let ret = unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC) };
    let fd = check(ret as libc::c_long, || format!("open {name}"))?;
    // SAFETY: fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// Opens `path` as if `root` were `/`: `..` and absolute symlinks cannot leave it, so a
/// hostile image cannot point a mount target or a config file at the host.
pub fn open_in_root(root: RawFd, path: &str, flags: libc::c_int, mode: libc::mode_t) -> Result<OwnedFd> {
    let rel = path.trim_start_matches('/');
    let c = cstr(if rel.is_empty() { "." } else { rel })?;
    let how = OpenHow { flags: (flags | libc::O_CLOEXEC) as u64, mode: mode as u64, resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    // SAFETY: `how` is a correctly laid out struct open_how and its size is passed.
    let ret = unsafe { libc::syscall(libc::SYS_openat2, root, c.as_ptr(), &how as *const OpenHow, std::mem::size_of::<OpenHow>()) };
    let fd = check(ret, || format!("open {path} inside the container's root"))?;
    // SAFETY: fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn mkdirat(dir: RawFd, name: &str, mode: libc::mode_t) -> Result<()> {
    let c = cstr(name)?;
    // SAFETY: c is a valid NUL-terminated name relative to an fd we hold.
    let ret = unsafe { libc::mkdirat(dir, c.as_ptr(), mode) };
    if ret < 0 && errno() == libc::EEXIST {
        return Ok(());
    }
    check(ret as libc::c_long, || format!("mkdir {name}")).map(drop)
}

pub fn unlinkat(dir: RawFd, name: &str, flags: libc::c_int) -> Result<()> {
    let c = cstr(name)?;
    // SAFETY: c is a valid NUL-terminated name relative to an fd we hold.
    let ret = unsafe { libc::unlinkat(dir, c.as_ptr(), flags) };
    check(ret as libc::c_long, || format!("remove {name}")).map(drop)
}

/// The path that names an open fd, for syscalls that only take paths (mount, overlay options).
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

pub fn sethostname(name: &str) -> Result<()> {
    // SAFETY: pointer and length describe `name`'s bytes.
    let ret = unsafe { libc::sethostname(name.as_ptr() as *const libc::c_char, name.len()) };
    check(ret as libc::c_long, || format!("set hostname {name:?}")).map(drop)
}

/// Joins the namespace `fd` refers to (`nstype` says which kind it must be).
pub fn setns(fd: RawFd, nstype: libc::c_int) -> Result<()> {
    // SAFETY: plain syscall on a namespace fd this process holds.
    let ret = unsafe { libc::setns(fd, nstype) };
    check(ret as libc::c_long, || format!("setns({nstype:#x})")).map(drop)
}

pub fn chroot(path: &str) -> Result<()> {
    let c = cstr(path)?;
    // SAFETY: c is a valid NUL-terminated path.
    let ret = unsafe { libc::chroot(c.as_ptr()) };
    check(ret as libc::c_long, || format!("chroot {path}")).map(drop)
}

/// A new pseudo-terminal of this size: (master, slave), both close-on-exec.
pub fn openpty(cols: u16, rows: u16) -> Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave) = (0 as RawFd, 0 as RawFd);
    let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: out-pointers are valid; NULL name and termios are allowed.
    let ret = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    check(ret as libc::c_long, || "openpty".into())?;
    // SAFETY: both fds were just created and are owned by nobody else.
    unsafe {
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
        Ok((OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)))
    }
}

/// Makes `to` a copy of `from` (not close-on-exec: it is meant to survive an exec).
pub fn dup2(from: RawFd, to: RawFd) -> Result<()> {
    // SAFETY: plain syscall on descriptors this process owns.
    let ret = unsafe { libc::dup2(from, to) };
    check(ret as libc::c_long, || format!("dup2({from}, {to})")).map(drop)
}

/// A new session with no controlling terminal; failing (already a leader) is harmless.
pub fn setsid() {
    // SAFETY: plain syscall.
    unsafe { libc::setsid() };
}

pub fn unshare(flags: libc::c_int) -> Result<()> {
    // SAFETY: plain syscall.
    let ret = unsafe { libc::unshare(flags) };
    check(ret as libc::c_long, || format!("unshare({flags:#x})")).map(drop)
}

pub fn setresuid(uid: u32) -> Result<()> {
    // SAFETY: plain syscall (raw, so glibc does not broadcast it to other threads: there are none).
    let ret = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    check(ret, || format!("set uid {uid}")).map(drop)
}

pub fn setresgid(gid: u32) -> Result<()> {
    // SAFETY: plain syscall.
    let ret = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    check(ret, || format!("set gid {gid}")).map(drop)
}

pub fn setgroups(groups: &[u32]) -> Result<()> {
    // SAFETY: pointer and length describe `groups`.
    let ret = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    check(ret, || format!("set supplementary groups {groups:?}")).map(drop)
}

pub fn prctl(option: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> Result<()> {
    // SAFETY: the prctl options used here take integer arguments only.
    let ret = unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    check(ret as libc::c_long, || format!("prctl({option}, {arg2})")).map(drop)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}
const CAP_V3: u32 = 0x2008_0522;

/// Sets the effective, permitted and inheritable sets (64-bit masks) of this thread.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
    let header = CapHeader { version: CAP_V3, pid: 0 };
    let data = [
        CapData { effective: effective as u32, permitted: permitted as u32, inheritable: inheritable as u32 },
        CapData { effective: (effective >> 32) as u32, permitted: (permitted >> 32) as u32, inheritable: (inheritable >> 32) as u32 },
    ];
    // SAFETY: header and the two-element data array are the layout capset(2) v3 expects.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    check(ret, || "set capabilities".into()).map(drop)
}

pub fn setrlimit(resource: libc::c_int, soft: u64, hard: u64) -> Result<()> {
    let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: lim is a valid rlimit.
    let ret = unsafe { libc::setrlimit(resource as _, &lim) };
    check(ret as libc::c_long, || format!("setrlimit({resource}, {soft}, {hard})")).map(drop)
}

/// Brings the loopback interface of the current network namespace up.
pub fn loopback_up() -> Result<()> {
    set_link_flags("lo", libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING)
}

/// Brings interface `name` of the current network namespace up.
pub fn link_up(name: &str) -> Result<()> {
    set_link_flags(name, libc::IFF_UP | libc::IFF_BROADCAST | libc::IFF_MULTICAST)
}

fn set_link_flags(name: &str, flags: libc::c_int) -> Result<()> {
    // SAFETY: a plain datagram socket, closed below via OwnedFd.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let s = check(s as libc::c_long, || format!("socket for configuring {name}"))?;
    // SAFETY: s was just returned by the kernel.
    let sock = unsafe { OwnedFd::from_raw_fd(s as RawFd) };
    let mut req = ifreq_for(name)?;
    req.ifr_ifru.ifru_flags = flags as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads an ifreq we own for the duration of the call.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req as *const libc::ifreq) };
    check(ret as libc::c_long, || format!("bring {name} up")).map(drop)
}

pub fn setsid_and_controlling_tty(fd: RawFd) -> Result<()> {
    // SAFETY: plain syscalls; TIOCSCTTY takes an int argument.
    unsafe {
        check(libc::setsid() as libc::c_long, || "setsid".into())?;
        check(libc::ioctl(fd, libc::TIOCSCTTY, 0) as libc::c_long, || "make the terminal the controlling tty".into())?;
    }
    Ok(())
}

pub fn socketpair_seqpacket() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for the two descriptors the kernel writes.
    let ret = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    check(ret as libc::c_long, || "socketpair".into())?;
    // SAFETY: both fds were just returned by the kernel.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let ret = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if ret < 0 && errno() == libc::EINTR {
            continue;
        }
        return check(ret as libc::c_long, || "read".into()).map(|n| n as usize);
    }
}

pub fn write_all(fd: RawFd, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        // SAFETY: buf is valid for reads of buf.len() bytes.
        let ret = unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len()) };
        if ret < 0 && errno() == libc::EINTR {
            continue;
        }
        let n = check(ret as libc::c_long, || "write".into())? as usize;
        buf = &buf[n..];
    }
    Ok(())
}

/// Waits for `pid` and returns its raw wait status.
pub fn waitpid(pid: libc::pid_t, flags: libc::c_int) -> Result<Option<libc::c_int>> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let ret = unsafe { libc::waitpid(pid, &mut status, flags) };
        if ret < 0 && errno() == libc::EINTR {
            continue;
        }
        let r = check(ret as libc::c_long, || format!("wait for {pid}"))?;
        return Ok(if r == 0 { None } else { Some(status) });
    }
}

/// Waits until one of `fds` is readable (or hung up); returns their revents.
pub fn poll(fds: &[RawFd], timeout_ms: i32) -> Result<Vec<i16>> {
    let mut pfds: Vec<libc::pollfd> = fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    loop {
        // SAFETY: pfds is a valid array of pollfd of the given length.
        let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        if ret < 0 && errno() == libc::EINTR {
            continue;
        }
        check(ret as libc::c_long, || "poll".into())?;
        return Ok(pfds.iter().map(|p| p.revents).collect());
    }
}

/// True when the peer of a socket has closed its end (checked without blocking).
pub fn hung_up(fd: RawFd) -> bool {
    let mut p = libc::pollfd { fd, events: 0, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout.
    let ret = unsafe { libc::poll(&mut p, 1, 0) };
    ret > 0 && p.revents & (libc::POLLHUP | libc::POLLERR) != 0
}

pub fn execve(path: &CStr, argv: &[CString], env: &[CString]) -> Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = env.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of NUL-terminated strings that outlive the call.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    Error { what: format!("exec {}", path.to_string_lossy()), errno: errno() }
}

pub fn lchown(path: &CStr, uid: u32, gid: u32) -> Result<()> {
    // SAFETY: path is a valid NUL-terminated string.
    let ret = unsafe { libc::lchown(path.as_ptr(), uid, gid) };
    check(ret as libc::c_long, || format!("chown {}", path.to_string_lossy())).map(drop)
}

pub fn chmod(path: &CStr, mode: u32) -> Result<()> {
    // SAFETY: path is a valid NUL-terminated string.
    let ret = unsafe { libc::chmod(path.as_ptr(), mode) };
    check(ret as libc::c_long, || format!("chmod {}", path.to_string_lossy())).map(drop)
}

pub fn lgetxattr(path: &CStr, name: &str) -> Option<Vec<u8>> {
    let n = cstr(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: buf is valid for writes of its length.
    let ret = unsafe { libc::lgetxattr(path.as_ptr(), n.as_ptr(), buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    if ret < 0 {
        return None;
    }
    buf.truncate(ret as usize);
    Some(buf)
}

pub fn lsetxattr(path: &CStr, name: &str, value: &[u8]) -> Result<()> {
    let n = cstr(name)?;
    // SAFETY: value is valid for reads of its length.
    let ret = unsafe { libc::lsetxattr(path.as_ptr(), n.as_ptr(), value.as_ptr() as *const libc::c_void, value.len(), 0) };
    check(ret as libc::c_long, || format!("set xattr {name} on {}", path.to_string_lossy())).map(drop)
}

/// mknod for a whiteout (a 0/0 character device), which host root may make.
pub fn mknod_whiteout(path: &CStr) -> Result<()> {
    // SAFETY: path is a valid NUL-terminated string.
    let ret = unsafe { libc::mknod(path.as_ptr(), libc::S_IFCHR | 0o000, 0) };
    check(ret as libc::c_long, || format!("mknod {}", path.to_string_lossy())).map(drop)
}

/// Sets the access and modification times of `path` (not following a symlink).
pub fn set_times(path: &CStr, atime: (i64, i64), mtime: (i64, i64)) -> Result<()> {
    let times = [libc::timespec { tv_sec: atime.0, tv_nsec: atime.1 }, libc::timespec { tv_sec: mtime.0, tv_nsec: mtime.1 }];
    // SAFETY: path is NUL-terminated and times holds the two timespecs utimensat reads.
    let ret = unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    check(ret as libc::c_long, || format!("set times of {}", path.to_string_lossy())).map(drop)
}

pub fn flock(fd: RawFd, op: libc::c_int) -> Result<()> {
    // SAFETY: plain syscall on an fd we hold.
    let ret = unsafe { libc::flock(fd, op) };
    check(ret as libc::c_long, || "flock".into()).map(drop)
}

pub fn geteuid() -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::geteuid() }
}

pub fn getegid() -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::getegid() }
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit skips atexit handlers and stdio flushing, which belong to the parent's copy.
    unsafe { libc::_exit(code) }
}

/// Process start time (field 22 of /proc/PID/stat), to tell a live owner from a reused pid.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

/// Sends one rtnetlink request (a complete message with NLM_F_ACK set) and waits for the
/// kernel's acknowledgement; a refusal comes back as an `Error` with the kernel's errno.
pub fn netlink_request(message: &[u8], what: impl Fn() -> String) -> Result<()> {
    // SAFETY: plain syscall; the fd is owned below.
    let s = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    let s = check(s as libc::c_long, || "open a netlink socket".into())?;
    // SAFETY: s was just returned by the kernel and is owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(s as RawFd) };
    // SAFETY: sockaddr_nl is plain old data; all-zero addresses the kernel (pid 0).
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: message is valid for reads of its length; kernel is a valid sockaddr_nl.
    let ret = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            message.as_ptr() as *const libc::c_void,
            message.len(),
            0,
            &kernel as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    check(ret as libc::c_long, &what)?;
    let mut reply = [0u8; 8192];
    let n = read(sock.as_raw_fd(), &mut reply).context(&what)?;
    // The reply is an nlmsghdr (16 bytes) of type NLMSG_ERROR whose payload starts with a
    // negative errno (0 = acknowledged).
    if n < 20 {
        return err(format!("{}: short netlink reply", what()));
    }
    let kind = u16::from_ne_bytes([reply[4], reply[5]]);
    if kind != libc::NLMSG_ERROR as u16 {
        return err(format!("{}: unexpected netlink reply type {kind}", what()));
    }
    let code = i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]);
    if code != 0 {
        return Err(Error { what: what(), errno: -code });
    }
    Ok(())
}

/// The index of the network interface `name` in this network namespace.
pub fn if_index(name: &str) -> Result<u32> {
    let c = cstr(name)?;
    // SAFETY: c is a valid NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(Error { what: format!("find network interface {name}"), errno: errno() });
    }
    Ok(index)
}

fn ifreq_for(name: &str) -> Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return err(format!("interface name {name:?} must be 1-15 bytes"));
    }
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in name.bytes().enumerate() {
        req.ifr_name[i] = b as libc::c_char;
    }
    Ok(req)
}

fn sockaddr_in_of(addr: [u8; 4]) -> libc::sockaddr {
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
    let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_addr.s_addr = u32::from_ne_bytes(addr);
    // SAFETY: sockaddr_in and sockaddr have the same size (16 bytes) and sockaddr is the
    // type the ifreq union holds for SIOCSIFADDR/SIOCSIFNETMASK.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

/// Gives interface `name` of this network namespace the IPv4 address `addr`/`prefix_len`
/// (the kernel adds the subnet's route with it).
pub fn set_ipv4_address(name: &str, addr: [u8; 4], prefix_len: u8) -> Result<()> {
    if prefix_len == 0 || prefix_len > 32 {
        return err(format!("prefix length {prefix_len} must be 1-32"));
    }
    // SAFETY: a plain datagram socket, closed below via OwnedFd.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let s = check(s as libc::c_long, || format!("socket for configuring {name}"))?;
    // SAFETY: s was just returned by the kernel.
    let sock = unsafe { OwnedFd::from_raw_fd(s as RawFd) };
    let mut req = ifreq_for(name)?;
    req.ifr_ifru.ifru_addr = sockaddr_in_of(addr);
    // SAFETY: SIOCSIFADDR reads an ifreq we own for the duration of the call.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFADDR, &req as *const libc::ifreq) };
    check(ret as libc::c_long, || format!("set the address of {name}"))?;
    let mask = if prefix_len == 32 { u32::MAX } else { !(u32::MAX >> prefix_len) };
    req.ifr_ifru.ifru_netmask = sockaddr_in_of(mask.to_be_bytes());
    // SAFETY: as above, SIOCSIFNETMASK.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFNETMASK, &req as *const libc::ifreq) };
    check(ret as libc::c_long, || format!("set the netmask of {name}")).map(drop)
}

/// Enters the namespace behind `ns_file` (e.g. /proc/PID/ns/net) of kind `nstype`.
/// Entering a user namespace needs a single-threaded process.
pub fn setns_path(ns_file: &str, nstype: libc::c_int) -> Result<()> {
    let fd = open(ns_file, libc::O_RDONLY, 0)?;
    // SAFETY: plain syscall on an fd we hold.
    let ret = unsafe { libc::setns(fd.as_raw_fd(), nstype) };
    check(ret as libc::c_long, || format!("enter the namespace {ns_file}")).map(drop)
}

/// For a forked helper process: closes every descriptor above 2 except `keep`, and points
/// 0-2 at /dev/null, so it holds none of the monitor's sockets or the container's stdio.
pub fn close_all_except(keep: &[RawFd]) -> Result<()> {
    let mut open_fds: Vec<RawFd> = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").context(|| "list /proc/self/fd".into())?.flatten() {
        if let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() {
            open_fds.push(fd);
        }
    }
    let null = open("/dev/null", libc::O_RDWR, 0)?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors of this process, from an fd we hold.
        let ret = unsafe { libc::dup2(null.as_raw_fd(), fd) };
        check(ret as libc::c_long, || "point stdio at /dev/null".into())?;
    }
    for fd in open_fds {
        if fd > 2 && fd != null.as_raw_fd() && !keep.contains(&fd) {
            // SAFETY: closing a descriptor of this process that nothing in it uses any more
            // (this runs right after fork, before any other code holds these fds).
            unsafe { libc::close(fd) };
        }
    }
    Ok(())
}

/// The parent's pid (to notice a parent that died before PR_SET_PDEATHSIG was set).
pub fn getppid() -> libc::pid_t {
    // SAFETY: always succeeds.
    unsafe { libc::getppid() }
}

pub fn epoll_create() -> Result<OwnedFd> {
    // SAFETY: plain syscall; the fd returned is new.
    let ret = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    let fd = check(ret as libc::c_long, || "epoll_create1".into())?;
    // SAFETY: fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// EPOLL_CTL_ADD / MOD / DEL of `fd` with `events` and the caller's `token`.
pub fn epoll_ctl(epoll: RawFd, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: ev is a valid epoll_event for the call (ignored for DEL).
    let ret = unsafe { libc::epoll_ctl(epoll, op, fd, &mut ev) };
    check(ret as libc::c_long, || format!("epoll_ctl({op}, {fd})")).map(drop)
}

/// Waits for events; returns (token, events) pairs. EINTR is an empty batch.
pub fn epoll_wait(epoll: RawFd, out: &mut Vec<(u64, u32)>, max: usize) -> Result<()> {
    // SAFETY: epoll_event is plain old data; all-zero is valid.
    let mut evs: Vec<libc::epoll_event> = vec![unsafe { std::mem::zeroed() }; max];
    // SAFETY: evs has room for `max` events.
    let ret = unsafe { libc::epoll_wait(epoll, evs.as_mut_ptr(), max as libc::c_int, -1) };
    out.clear();
    if ret < 0 && errno() == libc::EINTR {
        return Ok(());
    }
    let n = check(ret as libc::c_long, || "epoll_wait".into())? as usize;
    out.extend(evs[..n].iter().map(|e| (e.u64, e.events)));
    Ok(())
}

/// A non-blocking TCP socket connecting to `addr` (IPv4): the connection may still be in
/// progress when this returns (wait for it to become writable, then check SO_ERROR).
pub fn tcp_connect_nonblocking(addr: std::net::SocketAddrV4) -> Result<std::net::TcpStream> {
    // SAFETY: plain syscall; the fd is owned below.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    let s = check(s as libc::c_long, || "socket".into())?;
    // SAFETY: s was just returned by the kernel and is owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(s as RawFd) };
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
    let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_port = addr.port().to_be();
    sin.sin_addr.s_addr = u32::from_ne_bytes(addr.ip().octets());
    // SAFETY: sin is a valid sockaddr_in and its size is passed.
    let ret = unsafe { libc::connect(sock.as_raw_fd(), &sin as *const libc::sockaddr_in as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t) };
    if ret < 0 && errno() != libc::EINPROGRESS {
        return Err(Error { what: format!("connect to {addr}"), errno: errno() });
    }
    Ok(std::net::TcpStream::from(sock))
}
