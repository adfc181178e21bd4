//! Published ports (`-p [IP:]HOST:CONTAINER`): a userland proxy owned by the run's monitor.
//!
//! `bind` opens the host listeners in the host's network namespace before the container is
//! made, so "address already in use" fails the run at once. `start` forks one proxy process
//! that enters the container's network namespace (through its user namespace when rootless:
//! the monitor's user owns it), and then relays each accepted connection to a socket it
//! connects *inside* that namespace. A socket keeps the namespace it was made in, so the one
//! process holds both sides: no DNAT rule, no bridge, no slirp needed, identical as root and
//! rootless, and nothing to sweep: the proxy dies with the monitor (PR_SET_PDEATHSIG) or when
//! the monitor stops it after the container exits.

use crate::spec::PortForward;
use crate::sys::{self, Context, Result};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
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
        sys::setns(&format!("/proc/{container_pid}/ns/user"), libc::CLONE_NEWUSER)?;
    }
    sys::setns(&format!("/proc/{container_pid}/ns/net"), libc::CLONE_NEWNET)?;
    let mut accepters = Vec::new();
    for (listener, container_port) in published.listeners {
        let to = SocketAddr::from((target, container_port));
        accepters.push(std::thread::Builder::new().name("accept".into()).spawn(move || accept_loop(listener, to)).context(|| "start a proxy thread".into())?);
    }
    for a in accepters {
        let _ = a.join();
    }
    Ok(())
}

fn accept_loop(listener: TcpListener, to: SocketAddr) {
    loop {
        let Ok((client, _)) = listener.accept() else { continue };
        let _ = std::thread::Builder::new().stack_size(128 * 1024).spawn(move || relay(client, to));
    }
}

/// One connection: each direction copied until EOF, then half-closed, as the peer did.
fn relay(client: TcpStream, to: SocketAddr) {
    let Ok(server) = TcpStream::connect(to) else { return };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else { return };
    let upstream = std::thread::Builder::new().stack_size(128 * 1024).spawn(move || pump(client2, server2));
    pump(server, client);
    if let Ok(u) = upstream {
        let _ = u.join();
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 32 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
