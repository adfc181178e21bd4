//! A container's place on a user network: one veth pair per run, made by the monitor with a
//! single rtnetlink request (host end up on the network's bridge, the other end created right
//! inside the container's network namespace as `eth0`), then its address set and the link
//! brought up by the container's PID 1 itself (it is root of the user namespace that owns that netns).
//!
//! Nothing here needs undoing: the veth's inner end belongs to the container's netns, so when
//! the last process of the run is gone the kernel destroys the netns, the inner end, and with
//! it the host end. A killed monitor or server leaves no interface behind.
//!
//! Done over netlink in the core rather than by spawning `ip`: `ip link add` plus `nsenter` and
//! two `ip`s inside cost 12-20 ms per run here, the one netlink request 1-5 ms (crates/README.md).

use crate::spec::NetworkAttach;
use crate::sys::{self, Context, Result};

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFF_UP: u32 = 0x1;

/// The name of the container's end, inside its netns.
pub const CONTAINER_IFNAME: &str = "eth0";

/// A netlink message under construction: attributes are appended, nests closed by offset.
struct Message {
    buf: Vec<u8>,
}

impl Message {
    fn new(kind: u16, flags: u16) -> Message {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set in finish()
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&1u32.to_ne_bytes()); // seq
        buf.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills ours in
        Message { buf }
    }

    /// struct ifinfomsg { family, pad, type, index, flags, change }: AF_UNSPEC, and the
    /// interface brought up as it is made when `up`.
    fn ifinfo(&mut self, up: bool) {
        let flags = if up { IFF_UP } else { 0 };
        self.buf.extend_from_slice(&[libc::AF_UNSPEC as u8, 0]);
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&0i32.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
    }

    fn attr(&mut self, kind: u16, payload: &[u8]) {
        let len = 4 + payload.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.align();
    }

    fn attr_str(&mut self, kind: u16, s: &str) {
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        self.attr(kind, &bytes);
    }

    fn begin_nest(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        at
    }

    fn end_nest(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn align(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// Interface names the kernel takes: 1-15 bytes, no '/', no whitespace, not "." or "..".
fn check_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty() && name.len() < libc::IFNAMSIZ && name != "." && name != ".." && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if !ok {
        return sys::err(format!("{name:?} is not a usable interface name (1-15 printable bytes, no '/' or ':')"));
    }
    Ok(())
}

/// Monitor side: creates the veth pair, the host end on `net.bridge`, `eth0` in the netns of
/// `pid` (the container's PID 1, not yet running the command).
pub fn attach(net: &NetworkAttach, pid: libc::pid_t) -> Result<()> {
    check_ifname(&net.host_ifname)?;
    let bridge = sys::if_index(&net.bridge).context(|| format!("the network's bridge {} is gone: remove the network and create it again", net.bridge))?;
    let mut m = Message::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    m.ifinfo(true);
    m.attr_str(IFLA_IFNAME, &net.host_ifname);
    m.attr(IFLA_MASTER, &bridge.to_ne_bytes());
    let info = m.begin_nest(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "veth");
    let data = m.begin_nest(IFLA_INFO_DATA);
    let peer = m.begin_nest(VETH_INFO_PEER);
    // The inner end cannot be brought up from here (the kernel refuses with ENOTCONN):
    // PID 1 does it with its address.
    m.ifinfo(false);
    m.attr_str(IFLA_IFNAME, CONTAINER_IFNAME);
    m.attr(IFLA_NET_NS_PID, &(pid as u32).to_ne_bytes());
    m.end_nest(peer);
    m.end_nest(data);
    m.end_nest(info);
    sys::netlink_request(&m.finish(), || format!("create the veth pair {} ↔ {CONTAINER_IFNAME} on bridge {}", net.host_ifname, net.bridge))
}

pub fn parse_ipv4(text: &str) -> Result<[u8; 4]> {
    text.parse::<std::net::Ipv4Addr>().map(|a| a.octets()).map_err(|_| sys::Error { what: format!("{text:?} is not an IPv4 address"), errno: libc::EINVAL })
}

/// Container side (PID 1, root of its user namespace, before pivot_root): gives `eth0` its
/// address. No default route: the container reaches its network's subnet and nothing else.
pub fn configure_inside(net: &NetworkAttach) -> Result<()> {
    sys::set_ipv4_address(CONTAINER_IFNAME, parse_ipv4(&net.address)?, net.prefix_len)?;
    sys::link_up(CONTAINER_IFNAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_aligned_and_nests_sized() {
        let mut m = Message::new(RTM_NEWLINK, NLM_F_REQUEST);
        m.ifinfo(true);
        m.attr_str(IFLA_IFNAME, "bpv1"); // 4 + 5 bytes, padded to 12
        let nest = m.begin_nest(IFLA_LINKINFO);
        m.attr_str(IFLA_INFO_KIND, "veth"); // 4 + 5, padded to 12
        m.end_nest(nest);
        let buf = m.finish();
        assert_eq!(buf.len(), 16 + 16 + 12 + 4 + 12);
        assert_eq!(u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize, buf.len());
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), RTM_NEWLINK);
        // The ifname attribute: length 9 (unpadded), type 3, "bpv1\0".
        assert_eq!(&buf[32..36], &[9, 0, 3, 0]);
        assert_eq!(&buf[36..41], b"bpv1\0");
        // The nest's length covers its header and the padded attribute inside.
        assert_eq!(u16::from_ne_bytes([buf[44], buf[45]]), 16);
    }

    #[test]
    fn interface_names_are_checked() {
        assert!(check_ifname("bpv0123456789ab").is_ok());
        for bad in ["", "a/b", "a:b", "0123456789abcdef", "a b", "."] {
            assert!(check_ifname(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_ipv4("10.200.1.2").unwrap(), [10, 200, 1, 2]);
        assert!(parse_ipv4("10.200.1").is_err());
    }
}
