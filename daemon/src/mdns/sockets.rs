//! The UDP sockets on port 5353, one per IP version, shared with any other mDNS responder on
//! the machine (Avahi, systemd-resolved).
//!
//! Sharing: each socket sets `SO_REUSEADDR` and `SO_REUSEPORT` before binding, as Avahi does;
//! Linux lets two UDP sockets share a port when both set either option (`SO_REUSEPORT` only
//! between sockets of the same user), and hands every multicast datagram to each socket that
//! joined the group. A *unicast* datagram to port 5353 reaches only one of them (RFC 6762
//! section 15.1): chatd never asks for unicast replies, and legacy queries come from other
//! ports, so this costs nothing here. Multicast loopback stays on so that Avahi and chatc on
//! the same machine see chatd, and chatd sees them; chatd recognises its own packets.
//!
//! Receiving asks the kernel for the arrival interface (`IP_PKTINFO`, `IPV6_RECVPKTINFO`);
//! sending picks the interface with `IP_MULTICAST_IF` / `IPV6_MULTICAST_IF`. Nothing here
//! blocks (the sockets are non-blocking) or allocates per packet.

use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use chat_mdns::{Family, Interface, Transmit, GROUP_V4, GROUP_V6, PORT};
use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

/// Hop limit of everything sent (RFC 6762 section 11).
const HOPS: u32 = 255;

/// A packet read from a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Its length at the start of the buffer.
    pub len: usize,
    /// The sender.
    pub from: SocketAddr,
    /// The interface it arrived on.
    pub iface: u32,
}

/// The two sockets (either may be missing: no IPv6 on the machine, say) and the interfaces
/// each has joined the group on.
#[derive(Debug)]
pub struct Sockets {
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    joined_v4: Vec<u32>,
    joined_v6: Vec<u32>,
    /// Room for one control message of either kind, allocated once.
    cmsg: Vec<u8>,
}

impl Sockets {
    /// Open and bind both sockets; fail only if neither can be had (the error is the IPv4
    /// one's). The IPv6 error, if any, is returned for the log.
    pub fn open() -> io::Result<(Sockets, Option<io::Error>)> {
        let v4 = open_v4();
        let v6 = open_v6();
        let (v4, v6, note) = match (v4, v6) {
            (Ok(a), Ok(b)) => (Some(a), Some(b), None),
            (Ok(a), Err(e)) => (Some(a), None, Some(e)),
            (Err(e), Ok(b)) => (None, Some(b), Some(e)),
            (Err(e), Err(_)) => return Err(e),
        };
        let space = nix::cmsg_space!(nix::libc::in6_pktinfo)
            .len()
            .max(nix::cmsg_space!(nix::libc::in_pktinfo).len());
        Ok((
            Sockets {
                v4,
                v6,
                joined_v4: Vec::new(),
                joined_v6: Vec::new(),
                cmsg: vec![0; space],
            },
            note,
        ))
    }

    /// Return the socket of `family`, if open.
    pub fn socket(&self, family: Family) -> Option<&UdpSocket> {
        match family {
            Family::V4 => self.v4.as_ref(),
            Family::V6 => self.v6.as_ref(),
        }
    }

    /// Join the group on each interface of `ifaces` not joined yet, and leave it on those
    /// gone. Return the failures, for the log.
    pub fn join(&mut self, ifaces: &[Interface]) -> Vec<(u32, io::Error)> {
        let mut failed = Vec::new();
        if let Some(s) = &self.v4 {
            let s = socket2::SockRef::from(s);
            for i in ifaces.iter().filter(|i| i.has(Family::V4)) {
                if self.joined_v4.contains(&i.index()) {
                    continue;
                }
                let at = InterfaceIndexOrAddress::Index(i.index());
                match s.join_multicast_v4_n(&GROUP_V4, &at) {
                    Ok(()) => self.joined_v4.push(i.index()),
                    Err(e) if e.raw_os_error() == Some(Errno::EADDRINUSE as i32) => {
                        self.joined_v4.push(i.index());
                    }
                    Err(e) => failed.push((i.index(), e)),
                }
            }
            self.joined_v4.retain(|&j| {
                let keep = ifaces.iter().any(|i| i.index() == j && i.has(Family::V4));
                if !keep {
                    let _ = s.leave_multicast_v4_n(&GROUP_V4, &InterfaceIndexOrAddress::Index(j));
                }
                keep
            });
        }
        if let Some(s) = &self.v6 {
            for i in ifaces.iter().filter(|i| i.has(Family::V6)) {
                if self.joined_v6.contains(&i.index()) {
                    continue;
                }
                match s.join_multicast_v6(&GROUP_V6, i.index()) {
                    Ok(()) => self.joined_v6.push(i.index()),
                    Err(e) if e.raw_os_error() == Some(Errno::EADDRINUSE as i32) => {
                        self.joined_v6.push(i.index());
                    }
                    Err(e) => failed.push((i.index(), e)),
                }
            }
            self.joined_v6.retain(|&j| {
                let keep = ifaces.iter().any(|i| i.index() == j && i.has(Family::V6));
                if !keep {
                    let _ = s.leave_multicast_v6(&GROUP_V6, j);
                }
                keep
            });
        }
        failed
    }

