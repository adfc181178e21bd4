//! One container run as the addon sees it: the `boxplay-init` helper process, the
//! container's stdio (pipes, or a pty), and the threads that stream output and events to JS
//! without ever blocking Node's thread.

use crate::js::{Callback, Message};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ffi::CString;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct RunHandle {
    control: OwnedFd,
    stdin: Mutex<Option<Sender<Vec<u8>>>>,
    master: Option<OwnedFd>,
}

pub struct SpawnOptions {
    pub helper: String,
    pub spec_json: String,
    /// Some((cols, rows)) for a pty.
    pub tty: Option<(u16, u16)>,
    pub stdin: bool,
}

fn io_err(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io_err("pipe"));
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn socketpair() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) } < 0 {
        return Err(io_err("socketpair"));
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn openpty(cols: u16, rows: u16) -> Result<(OwnedFd, OwnedFd), String> {
    let (mut master, mut slave) = (0 as RawFd, 0 as RawFd);
    let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: out-pointers are valid; NULL name and termios are allowed.
    if unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) } < 0 {
        return Err(io_err("openpty"));
    }
    // SAFETY: both fds were just created and are owned by nobody else; FD_CLOEXEC keeps them
    // out of other runs' helpers.
    unsafe {
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
        Ok((OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)))
    }
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd, String> {
    fd.try_clone().map_err(|e| format!("dup: {e}"))
}

fn write_all(fd: RawFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: data is valid for reads of its length; MSG_NOSIGNAL is not needed for pipes
        // (Node ignores SIGPIPE), EPIPE just ends the writer.
        let n = unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        data = &data[n as usize..];
    }
    true
}

/// The helper's fds 0-2; the named output fds to read; our stdin writer; the pty master.
type Plumbing = ([OwnedFd; 3], Vec<(&'static str, OwnedFd)>, Option<OwnedFd>, Option<OwnedFd>);

/// Starts the helper with `fds` as its fds 0, 1, 2 and 3, in a session of its own (no way
/// back to the server's terminal), with default signal dispositions and an empty mask.
/// posix_spawn (vfork-like in glibc) keeps this cheap however large Node's memory is; a
/// fork would copy its page tables first.
fn spawn_helper(helper: &str, fds: [&OwnedFd; 4]) -> Result<libc::pid_t, String> {
    let path = CString::new(helper).map_err(|_| "helper path has a NUL byte".to_string())?;
    // dup2(n, n) would keep close-on-exec: move any source sitting on 0..=3 out of the way.
    let mut high: Vec<OwnedFd> = Vec::new();
    let mut sources = [0 as RawFd; 4];
    for (i, fd) in fds.iter().enumerate() {
        sources[i] = if fd.as_raw_fd() <= 3 {
            // SAFETY: F_DUPFD_CLOEXEC on an fd we hold returns a new fd that we own.
            let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
            if n < 0 {
                return Err(io_err("dup"));
            }
            // SAFETY: n was just created and is owned by nobody else.
            high.push(unsafe { OwnedFd::from_raw_fd(n) });
            n
        } else {
            fd.as_raw_fd()
        };
    }
    // SAFETY: the posix_spawn objects are initialised before use and destroyed after; every
    // pointer passed lives until posix_spawn returns; argv and envp are NULL-terminated.
    unsafe {
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut actions);
        libc::posix_spawnattr_init(&mut attr);
        for (target, source) in sources.iter().enumerate() {
            libc::posix_spawn_file_actions_adddup2(&mut actions, *source, target as libc::c_int);
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::posix_spawnattr_setsigmask(&mut attr, &empty);
        libc::posix_spawnattr_setsigdefault(&mut attr, &all);
        libc::posix_spawnattr_setflags(&mut attr, (libc::POSIX_SPAWN_SETSID | libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short);
        let argv = [path.as_ptr() as *mut libc::c_char, std::ptr::null_mut()];
        let envp = [std::ptr::null_mut::<libc::c_char>()];
        let mut pid: libc::pid_t = 0;
        let rc = libc::posix_spawn(&mut pid, path.as_ptr(), &actions, &attr, argv.as_ptr(), envp.as_ptr());
        libc::posix_spawn_file_actions_destroy(&mut actions);
        libc::posix_spawnattr_destroy(&mut attr);
        drop(high);
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc).to_string());
        }
        Ok(pid)
    }
}

/// Reaps the helper; describes how it ended.
fn wait(pid: libc::pid_t) -> String {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer; pid is our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if r < 0 {
            return io_err("wait for boxplay-init");
        }
        break;
    }
    if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("exit status {}", libc::WEXITSTATUS(status))
    }
}

