//! Who may take a slot: the table's capacity, the per-address cap, and the reserve for
//! addresses that hold no connection yet.
//!
//! Without a per-address rule one address can fill every slot with idle connections (and
//! refill them after each join timeout), locking everybody else out. So, as ngircd's
//! `MaxConnectionsIP` does, an address may hold at most [`Config::max_per_address`]
//! connections at once, counted in every phase: before the password, before the name,
//! joined, and while being closed. And once fewer than [`reserved_slots`] free slots remain,
//! only an address with no connection at all may take one, so that several hog addresses
//! together still leave room for newcomers.
//!
//! Addresses are compared exactly, IPv6 ones too (an IPv4-mapped address counts as its IPv4
//! address). Counting per IPv6 /64 would put every host of a LAN, which is one /64, under one
//! cap; the price is that a host that makes itself many IPv6 addresses gets a share for each,
//! which [`Config::max_clients`] and the reserve still bound.
//!
//! [`Config::max_per_address`]: crate::Config::max_per_address
//! [`Config::max_clients`]: crate::Config::max_clients

use core::fmt;
use core::net::IpAddr;

use super::Server;
use crate::config::reserved_slots;
use crate::dialect::Dialect;
use crate::irc;
use crate::slot::Phase;
use crate::wire::{ByeCode, FULL_LINE, RESERVED_LINE, TOO_MANY_LINE};

/// Why [`Server::accept`] turned a connection away; it names the `BYE` line to send before
/// closing the socket ([`Refused::line`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every slot is taken, or the server is shutting down: `BYE full`.
    Full,
    /// The address already holds [`crate::Config::max_per_address`] connections:
    /// `BYE too-many`.
    PerAddress,
    /// Only reserved slots are left, and the address already holds a connection:
    /// `BYE too-many`.
    Reserve,
}

impl Refused {
    /// Return the code of the `BYE` line this refusal is told with.
    pub fn code(self) -> ByeCode {
        match self {
            Refused::Full => ByeCode::Full,
            Refused::PerAddress | Refused::Reserve => ByeCode::TooMany,
        }
    }

    /// Return the whole line to write to a connection speaking `dialect`: [`Refused::line`]
    /// for the native protocol, its IRC twin (`ERROR :Closing link: …`, with CRLF) for IRC.
    pub fn line_in(self, dialect: Dialect) -> &'static [u8] {
        match (dialect, self) {
            (Dialect::Native, _) => self.line(),
            (Dialect::Irc, Refused::Full) => irc::FULL_LINE,
            (Dialect::Irc, Refused::PerAddress) => irc::TOO_MANY_LINE,
            (Dialect::Irc, Refused::Reserve) => irc::RESERVED_LINE,
        }
    }

    /// Return the whole `BYE` line to write, with its `\n`, for the native protocol.
    pub fn line(self) -> &'static [u8] {
        match self {
            Refused::Full => FULL_LINE,
            Refused::PerAddress => TOO_MANY_LINE,
            Refused::Reserve => RESERVED_LINE,
        }
    }

    /// Return the sentence the `BYE` line carries after its code, for people to read (and
    /// for another dialect to wrap in its own closing message).
    pub fn text(self) -> &'static str {
        let line = self.line();
        let after_code = "BYE ".len() + self.code().as_str().len() + 1;
        line.get(after_code..line.len() - 1)
            .and_then(|t| core::str::from_utf8(t).ok())
            .unwrap_or("")
    }

    /// Return the word the `refused … reason=` log line uses: which rule refused.
    pub fn reason(self) -> &'static str {
        match self {
            Refused::Full => "full",
            Refused::PerAddress => "per-address",
            Refused::Reserve => "reserve",
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::Full => "every client slot is taken",
            Refused::PerAddress => "the address holds as many connections as one may",
            Refused::Reserve => "the last slots are kept for addresses with no connection",
        })
    }
}

impl core::error::Error for Refused {}

impl<const N: usize> Server<N> {
    /// Return how many connections (in any phase) `ip` holds.
    pub fn connections_from(&self, ip: IpAddr) -> usize {
        let ip = ip.to_canonical();
        self.slots
            .iter()
            .filter(|s| s.phase != Phase::Free)
            .filter(|s| s.peer.is_some_and(|p| p.ip().to_canonical() == ip))
            .count()
    }

