//! Published ports (`-p [IP:]HOST:CONTAINER`): a userland proxy owned by the run's monitor.
//!
//! `bind` opens the host listeners in the host's network namespace before the container is
//! made, so "address already in use" fails the run at once. `start` forks one proxy process
//! that enters the container's network namespace (through its user namespace when rootless:
//! the monitor's user owns it), and then relays each accepted connection to a socket it
//! connects *inside* that namespace. A socket keeps the namespace it was made in, so the one
//! process holds both sides: no DNAT rule, no bridge, no slirp needed, identical as root and
//! rootless, and nothing to sweep: the proxy dies with the monitor (PR_SET_PDEATHSIG) or when
//! the monitor stops it after the container exits. A few threads (one per CPU, ≤ 4) relay
//! the connections, each through its own epoll set (see `Relay`).

use crate::spec::PortForward;
use crate::sys::{self, Context, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;

/// The host listeners of one run, bound and not yet served.
pub struct Published {
    listeners: Vec<(TcpListener, u16)>,
    /// What was bound (host port 0 replaced by the one the kernel chose).
    pub ports: Vec<PortForward>,
}

pub fn bind(ports: &[PortForward]) -> Result<Published> {
    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    for p in ports {
        let ip: Ipv4Addr = p.host_ip.parse().map_err(|_| sys::Error { what: format!("publish {}:{}: {:?} is not an IPv4 address", p.host_ip, p.host_port, p.host_ip), errno: libc::EINVAL })?;
        if p.container_port == 0 {
            return sys::err(format!("publish {}:{}: the container port must be 1-65535", p.host_ip, p.host_port));
        }
        let listener = TcpListener::bind(SocketAddr::from((ip, p.host_port)))
            .context(|| format!("publish {}:{} (→ container port {}): cannot listen there, pick another host port", p.host_ip, p.host_port, p.container_port))?;
        let host_port = listener.local_addr().map(|a| a.port()).unwrap_or(p.host_port);
        bound.push(PortForward { host_ip: p.host_ip.clone(), host_port, container_port: p.container_port });
        listeners.push((listener, p.container_port));
    }
    Ok(Published { listeners, ports: bound })
}

/// The running proxy process; `stop` (or drop) kills and reaps it.
pub struct Proxy {
    pid: libc::pid_t,
}

impl Proxy {
    pub fn stop(&mut self) {
        if self.pid > 0 {
            let _ = sys::kill(self.pid, libc::SIGKILL);
            let _ = sys::waitpid(self.pid, 0);
            self.pid = 0;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Forks the proxy for `published` into the network namespace of `container_pid`, relaying
/// to `target` (the container's address on its network, or 127.0.0.1). None when nothing is
/// published. Call from the single-threaded monitor.
pub fn start(published: Published, container_pid: libc::pid_t, rootless: bool, target: Ipv4Addr) -> Result<Option<Proxy>> {
    if published.listeners.is_empty() {
        return Ok(None);
    }
    let monitor = std::process::id() as libc::pid_t;
    let pid = sys::clone_process(0).context(|| "fork the port proxy".into())?;
    if pid == 0 {
        let code = match serve(published, container_pid, rootless, target, monitor) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("boxplay-init: port proxy: {e}");
                1
            }
        };
        sys::exit_now(code);
    }
    drop(published);
    Ok(Some(Proxy { pid }))
}

fn serve(published: Published, container_pid: libc::pid_t, rootless: bool, target: Ipv4Addr, monitor: libc::pid_t) -> Result<()> {
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)?;
    if sys::getppid() != monitor {
        return sys::err("the monitor went away before the proxy started");
    }
    let keep: Vec<_> = published.listeners.iter().map(|(l, _)| l.as_raw_fd()).collect();
    sys::close_all_except(&keep)?;
    // Rootless, the netns belongs to the container's user namespace, which the monitor's
    // user owns: entering that first gives us the right to enter the netns.
    if rootless {
        sys::setns_path(&format!("/proc/{container_pid}/ns/user"), libc::CLONE_NEWUSER)?;
    }
    sys::setns_path(&format!("/proc/{container_pid}/ns/net"), libc::CLONE_NEWNET)?;
    drop_privileges(rootless, monitor)?;
    let listeners: Vec<(TcpListener, SocketAddrV4)> = published.listeners.into_iter().map(|(l, port)| (l, SocketAddrV4::new(target, port))).collect();
    // One relay per CPU (at most 4), each with its own epoll set over the same listeners
    // (EPOLLEXCLUSIVE: one wakes per connection), so a busy host need not schedule one thread.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let mut relays = Vec::new();
    for _ in 1..threads {
        let mine: Vec<(TcpListener, SocketAddrV4)> = listeners.iter().map(|(l, to)| l.try_clone().map(|l| (l, *to))).collect::<std::io::Result<_>>().context(|| "share a listener".into())?;
        let relay = Relay::new(mine)?;
        relays.push(std::thread::Builder::new().name("relay".into()).spawn(move || relay.run()).context(|| "start a relay thread".into())?);
    }
    let result = Relay::new(listeners)?.run();
    drop(relays);
    result
}

/// The listeners are bound and the namespace entered: relaying needs no privilege at all.
/// As root the proxy becomes nobody (65534); in both modes it keeps no capability and can
/// gain none, so a relay bug handed bytes by a hostile container holds nothing worth taking.
fn drop_privileges(rootless: bool, monitor: libc::pid_t) -> Result<()> {
    if !rootless {
        sys::setgroups(&[])?;
        sys::setresgid(NOBODY)?;
        sys::setresuid(NOBODY)?;
    }
    sys::capset(0, 0, 0)?;
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)?;
    // Changing credentials cleared the parent-death signal: set it again, then check the
    // monitor did not die in between.
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)?;
    if sys::getppid() != monitor {
        return sys::err("the monitor went away while the proxy started");
    }
    Ok(())
}

