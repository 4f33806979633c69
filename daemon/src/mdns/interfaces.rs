//! Which interfaces mDNS runs on: every interface that is up, can multicast and is not the
//! loopback, with the addresses on it that some listener accepts connections to.
//!
//! `getifaddrs(3)` reads them over a netlink socket (hence `AF_NETLINK` in the systemd
//! unit's `RestrictAddressFamilies=`: it only reads, and changing anything would take a
//! capability chatd does not have). The scan is repeated every
//! [`RESCAN`](super::RESCAN), so a new interface or a new DHCP lease is picked up; it
//! allocates, but only then, never per packet or per chat message.

use std::io;
use std::net::IpAddr;

use chat_mdns::Interface;
use nix::ifaddrs::getifaddrs;
use nix::net::if_::{if_nametoindex, InterfaceFlags};
use nix::sys::socket::SockaddrLike;

/// An interface found by a scan, with its name for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its name, e.g. `eth0`.
    pub name: String,
    /// Its index and the addresses to announce there.
    pub iface: Interface,
}

/// Scan the system's interfaces; keep the addresses for which `accepts` is true, and the
/// interfaces left with at least one.
pub fn scan(accepts: impl Fn(IpAddr) -> bool) -> io::Result<Vec<Found>> {
    let wanted = InterfaceFlags::IFF_UP | InterfaceFlags::IFF_MULTICAST;
    let mut entries: Vec<(String, IpAddr, u8)> = getifaddrs()?
        .filter(|ifa| {
            ifa.flags.contains(wanted) && !ifa.flags.contains(InterfaceFlags::IFF_LOOPBACK)
        })
        .filter_map(|ifa| {
            let (ip, prefix) = address(&ifa)?;
            accepts(ip).then_some((ifa.interface_name, ip, prefix))
        })
        .collect();
    // In a fixed order, so that a scan of an unchanged system compares equal to the last.
    entries.sort();
    let mut found: Vec<Found> = Vec::new();
    for (name, ip, prefix) in entries {
        let at = match found.iter().position(|f| f.name == name) {
            Some(at) => at,
            None => {
                let Ok(index) = if_nametoindex(name.as_str()) else {
                    continue;
                };
                found.push(Found {
                    name,
                    iface: Interface::new(index),
                });
                found.len() - 1
            }
        };
        found[at].iface.add(ip, prefix);
    }
    found.sort_by_key(|f| f.iface.index());
    Ok(found)
}

/// Return the IP address of an entry and its prefix length (from the netmask).
fn address(ifa: &nix::ifaddrs::InterfaceAddress) -> Option<(IpAddr, u8)> {
    let addr = ifa.address.as_ref()?;
    let mask = ifa.netmask.as_ref();
    match addr.family()? {
        nix::sys::socket::AddressFamily::Inet => {
            let ip = addr.as_sockaddr_in()?.ip();
            let len = mask
                .and_then(|m| m.as_sockaddr_in())
                .map_or(32, |m| m.ip().to_bits().count_ones());
            Some((IpAddr::V4(ip), len as u8))
        }
        nix::sys::socket::AddressFamily::Inet6 => {
            let ip = addr.as_sockaddr_in6()?.ip();
            let len = mask
                .and_then(|m| m.as_sockaddr_in6())
                .map_or(128, |m| m.ip().to_bits().count_ones());
            Some((IpAddr::V6(ip), len as u8))
        }
        _ => None,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_loopback_is_never_kept() {
        // Whatever this machine has, `lo` is up but is the loopback: never an mDNS link.
        let all = scan(|_| true).expect("getifaddrs works here");
        assert!(all.iter().all(|f| f.name != "lo"));
        assert!(all
            .iter()
            .all(|f| f.iface.has(chat_mdns::Family::V4) || f.iface.has(chat_mdns::Family::V6)));
        let none = scan(|_| false).expect("getifaddrs works here");
        assert!(none.is_empty(), "no address accepted, no interface");
    }
}