    /// Decide whether a new connection from `ip` may take a slot, before taking one.
    ///
    /// Every way in goes through here, whatever protocol the connection speaks.
    pub(super) fn admit_peer(&self, ip: IpAddr) -> Result<(), Refused> {
        let open = self.connections();
        let max = self.config.max_clients;
        if self.shutting_down || open >= max {
            return Err(Refused::Full);
        }
        let Some(cap) = self.config.max_per_address else {
            return Ok(());
        };
        let mine = self.connections_from(ip);
        if mine >= cap {
            return Err(Refused::PerAddress);
        }
        if mine > 0 && open >= max.saturating_sub(reserved_slots(max)) {
            return Err(Refused::Reserve);
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::config::{Config, DEFAULT_MAX_PER_ADDRESS};
    use crate::server::CloseReason;
    use crate::testing::Sim;
    use crate::time::Duration;
    use crate::wire::{Code, ServerLine};
    use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::string::String;
    use std::vec::Vec;

    fn from(ip: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((ip, port))
    }

    fn open_config() -> Config {
        Config {
            flood: None,
            ..Config::default()
        }
    }

    /// Accept connections from `ip` until one is refused (or `tries` are made); return how
    /// many got in and the refusal.
    fn fill<const N: usize>(s: &mut Sim<N>, ip: [u8; 4], tries: u16) -> (usize, Option<Refused>) {
        for k in 0..tries {
            if let Err(r) = s.accept(from(ip, 10_000 + k)) {
                return (usize::from(k), Some(r));
            }
        }
        (usize::from(tries), None)
    }

    #[test]
    fn one_address_with_idle_connections_cannot_fill_the_table() {
        // Issue 10.1: as many idle connections from one address as the table has slots (256
        // in the daemon) locked everybody else out.
        let mut s: Sim<32> = Sim::new(open_config());
        let hog = [127, 0, 0, 2];
        let mut got_in = 0;
        let mut refused = Vec::new();
        for k in 0..32 {
            match s.accept(from(hog, 20_000 + k)) {
                Ok(_) => got_in += 1,
                Err(r) => refused.push(r),
            }
        }
        assert_eq!(got_in, DEFAULT_MAX_PER_ADDRESS);
        assert!(refused.iter().all(|&r| r == Refused::PerAddress));
        assert_eq!(
            s.server.connections_from(hog.into()),
            DEFAULT_MAX_PER_ADDRESS
        );
        let other = s
            .accept(from([127, 0, 0, 3], 5000))
            .expect("another address gets in");
        s.drain_all();
        assert!(s.take_lines(other)[0].starts_with("HELLO "));
    }

    #[test]
    fn every_phase_counts_towards_the_cap() {
        let mut cfg = Config {
            max_per_address: Some(4),
            ..open_config()
        };
        cfg.set_password(b"sesame").unwrap();
        let mut s: Sim<32> = Sim::new(cfg);
        let a = [10, 0, 0, 1];
        let joined = s.accept(from(a, 1)).unwrap();
        s.send(joined, b"sesame\nana\n");
        let named = s.accept(from(a, 2)).unwrap();
        s.send(named, b"sesame\n");
        let quitting = s.accept(from(a, 3)).unwrap();
        s.send(quitting, b"sesame\nbob\n/quit\n");
        let _asked = s.accept(from(a, 4)).unwrap();
        assert_eq!(s.server.phase(joined), Phase::Joined);
        assert_eq!(s.server.phase(named), Phase::AwaitName);
        assert_eq!(s.server.phase(quitting), Phase::Closing);
        assert_eq!(s.accept(from(a, 5)), Err(Refused::PerAddress));
        // The same address as IPv4-mapped IPv6 is the same address.
        let mapped = SocketAddr::new(Ipv4Addr::from(a).to_ipv6_mapped().into(), 6);
        assert_eq!(s.accept(mapped), Err(Refused::PerAddress));
        assert!(
            s.accept(from([10, 0, 0, 2], 1)).is_ok(),
            "others are unaffected"
        );
        // Once a connection is really gone, the address may open another.
        assert_eq!(s.server.poll_close(), Some(quitting));
        s.server.closed(s.now(), quitting, CloseReason::Closed);
        assert!(s.accept(from(a, 7)).is_ok());
        // IPv6 addresses count one by one, even within one /64 (a LAN is one /64).
        let v6 = |n| SocketAddr::new(Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, n).into(), 9);
        for _ in 0..4 {
            s.accept(v6(1)).unwrap();
        }
        assert_eq!(s.accept(v6(1)), Err(Refused::PerAddress));
        assert!(s.accept(v6(2)).is_ok());
    }

    #[test]
    fn the_last_slots_go_to_addresses_with_no_connection() {
        // 32 slots keep 2 for newcomers; a cap as big as the table leaves the reserve alone.
        let mut s: Sim<32> = Sim::new(Config {
            max_clients: 32,
            max_per_address: Some(32),
            ..open_config()
        });
        assert_eq!(reserved_slots(32), 2);
        let (hog, b, c, d) = ([10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3], [10, 0, 0, 4]);
        assert_eq!(fill(&mut s, hog, 64), (30, Some(Refused::Reserve)));
        let b1 = s
            .accept(from(b, 1))
            .expect("a newcomer takes a reserved slot");
        assert_eq!(s.accept(from(b, 2)), Err(Refused::Reserve));
        s.accept(from(c, 1)).expect("so does another");
        assert_eq!(s.accept(from(d, 1)), Err(Refused::Full));
        s.drain_all();
        let bye = s.take_lines(b1);
        assert!(bye[0].starts_with("HELLO "), "{bye:?}");
        // A slot frees: the hog, holding connections, still may not take it; a newcomer may.
        s.server.closed(s.now(), b1, CloseReason::Eof);
        assert_eq!(s.accept(from(hog, 99)), Err(Refused::Reserve));
        assert!(s.accept(from(d, 2)).is_ok());
    }

    #[test]
    fn without_a_cap_there_is_no_reserve_either() {
        let mut s: Sim<32> = Sim::new(Config {
            max_per_address: None,
            ..open_config()
        });
        assert_eq!(fill(&mut s, [10, 0, 0, 1], 64), (32, Some(Refused::Full)));
    }

    #[test]
    fn a_hog_reconnecting_after_each_join_timeout_never_locks_others_out() {
        // Issue 10.1: a hog that refills the table after every join timeout kept everybody
        // out for good. With 32 slots (2 reserved) and 4 connections an address, it takes
        // 28 / 4 + 1 + 2 = 10 addresses to fill the table: a hog with 9 never does, so a
        // newcomer always finds a slot.
        let mut s: Sim<32> = Sim::new(Config {
            join_timeout: Duration::from_secs(1),
            max_per_address: Some(4),
            ..open_config()
        });
        for round in 0..5u8 {
            for h in 1..=9 {
                fill(&mut s, [10, 0, 0, h], 32);
            }
            assert_eq!(s.server.connections(), 31, "round {round}");
            let who = s
                .accept(from([192, 168, 1, round], 1))
                .expect("a newcomer gets in");
            let name = std::format!("new{round}");
            s.send(who, std::format!("{name}\n").as_bytes());
            s.drain_all();
            let lines: Vec<String> = s.take_lines(who);
            assert!(lines.iter().any(|l| l.starts_with("WELCOME ")), "{lines:?}");
            // Time out the hog's idle connections (the newcomer, joined, stays); the hog
            // comes straight back next round, and so does a newcomer.
            s.advance(Duration::from_secs(1));
            let now = s.now();
            s.server.tick(now);
            while let Some(id) = s.server.poll_close() {
                s.server.closed(now, id, CloseReason::Closed);
            }
            assert_eq!(s.server.connections(), 1, "only the newcomer stays");
            s.server.closed(now, who, CloseReason::Eof);
        }
    }

    #[test]
    fn each_refusal_names_a_bye_line_that_parses_back() {
        for r in [Refused::Full, Refused::PerAddress, Refused::Reserve] {
            let line = core::str::from_utf8(r.line()).expect("UTF-8");
            let text = line.strip_suffix('\n').expect("a whole line");
            assert_eq!(
                ServerLine::parse(text),
                Ok(ServerLine::Bye {
                    code: Code::Known(r.code()),
                    text: r.text(),
                }),
                "{line}"
            );
            assert!(r.text().ends_with('.'), "{:?}", r.text());
        }
        assert_eq!(Refused::Full.code(), ByeCode::Full);
        assert_eq!(Refused::Reserve.code().as_str(), "too-many");
    }
}
