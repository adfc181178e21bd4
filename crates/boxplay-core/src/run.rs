//! One container run as the addon sees it: the `boxplay-init` helper process, the
//! container's stdio (pipes, or a pty), and the threads that stream output and events to JS
//! without ever blocking Node's thread.

use crate::js::{Callback, Message};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
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

    let (stdio, readers, stdin_fd, master): ([Stdio; 3], Vec<(&'static str, OwnedFd)>, Option<OwnedFd>, Option<OwnedFd>) = match opts.tty {
        Some((cols, rows)) => {
            let (master, slave) = openpty(cols, rows)?;
            let stdio = [Stdio::from(dup(&slave)?), Stdio::from(dup(&slave)?), Stdio::from(slave)];
            (stdio, vec![("stdout", dup(&master)?)], Some(dup(&master)?), Some(master))
        }
        None => {
            let (out_r, out_w) = pipe()?;
            let (err_r, err_w) = pipe()?;
            let (stdin_child, stdin_parent) = if opts.stdin {
                let (r, w) = pipe()?;
                (Stdio::from(r), Some(w))
            } else {
                (Stdio::null(), None)
            };
            ([stdin_child, Stdio::from(out_w), Stdio::from(err_w)], vec![("stdout", out_r), ("stderr", err_r)], stdin_parent, None)
        }
    };

    let [stdin, stdout, stderr] = stdio;
    let child_ctl = control_child.as_raw_fd();
    let mut cmd = Command::new(&opts.helper);
    cmd.env_clear().stdin(stdin).stdout(stdout).stderr(stderr);
    // SAFETY: runs between fork and exec in the child; dup2, fcntl and setsid are
    // async-signal-safe, and nothing here allocates or takes locks.
    unsafe {
        cmd.pre_exec(move || {
            if child_ctl == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else if libc::dup2(child_ctl, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Its own session: no way back to the server's controlling terminal.
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("start {}: {e} (run `npm run setup` to build the native core)", opts.helper))?;
    drop(cmd);
    drop(control_child);

    let mut spec_line = opts.spec_json.into_bytes();
    spec_line.push(b'\n');
    if !write_all(control.as_raw_fd(), &spec_line) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(io_err("send the spec to boxplay-init"));
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
        let status = child.wait();
        let last = exited.unwrap_or_else(|| {
            // The helper died without reporting (killed, or crashed): clean up after it.
            let left = boxplay_container::state::remove_run(std::path::Path::new(&run_dir));
            serde_json::json!({
                "event": "exited",
                "code": 125,
                "error": format!("boxplay-init ended without a report ({})", status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())),
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
