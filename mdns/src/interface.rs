//! A network interface as the responder sees it: its index and the addresses it may announce
//! there, each with its prefix length (to tell on-link senders from others).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Family;

/// Addresses of one family kept per interface; more are ignored.
pub const MAX_ADDRS: usize = 8;

/// One interface mDNS runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    index: u32,
    v4: heapless::Vec<(Ipv4Addr, u8), MAX_ADDRS>,
    v6: heapless::Vec<(Ipv6Addr, u8), MAX_ADDRS>,
}

impl Interface {
    /// Make an interface with the kernel's index (`if_nametoindex`) and no address yet.
    pub fn new(index: u32) -> Interface {
        Interface {
            index,
            v4: heapless::Vec::new(),
            v6: heapless::Vec::new(),
        }
    }

    /// Add an address with its prefix length; return false if it was already there or there
    /// is no room left for its family.
    pub fn add(&mut self, addr: IpAddr, prefix: u8) -> bool {
        match addr {
            IpAddr::V4(a) => {
                !self.v4.iter().any(|&(b, _)| b == a) && self.v4.push((a, prefix.min(32))).is_ok()
            }
            IpAddr::V6(a) => {
                !self.v6.iter().any(|&(b, _)| b == a) && self.v6.push((a, prefix.min(128))).is_ok()
            }
        }
    }

    /// Return the kernel's index of the interface.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Return the IPv4 addresses to announce here.
    pub fn v4(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.v4.iter().map(|&(a, _)| a)
    }

    /// Return the IPv6 addresses to announce here.
    pub fn v6(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.v6.iter().map(|&(a, _)| a)
    }

    /// Return whether the interface has an address of `family` (and so can send on it).
    pub fn has(&self, family: Family) -> bool {
        match family {
            Family::V4 => !self.v4.is_empty(),
            Family::V6 => !self.v6.is_empty(),
        }
    }

    /// Return whether `addr` is one of this interface's addresses.
    pub fn owns(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4().any(|b| b == a),
            IpAddr::V6(a) => self.v6().any(|b| b == a),
        }
    }

    /// Return whether a packet from `addr` comes from this interface's link: an IPv4
    /// address in one of its subnets, an IPv6 link-local address, or one in its prefixes
    /// (RFC 6762 section 11: anything else is ignored).
    pub fn on_link(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self
                .v4
                .iter()
                .any(|&(b, len)| same_prefix(&a.octets(), &b.octets(), len)),
            IpAddr::V6(a) => {
                if let Some(v4) = a.to_ipv4_mapped() {
                    return self.on_link(IpAddr::V4(v4));
                }
                (a.segments()[0] & 0xffc0) == 0xfe80
                    || self
                        .v6
                        .iter()
                        .any(|&(b, len)| same_prefix(&a.octets(), &b.octets(), len))
            }
        }
    }
}

/// Return whether the first `len` bits of `a` and `b` agree.
fn same_prefix(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len).min(a.len() * 8);
    let (whole, rest) = (len / 8, len % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[whole] & mask) == (b[whole] & mask)
}

#[cfg(test)]
mod test {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn on_link_means_in_a_subnet_or_link_local() {
        let mut i = Interface::new(2);
        assert!(i.add(ip("192.168.1.10"), 24));
        assert!(!i.add(ip("192.168.1.10"), 24), "no duplicates");
        assert!(i.add(ip("fd00:1::5"), 64));
        assert!(i.on_link(ip("192.168.1.77")));
        assert!(!i.on_link(ip("192.168.2.77")));
        assert!(!i.on_link(ip("8.8.8.8")));
        assert!(i.on_link(ip("fe80::1234")));
        assert!(i.on_link(ip("fd00:1::99")));
        assert!(!i.on_link(ip("2001:db8::1")));
        assert!(i.on_link(ip("::ffff:192.168.1.3")));
        assert!(i.has(Family::V4) && i.has(Family::V6));
        assert!(i.owns(ip("192.168.1.10")) && !i.owns(ip("192.168.1.11")));
        let mut j = Interface::new(3);
        assert!(j.add(ip("10.1.2.3"), 20));
        assert!(j.on_link(ip("10.1.15.255")) && !j.on_link(ip("10.1.16.0")));
        assert!(!j.has(Family::V6));
    }

    #[test]
    fn room_is_bounded() {
        let mut i = Interface::new(1);
        for n in 0..MAX_ADDRS as u8 {
            assert!(i.add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), 8));
        }
        assert!(!i.add(ip("10.0.1.1"), 8));
        assert_eq!(i.v4().count(), MAX_ADDRS);
    }
}