const NOBODY: u32 = 65534;

/// At most this many connections at once; more are accepted and closed at once.
const MAX_CONNECTIONS: usize = 4096;
const BUF: usize = 64 * 1024;
const IN: u32 = libc::EPOLLIN as u32;
/// Connections are watched edge-triggered for both directions, registered once: every event
/// pumps both halves until they would block, so no interest ever needs changing.
const EDGES: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

/// One direction of a connection: bytes read from one socket, not yet written to the other.
#[derive(Default)]
struct Half {
    buf: Vec<u8>,
    pos: usize,
    /// The source said EOF; once `buf` is drained the destination is half-closed.
    eof: bool,
    shut: bool,
}

impl Half {
    fn pending(&self) -> bool {
        self.pos < self.buf.len()
    }
    fn done(&self) -> bool {
        self.shut && !self.pending()
    }
}

enum Step {
    Open,
    Close,
}

/// Moves bytes `from` → `to` until either would block; Close on an error.
fn pump(half: &mut Half, from: &mut TcpStream, to: &mut TcpStream, scratch: &mut [u8]) -> Step {
    loop {
        if half.pending() {
            match to.write(&half.buf[half.pos..]) {
                Ok(n) => half.pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Open,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Step::Close,
            }
            continue;
        }
        if half.eof {
            if !half.shut {
                half.shut = true;
                let _ = to.shutdown(Shutdown::Write);
            }
            return Step::Open;
        }
        match from.read(scratch) {
            Ok(0) => half.eof = true,
            Ok(n) => {
                half.buf.clear();
                half.buf.extend_from_slice(&scratch[..n]);
                half.pos = 0;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Open,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Step::Close,
        }
    }
}

struct Conn {
    client: TcpStream,
    server: TcpStream,
    /// The connection to the container is still being made.
    connecting: bool,
    up: Half,
    down: Half,
}

/// A relay's event loop: one thread, one epoll set, no thread per connection (a new thread
/// per connection costs a scheduling round trip per request on a busy host), and about a
/// dozen syscalls per short connection besides the reads and writes.
/// Tokens: listener i → i; connection slot s → (s + 1) << 32 | side (0 client, 1 server).
struct Relay {
    epoll: std::os::fd::OwnedFd,
    listeners: Vec<(TcpListener, SocketAddrV4)>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
}

impl Relay {
    fn new(listeners: Vec<(TcpListener, SocketAddrV4)>) -> Result<Relay> {
        let epoll = sys::epoll_create()?;
        for (i, (l, _)) in listeners.iter().enumerate() {
            l.set_nonblocking(true).context(|| "make a listener non-blocking".into())?;
            sys::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, l.as_raw_fd(), IN | libc::EPOLLEXCLUSIVE as u32, i as u64)?;
        }
        Ok(Relay { epoll, listeners, conns: Vec::new(), free: Vec::new() })
    }

    fn run(mut self) -> Result<()> {
        let mut events = Vec::new();
        let mut scratch = vec![0u8; BUF];
        loop {
            sys::epoll_wait(self.epoll.as_raw_fd(), &mut events, 256)?;
            for &(token, _) in &events {
                if token >> 32 == 0 {
                    self.accept(token as usize, &mut scratch);
                } else {
                    self.progress(((token >> 32) - 1) as usize, &mut scratch);
                }
            }
        }
    }

    fn accept(&mut self, i: usize, scratch: &mut [u8]) {
        loop {
            let (listener, to) = &self.listeners[i];
            let to = *to;
            let client = match listener.accept() {
                Ok((c, _)) => c,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => return,
            };
            let in_use = self.conns.len() - self.free.len();
            if in_use >= MAX_CONNECTIONS || client.set_nonblocking(true).is_err() {
                continue;
            }
            let Ok(server) = sys::tcp_connect_nonblocking(to) else { continue };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let conn = Conn { client, server, connecting: true, up: Half::default(), down: Half::default() };
            let slot = match self.free.pop() {
                Some(s) => {
                    self.conns[s] = Some(conn);
                    s
                }
                None => {
                    self.conns.push(Some(conn));
                    self.conns.len() - 1
                }
            };
            let c = self.conns[slot].as_ref().unwrap();
            let base = ((slot as u64) + 1) << 32;
            let ok = sys::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, c.client.as_raw_fd(), EDGES, base).is_ok()
                && sys::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, c.server.as_raw_fd(), EDGES, base | 1).is_ok();
            if !ok {
                self.close(slot);
            } else {
                // Inside one host a connect usually completes within the call, and the client's
                // request is often already there: relay now rather than after another wait.
                self.progress(slot, scratch);
            }
        }
    }

    fn progress(&mut self, slot: usize, scratch: &mut [u8]) {
        let Some(c) = self.conns.get_mut(slot).and_then(|c| c.as_mut()) else { return };
        if c.connecting {
            match c.server.take_error() {
                Ok(None) => {}
                _ => return self.close(slot),
            }
            // Still in progress: not yet writable, and no error yet.
            if c.server.peer_addr().is_err() {
                return;
            }
            c.connecting = false;
        }
        let up = pump(&mut c.up, &mut c.client, &mut c.server, scratch);
        let down = pump(&mut c.down, &mut c.server, &mut c.client, scratch);
        if matches!(up, Step::Close) || matches!(down, Step::Close) || (c.up.done() && c.down.done()) {
            self.close(slot);
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(c) = self.conns[slot].take() {
            let _ = sys::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, c.client.as_raw_fd(), 0, 0);
            let _ = sys::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, c.server.as_raw_fd(), 0, 0);
            self.free.push(slot);
        }
    }
}
