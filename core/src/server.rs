//! The chat server state machine: every rule of the protocol, with no I/O.
//!
//! # The run loop
//!
//! The server does nothing by itself. Its caller feeds it what happened and carries out what it
//! asks, in a loop of this shape (the daemon's is `daemon/src/event_loop.rs`):
//!
//! ```text
//! loop {
//!     wait for readiness, or until poll_at()                 // never a busy loop
//!     now = Now { instant: monotonic clock, wall: wall clock }
//!     new connection from peer:  accept(now, peer)           // Err(r): write r.line(), close
//!     bytes from id:             while bytes left {
//!                                    fed = input(now, id, bytes)     // uses >= 1 byte
//!                                    bytes = bytes[fed.used..]
//!                                    if fed.write_out { write out }  // output piled up
//!                                }
//!     end of stream or error:    closed(now, id, reason)
//!     poll_at() <= now.instant:  tick(now)
//!     write out:                 for each id: flush(id, transport) until WouldBlock,
//!                                    or outgoing_vectored + consume until it returns 0
//!                                while let Some(id) = poll_close():
//!                                    write what it still has if it can, close it,
//!                                    closed(now, id, CloseReason::Closed)
//! }
//! ```
//!
//! Every call that feeds an event takes a [`Now`]: timers (the join timeout, the rate limit,
//! the password throttle) read only its monotonic `instant`, which must never go backwards;
//! lines are stamped with its `wall` time, which may jump anywhere without changing any
//! verdict. [`Server::input`] stops early when output piles up, so that a burst from one client
//! is written out to the others before more of it is read; a caller that skips the write-out
//! there may see readers dropped as slow consumers. Output is only ever taken by the caller:
//! [`Server::outgoing_vectored`] and [`Server::consume`] hand out plaintext without a
//! [`Transport`] (for a TLS layer that encrypts it), [`Server::flush`] writes it to one.
//!
//! Lines for everyone are stored once in a [`crate::broadcast`] ring; each connection keeps a
//! position in it beside a small queue of lines for it alone. A client that falls a whole ring
//! behind, or fills its own queue, is dropped as a slow consumer at once, so nobody else ever
//! waits for it.

use core::fmt::Write as _;
use core::net::SocketAddr;

use log::{info, warn};

use crate::auth::{Hold, Throttle};
use crate::broadcast::Broadcast;
use crate::config::{Config, DEFAULT_SLOTS, MAX_LINE, MAX_SERVER_LINE};
use crate::frame::Frame;
use crate::history::{Entry, History};
use crate::names::Name;
use crate::outbox::{self, Cursor};
use crate::slot::{Phase, Slot};
use crate::time::{Instant, Now};
use crate::transport::Transport;
use crate::wire::{ByeCode, ErrCode, ServerLine, VERSION};

/// Names one connection; stale once its slot is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    index: u16,
    generation: u32,
}

impl ConnId {
    /// Return the slot index, a small number below the slot count, for per-slot tables.
    pub fn index(self) -> usize {
        usize::from(self.index)
    }
}

/// How a transport ended, as the caller saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed its side (end of stream).
    Eof,
    /// The peer reset the connection.
    Reset,
    /// Keepalive or another timeout found the peer gone.
    Timeout,
    /// Any other transport error.
    Error,
    /// The caller closed it after [`Server::poll_close`] asked.
    Closed,
}

impl CloseReason {
    /// Return the reason as the `LEAVE` line and the logs word it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Eof => "connection closed",
            CloseReason::Reset => "connection reset",
            CloseReason::Timeout => "timeout",
            CloseReason::Error => "connection error",
            CloseReason::Closed => "closed by server",
        }
    }
}

/// What [`Server::input`] did with the bytes it was given.
#[must_use = "bytes past `used` were not read, and `write_out` asks for a write-out"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// How many bytes, from the front, were used: at least one unless there were none.
    pub used: usize,
    /// Output piled up: write out to every connection (and take [`Server::poll_close`])
    /// before feeding more, so that a client that reads is never taken for a slow one.
    pub write_out: bool,
}

/// Gather writes [`Server::flush`] makes before it lets the caller go round its loop again.
const FLUSH_ROUNDS: usize = 64;

/// A formatted server line, with its `\n`.
type Line = heapless::String<MAX_SERVER_LINE>;

/// Render `line` with its terminator; `None` only if it cannot fit (which the limits prevent).
fn render(line: &ServerLine<'_>) -> Option<Line> {
    let mut s = Line::new();
    writeln!(s, "{line}").ok()?;
    Some(s)
}

