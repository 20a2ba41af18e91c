//! Sockets as libsinsp tracks them for Falco: the machine's interface addresses (which end
//! of a tuple is this machine, what a zero address in a tuple stands for), how a tuple a
//! syscall reports updates a socket, the role a datagram socket is guessed to have, and a
//! socket's name.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::thread::{Fd, FdKind, FdTable, Role};
use crate::event::decode::{self, SockTuple};
use crate::event::render;
use crate::source::scap::Interface;

/// The interface addresses of the machine (the capture's interface list).
#[derive(Clone, Debug, Default)]
pub struct Interfaces {
    /// (address, netmask)
    v4: Vec<(Ipv4Addr, Ipv4Addr)>,
    v6: Vec<Ipv6Addr>,
}

impl Interfaces {
    pub fn new(list: &[Interface]) -> Interfaces {
        let mut i = Interfaces::default();
        for e in list {
            match (e.addr, e.netmask) {
                (IpAddr::V4(a), IpAddr::V4(m)) => i.v4.push((a, m)),
                (IpAddr::V6(a), _) => i.v6.push(a),
                _ => {}
            }
        }
        i
    }

    /// The interface addresses of this machine (getifaddrs), for live capture; empty if
    /// they cannot be read.
    pub fn of_this_machine() -> Interfaces {
        let mut i = Interfaces::default();
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `head` with a list it allocates; it is only read below
        // and released with freeifaddrs.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return i;
        }
        let mut cur = head;
        while !cur.is_null() {
            // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
            let ifa = unsafe { &*cur };
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() {
                continue;
            }
            // SAFETY: ifa_addr points to a sockaddr whose family says its real type.
            match unsafe { (*ifa.ifa_addr).sa_family } as i32 {
                libc::AF_INET => {
                    // SAFETY: an AF_INET address is a sockaddr_in; the netmask of an
                    // AF_INET entry too (when present).
                    let addr = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                    let mask = if ifa.ifa_netmask.is_null() {
                        0
                    } else {
                        unsafe {
                            (*(ifa.ifa_netmask as *const libc::sockaddr_in))
                                .sin_addr
                                .s_addr
                        }
                    };
                    i.v4.push((
                        Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
                        Ipv4Addr::from(u32::from_be(mask)),
                    ));
                }
                libc::AF_INET6 => {
                    // SAFETY: an AF_INET6 address is a sockaddr_in6.
                    let addr = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                    i.v6.push(Ipv6Addr::from(addr.sin6_addr.s6_addr));
                }
                _ => {}
            }
        }
        // SAFETY: `head` came from a successful getifaddrs and is freed once.
        unsafe { libc::freeifaddrs(head) };
        i
    }

    /// Only the loopback interfaces (127.0.0.1/8, ::1).
    pub fn loopback() -> Interfaces {
        Interfaces {
            v4: vec![(Ipv4Addr::LOCALHOST, Ipv4Addr::new(255, 0, 0, 0))],
            v6: vec![Ipv6Addr::LOCALHOST],
        }
    }

    /// `addr` is one of the IPv4 interface addresses.
    pub fn has_v4(&self, addr: Ipv4Addr) -> bool {
        self.v4.iter().any(|(a, _)| *a == addr)
    }

    /// `addr` is in the /64 of an IPv6 interface address (libsinsp compares the first 64
    /// bits only, so `::` counts as local wherever `::1` is listed).
    pub fn has_v6_net(&self, addr: Ipv6Addr) -> bool {
        self.v6.iter().any(|a| same_64(a, &addr))
    }

    /// The local address a socket talking to `dst` most likely has: `dst` itself if it is
    /// ours, else an interface of its subnet, else the first non-loopback interface.
    fn infer_v4(&self, dst: Ipv4Addr) -> Ipv4Addr {
        let d = u32::from(dst);
        self.v4
            .iter()
            .find(|(a, _)| *a == dst)
            .map(|(a, _)| *a)
            .or_else(|| {
                self.v4
                    .iter()
                    .find(|(a, m)| u32::from(*a) & u32::from(*m) == d & u32::from(*m))
                    .map(|(a, _)| *a)
            })
            .or_else(|| {
                self.v4
                    .iter()
                    .find(|(a, _)| *a != Ipv4Addr::LOCALHOST)
                    .map(|(a, _)| *a)
            })
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    fn infer_v6(&self, dst: Ipv6Addr) -> Ipv6Addr {
        self.v6
            .iter()
            .find(|a| **a == dst)
            .or_else(|| self.v6.iter().find(|a| same_64(a, &dst)))
            .or_else(|| self.v6.iter().find(|a| **a != Ipv6Addr::LOCALHOST))
            .copied()
            .unwrap_or(Ipv6Addr::UNSPECIFIED)
    }

    /// Fills the zero end of a connection tuple with the interface address the other end
    /// implies (libsinsp's interface-list `update_fd`).
    pub fn complete(&self, f: &mut Fd) {
        let (s, d): (IpAddr, IpAddr) = match f.kind {
            FdKind::Ipv4Sock => (v4(f.sip).into(), v4(f.dip).into()),
            FdKind::Ipv6Sock => (v6(f.sip).into(), v6(f.dip).into()),
            _ => return,
        };
        let fill_source = s.is_unspecified();
        if !fill_source && !d.is_unspecified() {
            return;
        }
        let known = if fill_source { d } else { s };
        let inferred: IpAddr = match known {
            IpAddr::V4(a) => self.infer_v4(a).into(),
            IpAddr::V6(a) => self.infer_v6(a).into(),
        };
        if inferred == known && f.sport == f.dport {
            return;
        }
        if fill_source {
            f.sip = Some(inferred);
        } else {
            f.dip = Some(inferred);
        }
    }
}

