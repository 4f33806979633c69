//! A simulated world around a [`Server`] for tests and fuzzers (feature `test-util`).
//!
//! [`Sim`] drives a server on a simulated clock with no sockets: it feeds a client's bytes the
//! way the daemon does (writing out to everyone whenever [`Server::input`] asks), takes
//! each connection's output as a socket write would, and checks every line a client receives
//! in its dialect. A native line: UTF-8, no control character, a kind this version knows,
//! nothing after `BYE` or `SHUTDOWN`. An IRC line: ended by CRLF, a well-formed IRC message
//! of at most 512 bytes besides its tags, nothing after `ERROR`.
//! The unit tests, the property tests and the `server_events` fuzz target all drive the server
//! through it, so there is one copy of that loop.
//!
//! This module uses `std`; the default build of the crate has neither it nor `alloc`.

use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use core::net::SocketAddr;

use crate::config::{Config, HISTORY_LEN, OUT_QUEUE, RING_BYTES, RING_RECORDS};
use crate::dialect::Dialect;
use crate::irc::{Message, MAX_IRC_LINE};
use crate::server::{ConnId, Refused, Server};
use crate::slot::PRIVATE_HEADER;
use crate::time::{Duration, Instant, Now, Timestamp};
use crate::wire::{has_control, ServerLine};

/// Where the simulated clocks start: the monotonic one at an arbitrary origin, the wall one at
/// 2026-11-29T14:13:05Z, the stamp tests expect on lines.
pub const START: Now = Now {
    instant: Instant::from_millis(7_000),
    wall: Timestamp(1_795_961_585),
};

/// Stack for building a server: it is a few hundred kilobytes per ring, and an unoptimised
/// build may hold more than one copy of it on the stack while moving it into its box.
const BUILD_STACK: usize = 64 << 20;

/// Build a server in a box on a thread with a big stack, as the daemon does.
fn boxed_server<const N: usize>(config: Config) -> Box<Server<N>> {
    std::thread::Builder::new()
        .name("sim-build".into())
        .stack_size(BUILD_STACK)
        .spawn(move || Box::write(Box::new_uninit(), Server::new(config)))
        .expect("start a thread to build the server")
        .join()
        .expect("build the server")
}

/// What one simulated client has received.
#[derive(Debug, Default)]
struct Peer {
    /// Bytes after the last whole line.
    partial: Vec<u8>,
    /// Whole lines not yet taken by [`Sim::take_lines`].
    lines: Vec<String>,
    /// It got `BYE` or `SHUTDOWN` (IRC: `ERROR`): nothing may follow.
    ended: bool,
    /// The protocol it speaks.
    dialect: Dialect,
}

/// A server, a simulated clock, and what each connection has received.
pub struct Sim<const N: usize> {
    /// The server under test (boxed: it is big, and tests move the `Sim` around).
    pub server: Box<Server<N>>,
    now: Now,
    /// What each connection ever accepted received, closed ones too, in order of acceptance.
    peers: Vec<(ConnId, Peer)>,
    /// [`Server::broadcasts`] when [`Sim::drain_all`] last wrote out to everybody.
    written_broadcasts: u64,
    /// A connection was drained only in part since: the next write-out is to everybody.
    partly_drained: bool,
}

impl<const N: usize> Sim<N> {
    /// Make a server with `config`, its clocks at [`START`].
    pub fn new(config: Config) -> Self {
        Sim {
            server: boxed_server(config),
            now: START,
            peers: Vec::new(),
            written_broadcasts: 0,
            partly_drained: false,
        }
    }

    /// Return the simulated time, to pass to the server.
    pub fn now(&self) -> Now {
        self.now
    }

    /// Let `d` pass on the monotonic clock, and as many whole seconds on the wall clock.
    ///
    /// Fractions of a second are not carried, so the wall clock may lag behind; tests about
    /// stamps advance by whole seconds.
    pub fn advance(&mut self, d: Duration) {
        self.now.instant += d;
        self.now.wall.0 = self.now.wall.0.saturating_add(d.as_secs());
    }