/// Starts the helper and the I/O threads. Messages to `callback`: ("stdout"|"stderr", Buffer),
/// ("event", JSON line from the helper), and last ("exit", JSON of the final status).
pub fn spawn(opts: SpawnOptions, callback: Callback) -> Result<Arc<RunHandle>, String> {
    let spec: serde_json::Value = serde_json::from_str(&opts.spec_json).map_err(|e| format!("invalid container spec JSON: {e}"))?;
    let run_dir = format!(
        "{}/{}-{}",
        spec["stateRoot"].as_str().unwrap_or(""),
        spec["ownerPid"].as_u64().unwrap_or(0),
        spec["id"].as_str().unwrap_or("")
    );
    let (control, control_child) = socketpair()?;

    let (stdio, readers, stdin_fd, master): Plumbing = match opts.tty {
        Some((cols, rows)) => {
            let (master, slave) = openpty(cols, rows)?;
            let stdio = [dup(&slave)?, dup(&slave)?, slave];
            (stdio, vec![("stdout", dup(&master)?)], Some(dup(&master)?), Some(master))
        }
        None => {
            let (out_r, out_w) = pipe()?;
            let (err_r, err_w) = pipe()?;
            let (stdin_child, stdin_parent) = if opts.stdin {
                let (r, w) = pipe()?;
                (r, Some(w))
            } else {
                (std::fs::File::open("/dev/null").map_err(|e| format!("open /dev/null: {e}"))?.into(), None)
            };
            ([stdin_child, out_w, err_w], vec![("stdout", out_r), ("stderr", err_r)], stdin_parent, None)
        }
    };

    let pid = spawn_helper(&opts.helper, [&stdio[0], &stdio[1], &stdio[2], &control_child])
        .map_err(|e| format!("start {}: {e} (run `npm run setup` to build the native core)", opts.helper))?;
    drop(stdio);
    drop(control_child);

    let mut spec_line = opts.spec_json.into_bytes();
    spec_line.push(b'\n');
    if !write_all(control.as_raw_fd(), &spec_line) {
        let err = io_err("send the spec to boxplay-init");
        // SAFETY: pid is our child, not yet reaped, so the pid cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = wait(pid);
        return Err(err);
    }

    let (tx, rx) = channel::<Vec<u8>>();
    if let Some(fd) = stdin_fd {
        thread::spawn(move || {
            for chunk in rx {
                if !write_all(fd.as_raw_fd(), &chunk) {
                    break;
                }
            }
            // Dropping fd closes the container's stdin (for a pty: our copy of the master).
        });
    }

    let callback = Arc::new(callback);
    let mut output_threads = Vec::new();
    for (name, fd) in readers {
        let cb = callback.clone();
        output_threads.push(thread::spawn(move || {
            let mut file = std::fs::File::from(fd);
            let mut buf = vec![0u8; 65536];
            loop {
                match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => cb.send(Message::Bytes(name, buf[..n].to_vec())),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break, // EIO: the pty's last slave closed.
                }
            }
        }));
    }

    let handle = Arc::new(RunHandle { control: dup(&control)?, stdin: Mutex::new(Some(tx)), master });
    let cb = callback;
    let stdin_owner = handle.clone();
    thread::spawn(move || {
        let mut exited: Option<String> = None;
        let reader = BufReader::new(std::fs::File::from(control));
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if line.contains("\"event\":\"exited\"") {
                exited = Some(line);
            } else {
                cb.send(Message::Text("event", line));
            }
        }
        for t in output_threads {
            let _ = t.join();
        }
        // Ends the stdin writer thread: nobody reads any more.
        stdin_owner.stdin.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(stdin_owner);
        let status = wait(pid);
        let last = exited.unwrap_or_else(|| {
            // The helper died without reporting (killed, or crashed): clean up after it.
            let left = boxplay_container::state::remove_run(std::path::Path::new(&run_dir));
            serde_json::json!({
                "event": "exited",
                "code": 125,
                "error": format!("boxplay-init ended without a report ({status})"),
                "cleanupError": left,
            })
            .to_string()
        });
        cb.send(Message::Text("exit", last));
        if let Ok(cb) = Arc::try_unwrap(cb) {
            cb.release();
        }
    });
    Ok(handle)
}

impl RunHandle {
    pub fn write(&self, data: Vec<u8>) {
        if let Some(tx) = self.stdin.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = tx.send(data);
        }
    }

    pub fn close_stdin(&self) {
        let mut guard = self.stdin.lock().unwrap_or_else(|p| p.into_inner());
        if self.master.is_some() {
            // A terminal has no EOF of its own: send ^D, as a user would.
            if let Some(tx) = guard.as_ref() {
                let _ = tx.send(vec![4]);
            }
        } else {
            guard.take();
        }
    }

    pub fn resize(&self, cols: u16, rows: u16) -> Result<(), String> {
        let Some(master) = &self.master else { return Ok(()) };
        let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCSWINSZ reads a winsize we own for the call.
        if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) } < 0 {
            return Err(io_err("resize the terminal"));
        }
        Ok(())
    }

    pub fn kill(&self, signal: i32) {
        let line = format!("kill {signal}\n");
        // SAFETY: send on a socket we own; MSG_NOSIGNAL turns a closed peer into EPIPE.
        unsafe { libc::send(self.control.as_raw_fd(), line.as_ptr() as *const libc::c_void, line.len(), libc::MSG_NOSIGNAL) };
    }
}