/// The chat server: `N` client slots, the history, and every rule of the protocol.
// `repr(C)` with the slots last: the slot storage is the bulk of the server (1.3 MiB of its
// 1.6 MiB by default; see README.md, "Memory") and starts uninitialised. With the slots last,
// no zeroed field lies beyond it, so the compiler does not merge the small fields' initial
// stores into one memset over the whole storage, and pages of unused slots are never touched:
// an idle daemon stays small.
#[repr(C)]
pub struct Server<const N: usize = DEFAULT_SLOTS> {
    config: Config,
    ring: Broadcast,
    history: History,
    throttle: Throttle,
    to_close: heapless::Deque<ConnId, N>,
    shutting_down: bool,
    /// Output has piled up since [`Server::input`] last said so: it stops after its next line.
    pressure: bool,
    /// Broadcast head when pressure was last raised.
    pressure_head: u64,
    slots: heapless::Vec<Slot, N>,
}

impl<const N: usize> Server<N> {
    /// Make a server with no connections. `config.max_clients` is capped at `N`.
    #[inline(always)]
    pub fn new(mut config: Config) -> Self {
        config.max_clients = config.max_clients.min(N).min(usize::from(u16::MAX));
        Server {
            config,
            ring: Broadcast::new(),
            pressure: false,
            pressure_head: 0,
            slots: heapless::Vec::new(),
            history: History::new(),
            throttle: Throttle::new(),
            to_close: heapless::Deque::new(),
            shutting_down: false,
        }
    }

    /// Return the settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replace the password (e.g. after SIGHUP); connections already past it are unaffected.
    pub fn set_password(
        &mut self,
        password: Option<heapless::Vec<u8, { crate::config::MAX_PASSWORD }>>,
    ) {
        self.config.password = password;
    }

    /// Return how many connections are open (in any phase).
    pub fn connections(&self) -> usize {
        self.slots.iter().filter(|s| s.phase != Phase::Free).count()
    }