fn same_64(a: &Ipv6Addr, b: &Ipv6Addr) -> bool {
    a.octets()[..8] == b.octets()[..8]
}

/// The IPv4 address of a tuple end (`None` and non-IPv4 are the zero address).
pub fn v4(ip: Option<IpAddr>) -> Ipv4Addr {
    match ip {
        Some(IpAddr::V4(a)) => a,
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// The IPv6 address of a tuple end (`None` and non-IPv6 are the zero address).
pub fn v6(ip: Option<IpAddr>) -> Ipv6Addr {
    match ip {
        Some(IpAddr::V6(a)) => a,
        _ => Ipv6Addr::UNSPECIFIED,
    }
}

/// An inet tuple as libsinsp stores it: both ends IPv4-mapped IPv6 addresses become IPv4.
/// Returns the socket kind and the two addresses.
pub fn inet_tuple(sip: IpAddr, dip: IpAddr) -> (FdKind, IpAddr, IpAddr) {
    let (sip, dip) = decode::unmapped_pair(sip, dip);
    let kind = if sip.is_ipv4() {
        FdKind::Ipv4Sock
    } else {
        FdKind::Ipv6Sock
    };
    (kind, sip, dip)
}

/// The zero-normalized address of a tuple end, in the family of `like`.
fn end(ip: Option<IpAddr>, like: IpAddr) -> IpAddr {
    match (ip, like) {
        (Some(a), _) => a,
        (None, IpAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

fn is_zero(ip: Option<IpAddr>) -> bool {
    ip.map_or(true, |a| a.is_unspecified())
}

/// Applies a tuple a syscall reported to a connection socket whose kind is already set
/// (libsinsp's `set_ipv4_addresses_and_ports`): the source always, the destination only
/// where it is still zero or `overwrite_dest` is set. False when nothing changed (also for
/// the same tuple seen from the other end).
pub fn apply_tuple(
    f: &mut Fd,
    (sip, sport, dip, dport): (IpAddr, u16, IpAddr, u16),
    overwrite_dest: bool,
) -> bool {
    let (cs, cd) = (end(f.sip, sip), end(f.dip, dip));
    if (sip == cs && sport == f.sport && dip == cd && dport == f.dport)
        || (dip == end(f.sip, dip)
            && dport == f.sport
            && sip == end(f.dip, sip)
            && sport == f.dport)
    {
        return false;
    }
    let mut changed = false;
    if cs != sip {
        f.sip = Some(sip);
        changed = true;
    }
    if f.sport != sport {
        f.sport = sport;
        changed = true;
    }
    if is_zero(f.dip) || (overwrite_dest && cd != dip) {
        f.dip = Some(dip);
        changed = true;
    }
    if f.dport == 0 || (overwrite_dest && f.dport != dport) {
        f.dport = dport;
        changed = true;
    }
    changed
}

/// What [`apply_reported`] did with a tuple.
pub enum Applied {
    /// An inet tuple: whether it changed the socket.
    Inet(bool),
    /// A unix tuple: the socket is named `src->dst path`.
    Unix,
    /// Another family: nothing.
    Other,
}

/// Applies a tuple a syscall reported: an inet one sets the kind its addresses say and
/// goes through [`apply_tuple`]; a unix one sets the socket ends and names the socket as
/// the tuple prints.
pub fn apply_reported(f: &mut Fd, t: &SockTuple<'_>, overwrite_dest: bool) -> Applied {
    match *t {
        SockTuple::Inet {
            sip,
            sport,
            dip,
            dport,
        } => {
            let (kind, sip, dip) = inet_tuple(sip, dip);
            f.kind = kind;
            Applied::Inet(apply_tuple(f, (sip, sport, dip, dport), overwrite_dest))
        }
        SockTuple::Unix { source, dest, .. } => {
            f.kind = FdKind::UnixSock;
            f.unix_source = source;
            f.unix_dest = dest;
            f.name.clear();
            render::socktuple(t, &mut f.name);
            Applied::Unix
        }
        SockTuple::Other(_) => Applied::Other,
    }
}

pub fn swap_ends(f: &mut Fd) {
    std::mem::swap(&mut f.sip, &mut f.dip);
    std::mem::swap(&mut f.sport, &mut f.dport);
}

/// The role of socket `fd` of `table` seen first in a send or receive (libsinsp's
/// `set_net_role_by_guessing`): client when no socket of the process is bound to (or
/// talks to) its destination port, server when one is and none uses its source port as a
/// client port; otherwise a receive makes a server, a send a client.
pub fn guessed_role(table: &FdTable, fd: i64, incoming: bool) -> Role {
    let Some(f) = table.fds.get(&fd) else {
        return Role::None;
    };
    // libsinsp reads the ports through the IPv4 view of its socket-info union: for an
    // IPv6 socket those are bytes 8..12 of the source address.
    let (sport, dport) = match f.kind {
        FdKind::Ipv6Sock => {
            let o = v6(f.sip).octets();
            (
                u16::from_le_bytes([o[8], o[9]]),
                u16::from_le_bytes([o[10], o[11]]),
            )
        }
        _ => (f.sport, f.dport),
    };
    let bound = table.fds.values().any(|o| match o.kind {
        FdKind::Ipv4Sock => o.dport == dport,
        FdKind::Ipv4ServSock => o.sport == dport,
        _ => false,
    });
    if !bound {
        return Role::Client;
    }
    let client_port = table
        .fds
        .values()
        .any(|o| o.kind == FdKind::Ipv4Sock && o.sport == sport);
    match (client_port, incoming) {
        (false, _) | (true, true) => Role::Server,
        (true, false) => Role::Client,
    }
}

/// The name libsinsp gives a connection socket when a syscall changed its tuple
/// (`sockinfo_to_str`): with ports for TCP and UDP, without for ICMP and raw sockets,
/// `<unknown>` for another protocol; other fds get an empty name.
pub fn tuple_name(f: &Fd, out: &mut Vec<u8>) {
    use super::thread::l4;
    out.clear();
    match (f.kind.is_connection(), f.l4proto) {
        (true, l4::TCP | l4::UDP) => inet_name(f, out),
        (true, l4::ICMP | l4::RAW) => {
            let zero = |v6: bool| {
                if v6 {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                }
            };
            let is6 = f.kind == FdKind::Ipv6Sock;
            render::ip(&f.sip.unwrap_or(zero(is6)), out);
            out.extend_from_slice(b"->");
            render::ip(&f.dip.unwrap_or(zero(is6)), out);
        }
        (true, _) => out.extend_from_slice(b"<unknown>"),
        _ => {}
    }
}

/// The name of an inet socket: `sip:sport->dip:dport` (zero addresses printed), or
/// `ip:port` for a listening socket.
pub fn inet_name(f: &Fd, out: &mut Vec<u8>) {
    out.clear();
    let zero = |v6: bool| {
        if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    };
    match f.kind {
        FdKind::Ipv4Sock | FdKind::Ipv6Sock => {
            let is6 = f.kind == FdKind::Ipv6Sock;
            render::socktuple(
                &SockTuple::Inet {
                    sip: f.sip.unwrap_or(zero(is6)),
                    sport: f.sport,
                    dip: f.dip.unwrap_or(zero(is6)),
                    dport: f.dport,
                },
                out,
            );
        }
        FdKind::Ipv4ServSock | FdKind::Ipv6ServSock => {
            render::ip(&f.sip.unwrap_or(zero(f.kind == FdKind::Ipv6ServSock)), out);
            let _ = write!(out, ":{}", f.sport);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifs() -> Interfaces {
        let e = |name: &str, addr: &str, mask: &str| Interface {
            name: name.into(),
            addr: addr.parse().unwrap(),
            netmask: mask.parse().unwrap(),
        };
        Interfaces::new(&[
            e("lo", "127.0.0.1", "255.0.0.0"),
            e("eth0", "10.0.0.79", "255.255.255.0"),
            e("lo", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            e("eth0", "2001:db8::4", "ffff:ffff:ffff:ffff::"),
        ])
    }

    fn sock(kind: FdKind, s: &str, sport: u16, d: &str, dport: u16) -> Fd {
        Fd {
            kind,
            sip: Some(s.parse().unwrap()),
            sport,
            dip: Some(d.parse().unwrap()),
            dport,
            ..Fd::default()
        }
    }

    #[test]
    fn locality_is_exact_for_ipv4_and_by_64_bit_prefix_for_ipv6() {
        let i = ifs();
        assert!(i.has_v4("10.0.0.79".parse().unwrap()));
        assert!(!i.has_v4("10.0.0.80".parse().unwrap()));
        assert!(i.has_v6_net("2001:db8::99".parse().unwrap()));
        // `::` shares its first 64 bits with `::1`.
        assert!(i.has_v6_net(Ipv6Addr::UNSPECIFIED));
        assert!(!i.has_v6_net("2001:4860::8888".parse().unwrap()));
    }

    #[test]
    fn the_loopback_fallback_makes_only_loopback_local() {
        let i = Interfaces::loopback();
        assert!(i.has_v4(Ipv4Addr::LOCALHOST));
        assert!(!i.has_v4(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(i.has_v6_net(Ipv6Addr::LOCALHOST));
    }

    #[test]
    fn this_machine_has_its_loopback() {
        // Every Linux network namespace has lo (127.0.0.1) unless it was deleted.
        assert!(Interfaces::of_this_machine().has_v4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn a_zero_end_is_completed_from_the_interfaces() {
        let i = ifs();
        let mut f = sock(FdKind::Ipv4Sock, "0.0.0.0", 0, "10.0.0.5", 53);
        i.complete(&mut f);
        assert_eq!(f.sip, Some("10.0.0.79".parse().unwrap()), "same subnet");
        let mut f = sock(FdKind::Ipv4Sock, "0.0.0.0", 0, "8.8.8.8", 53);
        i.complete(&mut f);
        assert_eq!(
            f.sip,
            Some("10.0.0.79".parse().unwrap()),
            "first non-loopback"
        );
        let mut f = sock(FdKind::Ipv6Sock, "::", 0, "::1", 2345);
        i.complete(&mut f);
        assert_eq!(f.sip, Some("::1".parse().unwrap()), "the peer is ours");
        // Own address on both ends with equal ports: left as it is.
        let mut f = sock(FdKind::Ipv4Sock, "0.0.0.0", 7, "10.0.0.79", 7);
        i.complete(&mut f);
        assert_eq!(f.sip, Some("0.0.0.0".parse().unwrap()));
    }

    #[test]
    fn a_reported_tuple_keeps_a_known_destination() {
        let mut f = sock(FdKind::Ipv6Sock, "::1", 0, "::1", 2345);
        let t = |s: &str, sp, d: &str, dp| (s.parse().unwrap(), sp, d.parse().unwrap(), dp);
        assert!(apply_tuple(&mut f, t("::1", 38255, "::1", 2345), false));
        assert_eq!(f.sport, 38255);
        // A later connect elsewhere: the source is unchanged, the destination is kept.
        assert!(!apply_tuple(
            &mut f,
            t("::1", 38255, "2001:4860::8888", 53),
            false
        ));
        assert_eq!((f.dip, f.dport), (Some("::1".parse().unwrap()), 2345));
        assert!(apply_tuple(
            &mut f,
            t("::1", 38255, "2001:4860::8888", 53),
            true
        ));
        assert_eq!(f.dport, 53);
        // The same tuple seen from the other end changes nothing.
        assert!(!apply_tuple(
            &mut f,
            t("2001:4860::8888", 53, "::1", 38255),
            false
        ));
    }

    #[test]
    fn mapped_tuples_are_ipv4() {
        let m: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let (k, s, _) = inet_tuple(m, "::ffff:10.0.0.2".parse().unwrap());
        assert_eq!((k, s), (FdKind::Ipv4Sock, "10.0.0.1".parse().unwrap()));
        let (k, _, _) = inet_tuple(m, "::1".parse().unwrap());
        assert_eq!(k, FdKind::Ipv6Sock);
    }

    #[test]
    fn datagram_roles_are_guessed_from_the_process_ports() {
        let mut table = FdTable::default();
        table
            .fds
            .insert(5, sock(FdKind::Ipv4Sock, "10.0.0.79", 40000, "8.8.8.8", 53));
        // Its own destination port counts as bound, its source port as a client port.
        assert_eq!(guessed_role(&table, 5, true), Role::Server);
        assert_eq!(guessed_role(&table, 5, false), Role::Client);
        table.fds.insert(
            6,
            sock(FdKind::Ipv4Sock, "10.0.0.79", 40001, "10.0.0.1", 9999),
        );
        assert_eq!(guessed_role(&table, 6, true), Role::Server);
        table.fds.insert(
            3,
            Fd {
                kind: FdKind::Ipv4ServSock,
                sport: 7777,
                ..Fd::default()
            },
        );
        table.fds.insert(
            7,
            sock(FdKind::Ipv4Sock, "10.0.0.79", 41000, "10.0.0.2", 7777),
        );
        table.fds.remove(&5);
        table.fds.remove(&6);
        assert_eq!(
            guessed_role(&table, 7, false),
            Role::Client,
            "bound to 7777, but 41000 is its own client port"
        );
        table
            .fds
            .insert(8, sock(FdKind::Ipv6Sock, "::1", 0, "::1", 2345));
        assert_eq!(
            guessed_role(&table, 8, true),
            Role::Client,
            "IPv6: ports read from the address bytes (0), nothing bound to 0"
        );
        assert_eq!(guessed_role(&table, 99, true), Role::None);
    }

    #[test]
    fn names() {
        let mut out = Vec::new();
        let mut f = Fd {
            kind: FdKind::Ipv6Sock,
            dip: Some("::1".parse().unwrap()),
            dport: 2345,
            ..Fd::default()
        };
        inet_name(&f, &mut out);
        assert_eq!(out, b":::0->::1:2345");
        f.kind = FdKind::Ipv4ServSock;
        f.sip = Some("0.0.0.0".parse().unwrap());
        f.sport = 22;
        inet_name(&f, &mut out);
        assert_eq!(out, b"0.0.0.0:22");
        let mut f = sock(FdKind::Ipv4Sock, "10.0.0.1", 1, "10.0.0.2", 0);
        f.l4proto = super::super::thread::l4::ICMP;
        tuple_name(&f, &mut out);
        assert_eq!(out, b"10.0.0.1->10.0.0.2");
        f.l4proto = super::super::thread::l4::UDP;
        tuple_name(&f, &mut out);
        assert_eq!(out, b"10.0.0.1:1->10.0.0.2:0");
        f.l4proto = super::super::thread::l4::UNKNOWN;
        tuple_name(&f, &mut out);
        assert_eq!(out, b"<unknown>");
        f.kind = FdKind::UnixSock;
        tuple_name(&f, &mut out);
        assert_eq!(out, b"");
    }
}