    /// Move the wall clock alone by `secs` (back if negative), as NTP or an operator might.
    pub fn shift_wall(&mut self, secs: i64) {
        self.now.wall.0 = self.now.wall.0.saturating_add_signed(secs);
    }

    /// Accept a native connection from `peer`.
    pub fn accept(&mut self, peer: SocketAddr) -> Result<ConnId, Refused> {
        self.accept_as(peer, Dialect::Native)
    }

    /// Accept a connection from `peer` speaking `dialect`.
    pub fn accept_as(&mut self, peer: SocketAddr, dialect: Dialect) -> Result<ConnId, Refused> {
        let id = self.server.accept(self.now, peer, dialect)?;
        // A reused slot's id differs in generation, so this is a new entry.
        let peer = Peer {
            dialect,
            ..Peer::default()
        };
        self.peers.push((id, peer));
        Ok(id)
    }

    /// Feed `bytes` from `id` as the daemon does: whenever [`Server::input`] asks, write out
    /// everything every connection has before feeding the rest. Return how often it asked.
    pub fn send(&mut self, id: ConnId, bytes: &[u8]) -> usize {
        self.feed(id, bytes, true)
    }

    /// Feed `bytes` from `id` while nobody reads: requests to write out are ignored, as by a
    /// caller whose sockets are all full. Return how often it asked.
    pub fn send_unread(&mut self, id: ConnId, bytes: &[u8]) -> usize {
        self.feed(id, bytes, false)
    }

    fn feed(&mut self, id: ConnId, mut bytes: &[u8], write_out: bool) -> usize {
        let mut stops = 0;
        // Each call uses at least one byte, so this ends within `bytes.len()` rounds.
        for _ in 0..=bytes.len() {
            if bytes.is_empty() {
                return stops;
            }
            let fed = self.server.input(self.now, id, bytes);
            assert!(
                (1..=bytes.len()).contains(&fed.used),
                "input used {} of {} bytes",
                fed.used,
                bytes.len()
            );
            bytes = &bytes[fed.used..];
            if fed.write_out {
                stops += 1;
                if write_out {
                    self.drain_all();
                }
            }
        }
        panic!("input made no progress");
    }

    /// Return how many bytes `id` has waiting to be written.
    pub fn pending(&self, id: ConnId) -> usize {
        let mut bufs: Vec<&[u8]> = std::vec![&[]; 2 * (OUT_QUEUE + RING_RECORDS) + 2];
        let k = self.server.outgoing_vectored(id, &mut bufs);
        let n = bufs[..k].iter().map(|b| b.len()).sum();
        assert!(
            n <= OUT_QUEUE + RING_BYTES + MAX_IRC_LINE + 64,
            "{n} bytes pending, over the bound"
        );
        n
    }