    /// Return how many clients have joined the chat.
    pub fn joined(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.phase == Phase::Joined)
            .count()
    }

    /// Return the recent public messages, oldest first.
    pub fn history(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        self.history.iter()
    }

    /// Return a counter that changes whenever the history does (to know when to save it).
    pub fn history_changes(&self) -> u64 {
        self.history.changes()
    }

    /// Add a saved entry to the history, e.g. when loading it at start; oldest first.
    pub fn restore_history(&mut self, entry: Entry) {
        self.history.push(entry);
    }

    /// Return whether [`Server::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    fn slot(&self, id: ConnId) -> Option<&Slot> {
        self.slots
            .get(id.index())
            .filter(|s| s.generation == id.generation && s.phase != Phase::Free)
    }

    fn index(&self, id: ConnId) -> Option<usize> {
        self.slot(id).map(|_| id.index())
    }

    fn id_of(&self, i: usize) -> ConnId {
        ConnId {
            index: slot_index(i),
            generation: self.slots[i].generation,
        }
    }

    /// Return where a connection is in its life ([`Phase::Free`] for a stale id).
    pub fn phase(&self, id: ConnId) -> Phase {
        self.slot(id).map_or(Phase::Free, |s| s.phase)
    }

    /// Return the name a connection joined under, if it has joined.
    pub fn name(&self, id: ConnId) -> Option<&str> {
        self.slot(id)
            .and_then(|s| s.name.as_ref())
            .map(Name::as_str)
    }

    /// Return a connection's peer address.
    pub fn peer(&self, id: ConnId) -> Option<SocketAddr> {
        self.slot(id).and_then(|s| s.peer)
    }

    /// Take a new connection from `peer` and greet it.
    ///
    /// On `Err` (no slot, or the address has its share, see [`Refused`]) the caller writes
    /// [`Refused::line`] and closes the socket.
    pub fn accept(&mut self, now: Now, peer: SocketAddr) -> Result<ConnId, Refused> {
        if let Err(r) = self.admit_peer(peer.ip()) {
            info!(target: "chatd", "refused peer={peer} reason={}", r.reason());
            return Err(r);
        }
        let limit = self.config.flood.unwrap_or_default();
        let i = match self.slots.iter().position(|s| s.phase == Phase::Free) {
            Some(i) => i,
            None => {
                self.slots
                    .push(Slot::new(&limit))
                    .map_err(|_| Refused::Full)?;
                self.slots.len() - 1
            }
        };
        let phase = if self.config.password.is_some() {
            Phase::AwaitPassword
        } else {
            Phase::AwaitName
        };
        self.slots[i].open(now.instant, peer, phase, &limit);
        let id = self.id_of(i);
        info!(target: "chatd", "connect peer={peer} conn={i}");
        if self.config.password.is_some() && self.throttle.is_blocked(now.instant, peer.ip()) {
            warn!(target: "chatd", "auth-throttled peer={peer}");
            self.bye(i, ByeCode::Throttled, Hold::Address.text());
            return Ok(id);
        }
        self.send(
            i,
            &ServerLine::Hello {
                version: VERSION,
                text: "Welcome to chatd, a LAN chat.",
            },
        );
        self.ask(i, phase);
        self.settle(now);
        Ok(id)
    }

    /// Handle bytes that arrived on a connection: say how many were used, and whether to write
    /// out before feeding more.
    ///
    /// Lines are decoded and acted on in order; a partial line is kept for the next call. The
    /// call stops right after a line that made output pile up (a connection's private queue
    /// low on room, or a quarter of the broadcast ring filled since the last stop), with
    /// [`Fed::write_out`] set: write out to every connection, then call again with the rest.
    /// It always uses at least one byte of non-empty input, so that loop ends. Bytes for a
    /// stale id or a connection being closed are all used, and ignored.
    pub fn input(&mut self, now: Now, id: ConnId, bytes: &[u8]) -> Fed {
        let mut fed = Fed {
            used: bytes.len(),
            write_out: false,
        };
        let Some(i) = self.index(id) else { return fed };
        let mut line: heapless::Vec<u8, MAX_LINE> = heapless::Vec::new();
        let mut used = 0;
        while used < bytes.len() && self.slots[i].accepts_input() && !fed.write_out {
            line.clear();
            let rest = bytes.get(used..).unwrap_or_default();
            let (n, frame) = match self.slots[i].decoder.decode(rest) {
                (n, Some(Frame::Line(l))) => {
                    // A decoded line is shorter than MAX_LINE, so it always fits.
                    let fits = line.extend_from_slice(l).is_ok();
                    (n, if fits { Got::Line } else { Got::TooLong })
                }
                (n, Some(Frame::TooLong)) => (n, Got::TooLong),
                (n, None) => (n, Got::Nothing),
            };
            used += n.max(1);
            match frame {
                Got::Nothing => {}
                Got::TooLong => {
                    if self.admit(now, i) {
                        let text = "Line too long (at most 1024 bytes with the newline); it was discarded.";
                        self.error(i, ErrCode::TooLong, text);
                    }
                }
                Got::Line => {
                    if self.admit(now, i) {
                        self.handle_line(now, i, &line);
                    }
                }
            }
            self.settle(now);
            if core::mem::take(&mut self.pressure) {
                fed = Fed {
                    used,
                    write_out: true,
                };
            }
        }
        fed
    }

    /// Fill `bufs` with a connection's output, in order, for one gather write; return how
    /// many slices were filled (0: nothing to send; at least 2 slices are needed to get any).
    ///
    /// Its private lines and the public lines of others come interleaved in the order they
    /// were queued. Then [`Server::consume`] what was written.
    pub fn outgoing_vectored<'a>(&'a self, id: ConnId, bufs: &mut [&'a [u8]]) -> usize {
        let Some(i) = self.index(id) else { return 0 };
        let slot = &self.slots[i];
        let mut cur = Cursor::of(slot);
        let mut filled = 0;
        while filled + 2 <= bufs.len() {
            let Some(piece) = cur.next(&self.ring, slot, slot_index(i)) else {
                break;
            };
            let (a, b) = piece.slices(&self.ring, slot);
            for part in [a, b] {
                if !part.is_empty() {
                    bufs[filled] = part;
                    filled += 1;
                }
            }
            cur.advance(&self.ring, piece, usize::MAX);
        }
        filled
    }

    /// Mark `n` bytes of a connection's output as written.
    pub fn consume(&mut self, id: ConnId, n: usize) {
        if let Some(i) = self.index(id) {
            outbox::consume(&self.ring, &mut self.slots[i], slot_index(i), n);
        }
    }

    /// Write a connection's pending bytes to `t` until done or it would block: a loop of
    /// [`Server::outgoing_vectored`] and [`Server::consume`] over a [`Transport`].
    ///
    /// `Ok(())` means everything was written; `WouldBlock` means wait for writability. On
    /// another error the caller closes the transport and reports [`Server::closed`].
    pub fn flush<T: Transport>(&mut self, id: ConnId, t: &mut T) -> nb::Result<(), T::Error> {
        for _ in 0..FLUSH_ROUNDS {
            let mut bufs: [&[u8]; 16] = [&[]; 16];
            let k = self.outgoing_vectored(id, &mut bufs);
            if k == 0 {
                return Ok(());
            }
            let offered: usize = bufs[..k].iter().map(|b| b.len()).sum();
            let n = t.write_vectored(&bufs[..k])?;
            if n == 0 {
                return Err(nb::Error::WouldBlock);
            }
            self.consume(id, n);
            if n < offered {
                // The transport took less than offered: it is full for now.
                return Err(nb::Error::WouldBlock);
            }
        }
        Err(nb::Error::WouldBlock)
    }

    /// Take the next connection the server wants closed, once each.
    ///
    /// Write what it still has queued if the socket takes it, then close it and report
    /// [`Server::closed`] with [`CloseReason::Closed`].
    #[must_use]
    pub fn poll_close(&mut self) -> Option<ConnId> {
        while let Some(id) = self.to_close.pop_front() {
            if let Some(i) = self.index(id) {
                let s = &mut self.slots[i];
                if s.phase == Phase::Closing && !s.close_reported {
                    s.close_reported = true;
                    return Some(id);
                }
            }
        }
        None
    }

    /// Report that a connection's transport is gone; the slot is freed.
    ///
    /// If the client had joined and the server did not already close it, everybody else gets
    /// a `LEAVE` with `reason`.
    pub fn closed(&mut self, now: Now, id: ConnId, reason: CloseReason) {
        let Some(i) = self.index(id) else { return };
        let peer = self.peer_str(i);
        match self.slots[i].phase {
            Phase::Joined => self.depart(now, i, reason.as_str()),
            Phase::AwaitName | Phase::AwaitPassword => {
                info!(target: "chatd", "disconnect peer={peer} reason=\"{}\"", reason.as_str());
            }
            Phase::Closing | Phase::Free => {}
        }
        self.slots[i].free();
        self.settle(now);
    }

    /// Let time pass: drop connections that did not join in time.
    pub fn tick(&mut self, now: Now) {
        let timeout = self.config.join_timeout;
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            if matches!(s.phase, Phase::AwaitPassword | Phase::AwaitName)
                && now.instant.duration_since(s.connected_at) >= timeout
            {
                info!(target: "chatd", "disconnect peer={} reason=join-timeout", self.peer_str(i));
                self.bye(i, ByeCode::Timeout, "No name was given in time.");
            }
        }
        self.settle(now);
    }

    /// Return when [`Server::tick`] next has work to do, on the monotonic clock of [`Now`], or
    /// `None` if it has none pending. Feeding an event may bring it forward: ask again after.
    #[must_use]
    pub fn poll_at(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| matches!(s.phase, Phase::AwaitPassword | Phase::AwaitName))
            .map(|s| s.connected_at + self.config.join_timeout)
            .min()
    }

    /// Start shutting down: every connection gets `SHUTDOWN` and is queued for closing.
    ///
    /// New connections are refused from now on. The caller flushes what it can within a short
    /// bound, closes everything and saves [`Server::history`].
    pub fn shutdown(&mut self, now: Now, text: &str) {
        self.shutting_down = true;
        info!(target: "chatd", "shutdown connections={}", self.connections());
        let line = render(&ServerLine::Shutdown {
            time: now.wall,
            text,
        });
        for i in 0..self.slots.len() {
            if matches!(self.slots[i].phase, Phase::Free | Phase::Closing) {
                continue;
            }
            if let Some(l) = &line {
                // Best effort: a client with a full queue misses the notice but is closed anyway.
                let tag = self.ring.head();
                let _ = self.slots[i].push(tag, l.as_bytes());
            }
            self.mark_closing(i);
        }
    }

    /// Check the invariants the protocol promises; for tests and fuzzers.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        if self.history.len() > crate::config::HISTORY_LEN {
            return Err("history longer than its capacity");
        }
        if self.connections() > self.config.max_clients {
            return Err("more connections than max_clients");
        }
        if let Some(cap) = self.config.max_per_address {
            let over = self
                .slots
                .iter()
                .filter_map(|s| s.peer.filter(|_| s.phase != Phase::Free))
                .any(|p| self.connections_from(p.ip()) > cap);
            if over {
                return Err("an address holds more connections than max_per_address");
            }
        }
        for (i, a) in self.slots.iter().enumerate() {
            if a.queued() > crate::config::OUT_QUEUE {
                return Err("outgoing queue over its bound");
            }
            if a.phase == Phase::Joined && a.name.is_none() {
                return Err("joined client without a name");
            }
            let Some(na) = a.name.as_ref().filter(|_| a.phase == Phase::Joined) else {
                continue;
            };
            for b in &self.slots[i + 1..] {
                if b.phase == Phase::Joined
                    && b.name.as_ref().is_some_and(|nb| na.same_as(nb.as_str()))
                {
                    return Err("two joined clients share a name");
                }
            }
        }
        Ok(())
    }
}

impl Slot {
    fn accepts_input(&self) -> bool {
        matches!(
            self.phase,
            Phase::AwaitPassword | Phase::AwaitName | Phase::Joined
        )
    }
}

/// What one decoding step found.
enum Got {
    Nothing,
    Line,
    TooLong,
}

/// Return slot index `i` in the width a [`ConnId`] and the broadcast ring store it in.
///
/// `i < N` always, and [`Server::new`] caps the slots in use at `u16::MAX`.
fn slot_index(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests;

mod admission;
mod delivery;
mod rules;

pub use admission::Refused;