    /// Read one packet from the socket of `family` into `buf`; `WouldBlock` when there is
    /// none. A packet longer than `buf` is read and dropped (as `Ok(None)`).
    pub fn recv(
        &mut self,
        family: Family,
        buf: &mut [u8],
    ) -> nb::Result<Option<Received>, io::Error> {
        let Some(s) = self.socket(family) else {
            return Err(nb::Error::WouldBlock);
        };
        let fd = s.as_raw_fd();
        let mut iov = [IoSliceMut::new(buf)];
        let msg = loop {
            match socket::recvmsg::<SockaddrStorage>(
                fd,
                &mut iov,
                Some(&mut self.cmsg[..]),
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(m) => break m,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Err(nb::Error::WouldBlock),
                Err(e) => return Err(nb::Error::Other(e.into())),
            }
        };
        if msg
            .flags
            .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC)
        {
            return Ok(None);
        }
        let mut iface = 0;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                match c {
                    ControlMessageOwned::Ipv4PacketInfo(p) => iface = p.ipi_ifindex as u32,
                    ControlMessageOwned::Ipv6PacketInfo(p) => iface = p.ipi6_ifindex,
                    _ => {}
                }
            }
        }
        let from = msg.address.as_ref().and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| SocketAddr::V4(SocketAddrV4::from(*v4)))
                .or_else(|| {
                    a.as_sockaddr_in6()
                        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
                })
        });
        let len = msg.bytes;
        match from {
            Some(from) if iface != 0 => Ok(Some(Received { len, from, iface })),
            _ => Ok(None),
        }
    }

    /// Send what the responder composed, out of the interface it names; a full socket
    /// buffer drops the packet (mDNS repeats itself).
    pub fn send(&self, t: &Transmit, bytes: &[u8], iface: &Interface) -> io::Result<()> {
        let Some(s) = self.socket(t.family) else {
            return Ok(());
        };
        let to = match (t.family, t.to) {
            (_, Some(to)) => to,
            (Family::V4, None) => {
                let Some(own) = iface.v4().next() else {
                    return Ok(());
                };
                socket2::SockRef::from(s).set_multicast_if_v4(&own)?;
                SocketAddr::V4(SocketAddrV4::new(GROUP_V4, PORT))
            }
            (Family::V6, None) => {
                socket2::SockRef::from(s).set_multicast_if_v6(t.iface)?;
                SocketAddr::V6(SocketAddrV6::new(GROUP_V6, PORT, 0, t.iface))
            }
        };
        match s.send_to(bytes, to) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Make a non-blocking, close-on-exec UDP socket bound to port 5353 with the sharing options.
fn shared(domain: Domain, addr: SocketAddr, v6only: bool) -> io::Result<Socket> {
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    if v6only {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s)
}

fn open_v4() -> io::Result<UdpSocket> {
    let s = shared(
        Domain::IPV4,
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT)),
        false,
    )?;
    s.set_multicast_loop_v4(true)?;
    s.set_multicast_ttl_v4(HOPS)?;
    s.set_ttl_v4(HOPS)?;
    let fd: OwnedFd = s.into();
    socket::setsockopt(&fd, sockopt::Ipv4PacketInfo, &true)?;
    Ok(UdpSocket::from(fd))
}

fn open_v6() -> io::Result<UdpSocket> {
    let s = shared(
        Domain::IPV6,
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, PORT)),
        true,
    )?;
    s.set_multicast_loop_v6(true)?;
    s.set_multicast_hops_v6(HOPS)?;
    s.set_unicast_hops_v6(HOPS)?;
    let fd: OwnedFd = s.into();
    socket::setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true)?;
    Ok(UdpSocket::from(fd))
}
