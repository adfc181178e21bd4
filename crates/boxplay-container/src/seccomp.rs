//! A default seccomp filter modelled on Docker's default profile: an allowlist, everything
//! else fails with EPERM. Built with libseccomp (Debian's libseccomp-dev) for both x86_64
//! and i386, since linux/386 images run natively through IA32 emulation.
//!
//! Compiling the rules takes libseccomp milliseconds, more than the rest of a container's
//! setup; so the BPF program is compiled once, cached beside the helper binary as
//! `seccomp-<hash of the rules>.bpf` (the build step makes it), and loaded raw per run.

use crate::sys::{self, Result};
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::raw::{c_char, c_int, c_uint, c_void};

type Ctx = *mut c_void;

#[repr(C)]
#[derive(Clone, Copy)]
struct ScmpArgCmp {
    arg: c_uint,
    op: c_int,
    datum_a: u64,
    datum_b: u64,
}

#[link(name = "seccomp")]
extern "C" {
    fn seccomp_init(def_action: u32) -> Ctx;
    fn seccomp_release(ctx: Ctx);
    fn seccomp_arch_add(ctx: Ctx, arch_token: u32) -> c_int;
    fn seccomp_syscall_resolve_name(name: *const c_char) -> c_int;
    fn seccomp_rule_add_array(ctx: Ctx, action: u32, syscall: c_int, arg_cnt: c_uint, arg_array: *const ScmpArgCmp) -> c_int;
    fn seccomp_export_bpf(ctx: Ctx, fd: c_int) -> c_int;
}

const SCMP_ACT_ALLOW: u32 = 0x7fff_0000;
const fn scmp_act_errno(e: i32) -> u32 {
    0x0005_0000 | (e as u32 & 0xffff)
}
const SCMP_ARCH_X86: u32 = 3 | 0x4000_0000; // EM_386 | __AUDIT_ARCH_LE
const SCMP_CMP_MASKED_EQ: c_int = 7;
const SCMP_CMP_EQ: c_int = 4;

/// clone(2) flags that would create namespaces: denied, as Docker does without CAP_SYS_ADMIN.
const NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// Docker's default allowlist (moby profiles/seccomp/default.json), minus the entries it
/// only grants with extra capabilities. Names missing on an architecture are skipped.
const ALLOWED: &[&str] = &[
    "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod",
    "chown", "chown32", "chroot", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
    "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
    "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
    "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
    "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64",
    "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp",
    "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
    "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
    "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
    "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
    "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
    "mlock", "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget",
    "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2", "pause", "pidfd_getfd", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
    "process_vm_readv", "process_vm_writev", "pselect6", "pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64",
    "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
    "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
    "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
    "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socket", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
    "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork",
    "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
];

/// Personalities Docker allows (PER_LINUX, PER_LINUX32, UNAME26 variants, and the query).
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

struct Filter(Ctx);

impl Drop for Filter {
    fn drop(&mut self) {
        // SAFETY: self.0 came from seccomp_init and is released exactly once.
        unsafe { seccomp_release(self.0) }
    }
}

fn resolve(name: &str) -> Option<c_int> {
    let c = CString::new(name).ok()?;
    // SAFETY: c is a valid NUL-terminated string.
    let nr = unsafe { seccomp_syscall_resolve_name(c.as_ptr()) };
    // -1 is __NR_SCMP_ERROR (unknown name); other negatives are libseccomp's pseudo numbers
    // for calls that are multiplexed on some architecture (socketcall, ipc): valid.
    (nr != -1).then_some(nr)
}

fn rule(f: &Filter, action: u32, name: &str, cmps: &[ScmpArgCmp]) {
    if let Some(nr) = resolve(name) {
        // SAFETY: f.0 is a live filter and cmps describes cmps.len() comparisons.
        // A syscall absent on one of the filter's architectures is skipped by libseccomp;
        // an error here only means this one rule is not added (the default still denies).
        unsafe { seccomp_rule_add_array(f.0, action, nr, cmps.len() as c_uint, cmps.as_ptr()) };
    }
}

