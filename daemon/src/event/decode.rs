//! Wire decoding of parameter values: integers of any width, NUL-terminated strings,
//! socket addresses and tuples, poll fd lists. Every function is total: malformed input
//! yields `None`, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// PPM socket families as they appear in sockaddr/socktuple parameters.
pub const AF_UNIX: u8 = 1;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// Unsigned little-endian integer of width 1, 2, 4 or 8.
pub fn uint(b: &[u8]) -> Option<u64> {
    Some(match b.len() {
        1 => b[0] as u64,
        2 => u16::from_le_bytes([b[0], b[1]]) as u64,
        4 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64,
        8 => u64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// Signed little-endian integer of width 1, 2, 4 or 8, sign-extended.
pub fn int(b: &[u8]) -> Option<i64> {
    Some(match b.len() {
        1 => b[0] as i8 as i64,
        2 => i16::from_le_bytes([b[0], b[1]]) as i64,
        4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
        8 => i64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// A string parameter up to (not including) its first NUL.
pub fn cstr(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// A decoded PT_SOCKADDR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockAddr<'a> {
    Inet(IpAddr, u16),
    Unix(&'a [u8]),
    Other(u8),
}

/// Decodes a PT_SOCKADDR parameter.
pub fn sockaddr(b: &[u8]) -> Option<SockAddr<'_>> {
    let fam = *b.first()?;
    Some(match fam {
        AF_INET if b.len() >= 7 => SockAddr::Inet(
            IpAddr::V4(Ipv4Addr::new(b[1], b[2], b[3], b[4])),
            u16::from_le_bytes([b[5], b[6]]),
        ),
        AF_INET6 if b.len() >= 19 => SockAddr::Inet(
            unmapped(ipv6(&b[1..17])?),
            u16::from_le_bytes([b[17], b[18]]),
        ),
        AF_UNIX => SockAddr::Unix(cstr(&b[1..])),
        f => SockAddr::Other(f),
    })
}

/// A decoded PT_SOCKTUPLE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockTuple<'a> {
    Inet {
        sip: IpAddr,
        sport: u16,
        dip: IpAddr,
        dport: u16,
    },
    Unix {
        source: u64,
        dest: u64,
        path: &'a [u8],
    },
    Other(u8),
}

fn ipv6(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 16] = b.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

/// An address as libsinsp keeps a bound or single one: IPv4-mapped IPv6 becomes IPv4.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The two ends of an inet tuple as libsinsp keeps and prints them: both IPv4-mapped IPv6
/// addresses become IPv4; one alone does not (the tuple stays IPv6).
pub fn unmapped_pair(sip: IpAddr, dip: IpAddr) -> (IpAddr, IpAddr) {
    match (sip, dip) {
        (IpAddr::V6(s), IpAddr::V6(d)) => match (s.to_ipv4_mapped(), d.to_ipv4_mapped()) {
            (Some(s), Some(d)) => (IpAddr::V4(s), IpAddr::V4(d)),
            _ => (sip, dip),
        },
        _ => (sip, dip),
    }
}

/// Decodes a PT_SOCKTUPLE parameter.
pub fn socktuple(b: &[u8]) -> Option<SockTuple<'_>> {
    let fam = *b.first()?;
    Some(match fam {
        AF_INET if b.len() >= 13 => SockTuple::Inet {
            sip: IpAddr::V4(Ipv4Addr::new(b[1], b[2], b[3], b[4])),
            sport: u16::from_le_bytes([b[5], b[6]]),
            dip: IpAddr::V4(Ipv4Addr::new(b[7], b[8], b[9], b[10])),
            dport: u16::from_le_bytes([b[11], b[12]]),
        },
        AF_INET6 if b.len() >= 37 => {
            let (sip, dip) = unmapped_pair(ipv6(&b[1..17])?, ipv6(&b[19..35])?);
            SockTuple::Inet {
                sip,
                sport: u16::from_le_bytes([b[17], b[18]]),
                dip,
                dport: u16::from_le_bytes([b[35], b[36]]),
            }
        }
        AF_UNIX if b.len() >= 17 => SockTuple::Unix {
            source: u64::from_le_bytes(b[1..9].try_into().ok()?),
            dest: u64::from_le_bytes(b[9..17].try_into().ok()?),
            path: cstr(&b[17..]),
        },
        f => SockTuple::Other(f),
    })
}

/// Iterates a PT_FDLIST: `u16 count` then `count × (i64 fd, i16 flags)`; stops at the
/// first entry that does not fit.
pub fn fdlist(b: &[u8]) -> impl Iterator<Item = (i64, i16)> + '_ {
    let count = if b.len() >= 2 {
        u16::from_le_bytes([b[0], b[1]]) as usize
    } else {
        0
    };
    (0..count).map_while(move |i| {
        let off = 2 + i * 10;
        let e = b.get(off..off + 10)?;
        Some((int(&e[..8])?, i16::from_le_bytes([e[8], e[9]])))
    })
}

/// Iterates the NUL-separated strings of an argv/env/cgroups list (empty trailing item
/// dropped).
pub fn string_list(b: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    let empty = b.is_empty();
    b.split(|c| *c == 0).filter(move |_| !empty)
}

/// Raw parameters for tests.
#[cfg(test)]
pub(crate) mod test_bytes {
    use std::net::Ipv6Addr;

    /// A PT_SOCKTUPLE of two IPv6 ends.
    pub fn inet6_tuple(s: &str, sport: u16, d: &str, dport: u16) -> Vec<u8> {
        let mut t = inet6_sockaddr(s, sport);
        t.extend(&inet6_sockaddr(d, dport)[1..]);
        t
    }

    /// A PT_SOCKADDR of an IPv6 address and port.
    pub fn inet6_sockaddr(a: &str, port: u16) -> Vec<u8> {
        let mut t = vec![10u8];
        t.extend(a.parse::<Ipv6Addr>().unwrap().octets());
        t.extend(port.to_le_bytes());
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_by_width() {
        assert_eq!(uint(&[0xff]), Some(255));
        assert_eq!(int(&[0xff]), Some(-1));
        assert_eq!(int(&(-115i64).to_le_bytes()), Some(-115));
        assert_eq!(uint(&[1, 2, 3]), None);
    }

    #[test]
    fn tuples_and_addresses() {
        let t = [2, 127, 0, 0, 1, 0x5c, 0xb8, 127, 0, 0, 1, 0x50, 0];
        assert_eq!(
            socktuple(&t),
            Some(SockTuple::Inet {
                sip: "127.0.0.1".parse().unwrap(),
                sport: 47196,
                dip: "127.0.0.1".parse().unwrap(),
                dport: 80
            })
        );
        let mut u = vec![1u8];
        u.extend_from_slice(&0u64.to_le_bytes());
        u.extend_from_slice(&0xffff_94dc_817b_9400u64.to_le_bytes());
        u.extend_from_slice(b"/var/run/nscd/socket\0");
        assert!(matches!(
            socktuple(&u),
            Some(SockTuple::Unix {
                path: b"/var/run/nscd/socket",
                ..
            })
        ));
        assert_eq!(socktuple(&[2, 1, 2]), Some(SockTuple::Other(2)));
        // IPv6 tuples: both ends IPv4-mapped read as IPv4, one alone stays IPv6.
        let v6 = |s: &str, d: &str| test_bytes::inet6_tuple(s, 1, d, 2);
        let ends = |t: &[u8]| match socktuple(t) {
            Some(SockTuple::Inet { sip, dip, .. }) => Some((sip.to_string(), dip.to_string())),
            _ => None,
        };
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        let mapped = v6("::ffff:10.0.0.1", "::ffff:10.0.0.2");
        assert_eq!(ends(&mapped), pair("10.0.0.1", "10.0.0.2"));
        let mixed = v6("::ffff:10.0.0.1", "::1");
        assert_eq!(ends(&mixed), pair("::ffff:10.0.0.1", "::1"));
        assert_eq!(
            sockaddr(&test_bytes::inet6_sockaddr("::ffff:10.0.0.1", 80)),
            Some(SockAddr::Inet("10.0.0.1".parse().unwrap(), 80))
        );
        let a = [2, 10, 0, 0, 1, 0x35, 0];
        assert_eq!(
            sockaddr(&a),
            Some(SockAddr::Inet("10.0.0.1".parse().unwrap(), 53))
        );
    }

    #[test]
    fn lists() {
        let mut f = vec![2u8, 0];
        f.extend_from_slice(&4i64.to_le_bytes());
        f.extend_from_slice(&1i16.to_le_bytes());
        f.extend_from_slice(&5i64.to_le_bytes()); // truncated second entry
        assert_eq!(fdlist(&f).collect::<Vec<_>>(), vec![(4, 1)]);
        assert_eq!(
            string_list(b"a\0bc\0").collect::<Vec<_>>(),
            vec![&b"a"[..], b"bc"]
        );
        assert_eq!(string_list(b"").count(), 0);
    }
}
