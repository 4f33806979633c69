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
//!     new connection from peer:  accept(now, peer, dialect)  // Err(r): write
//!                                                            // r.line_in(dialect), close
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
//! [`Transport`](crate::Transport) (for a TLS layer that encrypts it), [`Server::flush`] writes it to one.
//!
//! Lines for everyone are stored once in a [`crate::broadcast`] ring per [`Dialect`]; each
//! connection keeps a position in its dialect's ring beside a small queue of lines for it alone.
//! The IRC ring is written only while an IRC client is in the room, so a native-only room pays
//! nothing for it. A client that falls a whole ring behind, or fills its own queue, is dropped
//! as a slow consumer at once, so nobody else ever waits for it. Long IRC listings (NAMES, WHO,
//! the history) are generated as they are written (`burst.rs`), never queued whole.
//!
//! The rules live in submodules: `rules` for native lines, `irc_register` and `irc_rules` for
//! IRC ones (both in terms of the same room actions in `room`), `irc_render` for how each room
//! event and reply looks to an IRC client, `burst` for the long listings, `delivery` for
//! getting lines out, `timers` for the join timeout and IRC keep-alive.

use core::fmt::Write as _;
use core::net::SocketAddr;

use log::{info, warn};

use crate::auth::{Hold, Throttle};
use crate::broadcast::Broadcast;
use crate::config::{Config, DEFAULT_SLOTS, MAX_LINE, MAX_SERVER_LINE};
use crate::dialect::Dialect;
use crate::frame::Frame;
use crate::history::{Entry, History};
use crate::names::Name;
use crate::slot::{Phase, Slot};
use crate::time::Now;
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
// `repr(C)` with the slots last: the slot storage is the bulk of the server (1.5 MiB of its
// 2.1 MiB by default; see README.md, "Memory") and starts uninitialised. With the slots last,
// no zeroed field lies beyond it, so the compiler does not merge the small fields' initial
// stores into one memset over the whole storage, and pages of unused slots are never touched:
// an idle daemon stays small.
#[repr(C)]
pub struct Server<const N: usize = DEFAULT_SLOTS> {
    config: Config,
    ring: Broadcast,
    /// The IRC rendering of the same room lines, written only while `irc_in_room > 0`.
    irc_ring: Broadcast,
    /// IRC clients in the room.
    irc_in_room: usize,
    /// Entries into the room so far (a slot's `entered` is this count when it came in).
    joins: u64,
    history: History,
    throttle: Throttle,
    to_close: heapless::Deque<ConnId, N>,
    shutting_down: bool,
    /// Output has piled up since [`Server::input`] last said so: it stops after its next line.
    pressure: bool,
    /// Broadcast head when pressure was last raised, per ring.
    pressure_head: [u64; 2],
    /// Slots in use (any phase but [`Phase::Free`]), counted as they change.
    open: usize,
    /// Slots in [`Phase::Joined`], counted as they change.
    joined: usize,
    /// Some slot may have overflowed since `settle` last found none: it must look.
    overflow_pending: bool,
    /// Per ring, a position no reader of it is behind: while the ring's tail has not passed
    /// it, storing a line leaves nobody behind, and `append` need not look at every reader.
    ring_floor: [u64; 2],
    /// The slots waiting on a timer, in deadline order (see `deadlines`).
    deadlines: deadlines::Lists,
    /// Slots that got output of their own since [`Server::poll_output`] last took them.
    output: heapless::Deque<u16, N>,
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
            irc_ring: Broadcast::new(),
            irc_in_room: 0,
            joins: 0,
            pressure: false,
            pressure_head: [0; 2],
            open: 0,
            joined: 0,
            overflow_pending: false,
            ring_floor: [0; 2],
            deadlines: deadlines::Lists::new(),
            output: heapless::Deque::new(),
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
        self.open
    }

    /// Return how many clients have joined the chat.
    pub fn joined(&self) -> usize {
        self.joined
    }

    /// Move connection `i` to `phase`, keeping the counts and its timer in step.
    pub(super) fn set_phase(&mut self, i: usize, phase: Phase) {
        let was = self.slots[i].phase;
        self.slots[i].phase = phase;
        self.phase_changed(i, was);
    }

    /// Count connection `i`'s move from phase `was` to its present one, and put it on the
    /// timer list that phase calls for.
    fn phase_changed(&mut self, i: usize, was: Phase) {
        let now = self.slots[i].phase;
        if was == now {
            return;
        }
        let count = |p: Phase, which: Phase| usize::from(p == which);
        self.joined = self.joined + count(now, Phase::Joined) - count(was, Phase::Joined);
        self.open = self.open + count(was, Phase::Free) - count(now, Phase::Free);
        self.retime(i);
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

    /// Return the protocol a connection speaks (`None` for a stale id).
    pub fn dialect(&self, id: ConnId) -> Option<Dialect> {
        self.slot(id).map(|s| s.dialect)
    }

    /// Return whether a connection is in the room: joined, and (for IRC) not parted.
    pub fn in_room(&self, id: ConnId) -> bool {
        self.slot(id)
            .is_some_and(|s| s.in_room && s.phase == Phase::Joined)
    }

    /// Return the ring a dialect's connections read.
    fn ring_of(&self, dialect: Dialect) -> &Broadcast {
        match dialect {
            Dialect::Native => &self.ring,
            Dialect::Irc => &self.irc_ring,
        }
    }

    /// Take a new connection from `peer`, speaking `dialect`, and greet it (an IRC client is
    /// greeted once it registers).
    ///
    /// On `Err` (no slot, or the address has its share, see [`Refused`]) the caller writes
    /// [`Refused::line_in`] the connection's dialect and closes the socket. Connections of
    /// both dialects count in the same table and under the same per-address cap.
    pub fn accept(
        &mut self,
        now: Now,
        peer: SocketAddr,
        dialect: Dialect,
    ) -> Result<ConnId, Refused> {
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
        let was = self.slots[i].phase;
        self.slots[i].open(now.instant, peer, phase, dialect, &limit);
        self.phase_changed(i, was);
        let id = self.id_of(i);
        info!(target: "chatd", "connect peer={peer} conn={i} protocol={dialect}");
        if self.config.password.is_some() && self.throttle.is_blocked(now.instant, peer.ip()) {
            warn!(target: "chatd", "auth-throttled peer={peer}");
            self.bye(i, ByeCode::Throttled, Hold::Address.text());
            return Ok(id);
        }
        if dialect == Dialect::Native {
            self.send(
                i,
                &ServerLine::Hello {
                    version: VERSION,
                    text: "Welcome to chatd, a LAN chat.",
                },
            );
            self.ask(i, phase);
        }
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
        if self.slots[i].dialect == Dialect::Irc && !bytes.is_empty() {
            self.heard(now, i);
        }
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
        let was = self.slots[i].phase;
        self.slots[i].free();
        self.phase_changed(i, was);
        self.settle(now);
    }

    /// Start shutting down: every connection gets `SHUTDOWN` and is queued for closing.
    ///
    /// New connections are refused from now on. The caller flushes what it can within a short
    /// bound, closes everything and saves [`Server::history`].
    pub fn shutdown(&mut self, now: Now, text: &str) {
        self.shutting_down = true;
        info!(target: "chatd", "shutdown connections={}", self.connections());
        let line = ServerLine::Shutdown {
            time: now.wall,
            text,
        };
        for i in 0..self.slots.len() {
            if matches!(self.slots[i].phase, Phase::Free | Phase::Closing) {
                continue;
            }
            // Best effort: a client with a full queue misses the notice but is closed anyway.
            self.send_quietly(i, &line);
            self.mark_closing(i);
        }
    }

    /// Check the invariants the protocol promises; for tests and fuzzers.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        if self.history.len() > crate::config::HISTORY_LEN {
            return Err("history longer than its capacity");
        }
        self.check_bookkeeping()?;
        if self.connections() > self.config.max_clients {
            return Err("more connections than max_clients");
        }
        let irc_in_room = self
            .slots
            .iter()
            .filter(|s| s.in_room && s.dialect == Dialect::Irc)
            .count();
        if irc_in_room != self.irc_in_room {
            return Err("the count of IRC clients in the room is wrong");
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
            if a.in_room && a.phase != Phase::Joined {
                return Err("a client in the room that has not joined");
            }
            if a.dialect == Dialect::Native && a.phase == Phase::Joined && !a.in_room {
                return Err("a joined native client out of the room");
            }
            if a.in_room && a.entered > self.joins {
                return Err("a client entered the room after the last entry");
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

impl<const N: usize> Server<N> {
    /// Check what the server keeps count of instead of looking at every slot each time: the
    /// counts of open and joined connections, the pending-overflow mark, the floor of each
    /// broadcast ring, the timer lists and the list of connections with output.
    fn check_bookkeeping(&self) -> Result<(), &'static str> {
        let open = self.slots.iter().filter(|s| s.phase != Phase::Free).count();
        let joined = self.slots.iter().filter(|s| s.phase == Phase::Joined);
        if open != self.open || joined.count() != self.joined {
            return Err("the counts of open or joined connections are wrong");
        }
        let unsettled = self
            .slots
            .iter()
            .any(|s| s.overflowed && !matches!(s.phase, Phase::Closing | Phase::Free));
        if unsettled && !self.overflow_pending {
            return Err("a connection overflowed unnoticed");
        }
        self.check_ring_floor()?;
        self.check_deadlines()?;
        self.check_output_list()
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
mod irc_tests;
#[cfg(test)]
mod test_steps;
#[cfg(test)]
mod tests;

mod admission;
mod burst;
pub(crate) mod deadlines;
mod delivery;
mod irc_queries;
mod irc_register;
mod irc_render;
mod irc_rules;
mod output;
mod room;
mod rules;
mod timers;

pub use admission::Refused;