    /// Take up to `limit` bytes (all if `None`) of `id`'s output a gather write at a time, as
    /// a socket would, and check every whole line it completes.
    pub fn drain(&mut self, id: ConnId, limit: Option<usize>) {
        self.partly_drained |= limit.is_some();
        let mut left = limit.unwrap_or(usize::MAX);
        let mut got = Vec::new();
        // Each round takes at least one byte, and there are at most this many pending: the
        // queue and the ring, and each listing marker's lines (a few per slot or history line).
        let listing = (N + 2) * MAX_IRC_LINE + 3 * HISTORY_LEN * (MAX_IRC_LINE + 64);
        let most = OUT_QUEUE + RING_BYTES + OUT_QUEUE / PRIVATE_HEADER * listing;
        for _ in 0..=most {
            let mut bufs: [&[u8]; 64] = [&[]; 64];
            let k = self.server.outgoing_vectored(id, &mut bufs);
            if k == 0 || left == 0 {
                break;
            }
            let mut took = 0;
            for b in &bufs[..k] {
                let n = b.len().min(left - took);
                got.extend_from_slice(&b[..n]);
                took += n;
            }
            self.server.consume(id, took);
            left -= took;
        }
        assert!(got.len() <= most, "{} bytes pending", got.len());
        let Some(peer) = self.peer(id) else {
            assert!(got.is_empty(), "output for a connection never accepted");
            return;
        };
        peer.partial.extend_from_slice(&got);
        let mut start = 0;
        while let Some(off) = peer.partial[start..].iter().position(|&b| b == b'\n') {
            let raw = &peer.partial[start..start + off];
            let text = core::str::from_utf8(raw).expect("server lines are UTF-8");
            match peer.dialect {
                Dialect::Native => {
                    assert!(!has_control(text), "control character sent: {text:?}");
                    assert!(!peer.ended, "a line after BYE/SHUTDOWN: {text:?}");
                    match ServerLine::parse(text) {
                        Ok(ServerLine::Unknown(_)) | Err(_) => {
                            panic!("unparsable server line {text:?}")
                        }
                        Ok(ServerLine::Bye { .. } | ServerLine::Shutdown { .. }) => {
                            peer.ended = true;
                        }
                        Ok(_) => {}
                    }
                    peer.lines.push(text.into());
                }
                Dialect::Irc => {
                    let text = text
                        .strip_suffix('\r')
                        .unwrap_or_else(|| panic!("IRC line without CRLF: {text:?}"));
                    check_irc_line(text);
                    assert!(!peer.ended, "a line after ERROR: {text:?}");
                    if Message::parse(text.as_bytes()).is_ok_and(|m| m.command().is("ERROR")) {
                        peer.ended = true;
                    }
                    peer.lines.push(text.into());
                }
            }
            start += off + 1;
        }
        peer.partial.drain(..start);
    }

    /// Write out everything every connection has, as the daemon does: to everybody when a
    /// line for everyone was stored since the last time (or a connection was drained only in
    /// part, as a full socket would leave it), else only to the connections
    /// [`Server::poll_output`] names. Then check that nobody has anything left to write, so
    /// every test also checks that the server names every connection it gives output to.
    pub fn drain_all(&mut self) {
        let broadcasts = self.server.broadcasts();
        if broadcasts != self.written_broadcasts || self.partly_drained {
            self.written_broadcasts = broadcasts;
            self.partly_drained = false;
            while self.server.poll_output().is_some() {}
            let ids: Vec<ConnId> = self.peers.iter().map(|(id, _)| *id).collect();
            for id in ids {
                self.drain(id, None);
            }
        } else {
            while let Some(id) = self.server.poll_output() {
                self.drain(id, None);
            }
        }
        for (id, _) in &self.peers {
            let mut bufs: [&[u8]; 2] = [&[]; 2];
            assert_eq!(
                self.server.outgoing_vectored(*id, &mut bufs),
                0,
                "{id:?} has output the server never named"
            );
        }
    }

    /// Return the lines `id` received since the last call, without their `\n` (IRC: `\r\n`).
    pub fn take_lines(&mut self, id: ConnId) -> Vec<String> {
        self.peer(id)
            .map(|p| core::mem::take(&mut p.lines))
            .unwrap_or_default()
    }

    /// Return whether `id` received `BYE` or `SHUTDOWN` (IRC: `ERROR`).
    pub fn ended(&self, id: ConnId) -> bool {
        self.peers.iter().any(|(c, p)| *c == id && p.ended)
    }

    fn peer(&mut self, id: ConnId) -> Option<&mut Peer> {
        self.peers
            .iter_mut()
            .find(|(c, _)| *c == id)
            .map(|(_, p)| p)
    }
}

/// Check one IRC line from the server (without its CRLF): a message that parses, with a
/// source unless it is `ERROR` or `PING`, at most 512 bytes with its CRLF besides the tags.
pub fn check_irc_line(text: &str) {
    let m = Message::parse(text.as_bytes())
        .unwrap_or_else(|e| panic!("unparsable IRC line ({e}): {text:?}"));
    let tags = m.raw_tags().map_or(0, |t| t.len() + 2);
    assert!(
        text.len() + 2 - tags <= MAX_IRC_LINE,
        "IRC line over 512 bytes: {text:?}"
    );
    assert!(
        m.source().is_some() || m.command().is("ERROR"),
        "IRC line without a source: {text:?}"
    );
}