/// Compiles the default filter with libseccomp into raw BPF (struct sock_filter[]).
fn compile() -> Result<Vec<u8>> {
    // SAFETY: plain constructor; NULL is checked below.
    let ctx = unsafe { seccomp_init(scmp_act_errno(libc::EPERM)) };
    if ctx.is_null() {
        return sys::err("create the seccomp filter (libseccomp)");
    }
    let f = Filter(ctx);
    // SAFETY: f.0 is a live filter. Adding the native arch again returns -EEXIST: fine.
    let rc = unsafe { seccomp_arch_add(f.0, SCMP_ARCH_X86) };
    if rc < 0 && rc != -libc::EEXIST {
        return Err(sys::Error { what: "add the i386 syscall table to the seccomp filter".into(), errno: -rc });
    }
    for name in ALLOWED {
        rule(&f, SCMP_ACT_ALLOW, name, &[]);
    }
    rule(&f, SCMP_ACT_ALLOW, "clone", &[ScmpArgCmp { arg: 0, op: SCMP_CMP_MASKED_EQ, datum_a: NAMESPACE_FLAGS, datum_b: 0 }]);
    // glibc falls back to clone(2) when clone3 says ENOSYS; clone3's flags are in memory,
    // out of seccomp's reach, so it cannot be filtered by flag.
    rule(&f, scmp_act_errno(libc::ENOSYS), "clone3", &[]);
    for p in PERSONALITIES {
        rule(&f, SCMP_ACT_ALLOW, "personality", &[ScmpArgCmp { arg: 0, op: SCMP_CMP_EQ, datum_a: *p, datum_b: 0 }]);
    }
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(sys::Error { what: "pipe for the seccomp program".into(), errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0) });
    }
    // SAFETY: both fds were just created and are ours.
    let (r, w) = unsafe { (std::os::fd::OwnedFd::from_raw_fd(fds[0]), std::os::fd::OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: f.0 is a complete filter; the program (a few KiB) fits in the pipe's buffer.
    let rc = unsafe { seccomp_export_bpf(f.0, w.as_raw_fd()) };
    drop(w);
    if rc < 0 {
        return Err(sys::Error { what: "compile the seccomp filter".into(), errno: -rc });
    }
    let mut program = Vec::new();
    std::fs::File::from(r).read_to_end(&mut program).map_err(|e| sys::Error { what: format!("read the seccomp program: {e}"), errno: 0 })?;
    if program.is_empty() || program.len() % 8 != 0 {
        return sys::err("libseccomp produced an invalid program");
    }
    Ok(program)
}

/// Names the cached program after everything that shapes it.
fn cache_name() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    };
    eat(b"boxplay-seccomp-v1");
    for name in ALLOWED {
        eat(name.as_bytes());
        eat(b",");
    }
    for p in PERSONALITIES {
        eat(&p.to_le_bytes());
    }
    eat(&NAMESPACE_FLAGS.to_le_bytes());
    format!("seccomp-{h:016x}.bpf")
}

/// The default filter as raw BPF: from the cache beside the helper binary, or compiled now
/// (and cached when that directory is writable).
pub fn default_program() -> Result<Vec<u8>> {
    let dir = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.to_path_buf()));
    let path = dir.map(|d| d.join(cache_name()));
    if let Some(p) = &path {
        if let Ok(bytes) = std::fs::read(p) {
            if !bytes.is_empty() && bytes.len() % 8 == 0 {
                return Ok(bytes);
            }
        }
    }
    let program = compile()?;
    if let Some(p) = &path {
        let tmp = p.with_extension(format!("tmp-{}", std::process::id()));
        if std::fs::write(&tmp, &program).is_ok() && std::fs::rename(&tmp, p).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(program)
}

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const u8,
}

/// Loads a raw BPF program into this process; it applies to everything it execs.
/// Needs no_new_privs (set by the caller).
pub fn load(program: &[u8]) -> Result<()> {
    let prog = SockFprog { len: (program.len() / 8) as u16, filter: program.as_ptr() };
    // SAFETY: prog describes `program`, a whole number of 8-byte sock_filter instructions,
    // alive for the call; the kernel copies it.
    let ret = unsafe { libc::syscall(libc::SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog as *const SockFprog) };
    if ret < 0 {
        return Err(sys::Error { what: "load the seccomp filter".into(), errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0) });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_to_whole_instructions_for_both_tables() {
        let program = compile().unwrap();
        assert_eq!(program.len() % 8, 0);
        assert!(program.len() / 8 > 100, "an allowlist of ~300 calls on two tables is a long program");
        assert!(program.len() / 8 < u16::MAX as usize);
    }
}
