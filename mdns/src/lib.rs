//! chat-mdns: multicast DNS (RFC 6762) and DNS-based service discovery (RFC 6763) for chatd,
//! without sockets and without a clock.
//!
//! chatd runs a [`Responder`]: it is told the services to announce ([`Service`], built from the
//! daemon's listeners), the interfaces and their addresses ([`Interface`]), and every packet
//! that arrives on UDP port 5353; it says what to send and when ([`Responder::poll_transmit`],
//! [`Responder::poll_at`]). It probes for its names, announces them, answers queries, renames
//! itself on a conflict and says goodbye on shutdown. chatc runs a [`Browser`]: it composes the
//! query, reads the answers and assembles the servers found ([`Server`]).
//!
//! DNS messages are parsed and composed by the `domain` crate: parsing borrows the received
//! bytes and composing writes into a fixed-size buffer, so the responder allocates nothing
//! for a packet it reads or sends. The TXT keys both sides agree on are in [`txt`].

pub mod browse;
pub mod interface;
pub mod names;
mod records;
pub mod responder;
pub mod service;
pub mod txt;

use std::net::{Ipv4Addr, Ipv6Addr};

pub use browse::{Browser, Server};
pub use interface::Interface;
pub use names::{HostLabel, InstanceLabel};
pub use records::MAX_SERVICES;
pub use responder::{Event, Responder, Source, Transmit};
pub use service::{Service, ServiceType};
pub use txt::TxtRecord;

/// The UDP port of multicast DNS.
pub const PORT: u16 = 5353;

/// The IPv4 multicast group of mDNS.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);

/// The IPv6 multicast group of mDNS (link-local scope).
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);

/// The largest mDNS message read (RFC 6762 section 17).
pub const MAX_PACKET: usize = 9000;

/// The largest message composed: fits the minimum IPv6 MTU (1280) after the IPv6 and UDP
/// headers, so nothing is ever fragmented.
pub const SEND_MAX: usize = 1232;

/// Which IP version a packet travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4, group 224.0.0.251.
    V4,
    /// IPv6, group ff02::fb.
    V6,
}
