//! The chat server state machine: every rule of the protocol, with no I/O.
//!
//! The run loop, as a contract (in the style of quinn and str0m):
//! 1. Feed what happened: [`Server::accept`] a connection, [`Server::receive`] its bytes (or
//!    [`Server::read_from`] a [`Transport`]), report [`Server::closed`] when the transport ends,
//!    and call [`Server::tick`] when [`Server::poll_at`] says.
//! 2. Drain what the server wants: write each connection's [`Server::outgoing`] bytes and
//!    [`Server::consume`] what was written (or [`Server::flush`] to a [`Transport`]); take
//!    connections to close from [`Server::poll_close`], close them, and report [`Server::closed`].
//! 3. Wait for readiness or until [`Server::poll_at`], then go to 1.
//!
//! A client whose outgoing queue overflows is dropped as a slow consumer at once, so nobody else
//! ever waits for it.

use core::fmt::{self, Write as _};
use core::net::SocketAddr;

use log::{info, warn};

use crate::auth::{password_matches, Throttle};
use crate::commands::{Command, HELP};
use crate::config::{Config, DEFAULT_SLOTS, MAX_LINE, MAX_SERVER_LINE};
use crate::flood::{FloodLimit, Verdict};
use crate::history::{Entry, EntryKind, History};
use crate::names::{same_name, Name};
use crate::slot::{Phase, Slot};
use crate::time::Instant;
use crate::transport::{ReadOutcome, Transport};
use crate::wire::{Ask, ByeCode, ErrCode, ServerLine, VERSION};

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

/// No slot is free for another connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every client slot is taken")
    }
}

impl core::error::Error for Full {}

/// A formatted server line, with its `\n`.
type Line = heapless::String<MAX_SERVER_LINE>;

/// Render `line` with its terminator; `None` only if it cannot fit (which the limits prevent).
fn render(line: &ServerLine<'_>) -> Option<Line> {
    let mut s = Line::new();
    write!(s, "{line}\n").ok()?;
    Some(s)
}

/// The chat server: `N` client slots, the history, and every rule of the protocol.
pub struct Server<const N: usize = DEFAULT_SLOTS> {
    config: Config,
    slots: heapless::Vec<Slot, N>,
    history: History,
    throttle: Throttle,
    to_close: heapless::Deque<ConnId, N>,
    shutting_down: bool,
}

impl<const N: usize> Server<N> {
    /// Make a server with no connections. `config.max_clients` is capped at `N`.
    pub fn new(mut config: Config) -> Self {
        config.max_clients = config.max_clients.min(N).min(usize::from(u16::MAX));
        Server {
            config,
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
    pub fn set_password(&mut self, password: Option<heapless::Vec<u8, { crate::config::MAX_PASSWORD }>>) {
        self.config.password = password;
    }

    /// Return how many connections are open (in any phase).
    pub fn connections(&self) -> usize {
        self.slots.iter().filter(|s| s.phase != Phase::Free).count()
    }

    /// Return how many clients have joined the chat.
    pub fn joined(&self) -> usize {
        self.slots.iter().filter(|s| s.phase == Phase::Joined).count()
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
        // i < N <= u16::MAX by construction in `accept`.
        ConnId { index: i as u16, generation: self.slots[i].generation }
    }

    /// Return where a connection is in its life ([`Phase::Free`] for a stale id).
    pub fn phase(&self, id: ConnId) -> Phase {
        self.slot(id).map_or(Phase::Free, |s| s.phase)
    }

    /// Return the name a connection joined under, if it has joined.
    pub fn name(&self, id: ConnId) -> Option<&str> {
        self.slot(id).and_then(|s| s.name.as_ref()).map(Name::as_str)
    }

    /// Return a connection's peer address.
    pub fn peer(&self, id: ConnId) -> Option<SocketAddr> {
        self.slot(id).and_then(|s| s.peer)
    }

    /// Take a new connection from `peer` and greet it.
    ///
    /// On [`Full`] the caller should write [`crate::wire::FULL_LINE`] and close the socket.
    pub fn accept(&mut self, now: Instant, peer: SocketAddr) -> Result<ConnId, Full> {
        if self.shutting_down || self.connections() >= self.config.max_clients {
            info!(target: "chatd", "refused peer={peer} reason=full");
            return Err(Full);
        }
        let limit = self.config.flood.unwrap_or_default();
        let i = match self.slots.iter().position(|s| s.phase == Phase::Free) {
            Some(i) => i,
            None => {
                self.slots.push(Slot::new(&limit)).map_err(|_| Full)?;
                self.slots.len() - 1
            }
        };
        let phase = if self.config.password.is_some() {
            Phase::AwaitPassword
        } else {
            Phase::AwaitName
        };
        self.slots[i].open(now, peer, phase, &limit);
        let id = self.id_of(i);
        info!(target: "chatd", "connect peer={peer} conn={i}");
        if self.config.password.is_some() && self.throttle.is_blocked(now, peer.ip()) {
            warn!(target: "chatd", "auth-throttled peer={peer}");
            self.bye(i, ByeCode::Throttled, "Too many wrong passwords from your address; wait and try again.");
            return Ok(id);
        }
        self.send(i, &ServerLine::Hello { version: VERSION, text: "Welcome to chatd, a LAN chat." });
        self.ask(i, phase);
        self.settle(now);
        Ok(id)
    }

    /// Handle bytes that arrived on a connection: decode lines and act on each.
    pub fn receive(&mut self, now: Instant, id: ConnId, mut bytes: &[u8]) {
        let Some(i) = self.index(id) else { return };
        let mut line: heapless::Vec<u8, MAX_LINE> = heapless::Vec::new();
        while !bytes.is_empty() && self.slots[i].accepts_input() {
            line.clear();
            let (used, frame) = match self.slots[i].decoder.decode(bytes) {
                (used, Some(Frame::Line(l))) => {
                    // A decoded line is shorter than MAX_LINE, so it always fits.
                    let fits = line.extend_from_slice(l).is_ok();
                    (used, if fits { Got::Line } else { Got::TooLong })
                }
                (used, Some(Frame::TooLong)) => (used, Got::TooLong),
                (used, None) => (used, Got::Nothing),
            };
            bytes = bytes.get(used.max(1)..).unwrap_or_default();
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
        }
    }

    /// Read from `t` until it would block, the peer closes, or `budget` bytes were handled.
    ///
    /// `scratch` is the caller's read buffer. On `Err` the caller should close the transport and
    /// report [`Server::closed`] with a reason that fits the error.
    pub fn read_from<T: Transport>(
        &mut self,
        now: Instant,
        id: ConnId,
        t: &mut T,
        scratch: &mut [u8],
        budget: usize,
    ) -> Result<ReadOutcome, T::Error> {
        let mut done = 0;
        while done < budget {
            if self.index(id).is_none() {
                return Ok(ReadOutcome::WouldBlock);
            }
            match t.read(scratch) {
                Ok(0) => {
                    self.closed(now, id, CloseReason::Eof);
                    return Ok(ReadOutcome::Eof);
                }
                Ok(n) => {
                    let n = n.min(scratch.len());
                    self.receive(now, id, &scratch[..n]);
                    done += n;
                }
                Err(nb::Error::WouldBlock) => return Ok(ReadOutcome::WouldBlock),
                Err(nb::Error::Other(e)) => return Err(e),
            }
        }
        Ok(ReadOutcome::Budget)
    }

    /// Return the bytes waiting to be written to a connection, as two slices in order.
    pub fn outgoing(&self, id: ConnId) -> (&[u8], &[u8]) {
        self.slot(id).map_or((&[], &[]), |s| s.out.as_slices())
    }

    /// Return whether a connection has bytes waiting to be written.
    pub fn wants_write(&self, id: ConnId) -> bool {
        self.slot(id).is_some_and(|s| !s.out.is_empty())
    }

    /// Mark `n` bytes of a connection's outgoing data as written.
    pub fn consume(&mut self, id: ConnId, n: usize) {
        if let Some(i) = self.index(id) {
            self.slots[i].consume(n);
        }
    }

    /// Write a connection's pending bytes to `t` until done or it would block.
    ///
    /// `Ok(())` means everything was written; `WouldBlock` means wait for writability.
    pub fn flush<T: Transport>(&mut self, id: ConnId, t: &mut T) -> nb::Result<(), T::Error> {
        let Some(i) = self.index(id) else { return Ok(()) };
        loop {
            let (a, b) = self.slots[i].out.as_slices();
            if a.is_empty() && b.is_empty() {
                return Ok(());
            }
            let n = t.write_vectored(&[a, b])?;
            if n == 0 {
                return Err(nb::Error::WouldBlock);
            }
            self.slots[i].consume(n);
        }
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
    pub fn closed(&mut self, now: Instant, id: ConnId, reason: CloseReason) {
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
    pub fn tick(&mut self, now: Instant) {
        let timeout = self.config.join_timeout_ms;
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            if matches!(s.phase, Phase::AwaitPassword | Phase::AwaitName) && now.since(s.connected_at) >= timeout {
                info!(target: "chatd", "disconnect peer={} reason=join-timeout", self.peer_str(i));
                self.bye(i, ByeCode::Timeout, "No name was given in time.");
            }
        }
        self.settle(now);
    }

    /// Return when [`Server::tick`] next has work to do, or `None` if it has none pending.
    #[must_use]
    pub fn poll_at(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| matches!(s.phase, Phase::AwaitPassword | Phase::AwaitName))
            .map(|s| s.connected_at.add_millis(self.config.join_timeout_ms))
            .min()
    }

    /// Start shutting down: every connection gets `SHUTDOWN` and is queued for closing.
    ///
    /// New connections are refused from now on. The caller flushes what it can within a short
    /// bound, closes everything and saves [`Server::history`].
    pub fn shutdown(&mut self, now: Instant, text: &str) {
        self.shutting_down = true;
        info!(target: "chatd", "shutdown connections={}", self.connections());
        let line = render(&ServerLine::Shutdown { time: now.timestamp(), text });
        for i in 0..self.slots.len() {
            if matches!(self.slots[i].phase, Phase::Free | Phase::Closing) {
                continue;
            }
            if let Some(l) = &line {
                // Best effort: a client with a full queue misses the notice but is closed anyway.
                let _ = self.slots[i].push(l.as_bytes());
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
        for (i, a) in self.slots.iter().enumerate() {
            if a.queued() > crate::config::OUT_QUEUE {
                return Err("outgoing queue over its bound");
            }
            if a.phase == Phase::Joined && a.name.is_none() {
                return Err("joined client without a name");
            }
            let Some(na) = a.name.as_ref().filter(|_| a.phase == Phase::Joined) else { continue };
            for b in &self.slots[i + 1..] {
                if b.phase == Phase::Joined && b.name.as_ref().is_some_and(|nb| na.same_as(nb.as_str())) {
                    return Err("two joined clients share a name");
                }
            }
        }
        Ok(())
    }

    // ---- the rules ----

    /// Charge a line to the client's rate limit; return whether to handle it.
    fn admit(&mut self, now: Instant, i: usize) -> bool {
        let Some(limit) = self.config.flood else { return true };
        match self.slots[i].bucket.take(&limit, now) {
            Verdict::Pass => true,
            Verdict::Warn => {
                warn!(target: "chatd", "flood-warning peer={}", self.peer_str(i));
                self.error(i, ErrCode::Flood, &FloodText(limit).to_line());
                false
            }
            Verdict::Drop => false,
            Verdict::Kick => {
                warn!(target: "chatd", "flood peer={} name={}", self.peer_str(i), self.name_str(i));
                if self.slots[i].phase == Phase::Joined {
                    self.depart(now, i, "flood");
                }
                self.bye(i, ByeCode::Flood, "Disconnected for sending too fast.");
                false
            }
        }
    }

    fn handle_line(&mut self, now: Instant, i: usize, line: &[u8]) {
        if self.slots[i].phase == Phase::AwaitPassword {
            self.check_password(now, i, line);
            return;
        }
        let Ok(text) = core::str::from_utf8(line) else {
            self.error(i, ErrCode::BadUtf8, "The line is not valid UTF-8; it was discarded.");
            return;
        };
        if text.chars().any(|c| c.is_control() && c != '\t') {
            self.error(i, ErrCode::ControlChar, "Control characters are not allowed; the line was discarded.");
            return;
        }
        match self.slots[i].phase {
            Phase::AwaitName => self.try_join(now, i, text),
            Phase::Joined => self.command(now, i, text),
            _ => {}
        }
    }

    fn check_password(&mut self, now: Instant, i: usize, guess: &[u8]) {
        let ok = self.config.password.as_ref().is_none_or(|p| password_matches(p, guess));
        let Some(peer) = self.slots[i].peer else { return };
        if ok {
            self.throttle.succeed(peer.ip());
            self.slots[i].phase = Phase::AwaitName;
            self.ask(i, Phase::AwaitName);
        } else {
            let n = self.throttle.fail(now, peer.ip());
            warn!(target: "chatd", "auth-failure peer={peer} failures={n}");
            self.bye(i, ByeCode::Password, "Wrong password.");
        }
    }

    fn try_join(&mut self, now: Instant, i: usize, text: &str) {
        let name = match Name::new(text.trim_matches([' ', '\t'])) {
            Ok(n) => n,
            Err(e) => {
                self.error(i, ErrCode::NameInvalid, &Sentence(e).to_line());
                self.ask(i, Phase::AwaitName);
                return;
            }
        };
        if self.find(name.as_str()).is_some() {
            self.error(i, ErrCode::NameTaken, &Taken(name.as_str()).to_line());
            self.ask(i, Phase::AwaitName);
            return;
        }
        info!(target: "chatd", "join peer={} name={name}", self.peer_str(i));
        let time = now.timestamp();
        self.slots[i].phase = Phase::Joined;
        self.slots[i].name = Some(name.clone());
        let mut welcome: heapless::String<96> = heapless::String::new();
        let _ = write!(welcome, "Welcome, {name}! Type /help for commands.");
        self.send(i, &ServerLine::Welcome { time, name: name.as_str(), text: &welcome });
        self.who(now, i);
        self.replay(i);
        self.broadcast(Some(i), &ServerLine::Join { time, name: name.as_str() });
    }

    fn command(&mut self, now: Instant, i: usize, text: &str) {
        let Some(me) = self.slots[i].name.clone() else { return };
        let time = now.timestamp();
        match Command::parse(text) {
            Command::Empty => {}
            Command::Say(t) => self.public(now, i, EntryKind::Msg, &me, t),
            Command::Me(t) => self.public(now, i, EntryKind::Me, &me, t),
            Command::Msg { to, text } => match self.find(to) {
                None => {
                    let mut s: heapless::String<96> = heapless::String::new();
                    let _ = write!(s, "{} Nobody called {} is online.", Clip(to), Clip(to));
                    self.error(i, ErrCode::NoSuchName, &s);
                }
                Some(j) => {
                    let Some(them) = self.slots[j].name.clone() else { return };
                    let line = ServerLine::Priv { time, from: me.as_str(), to: them.as_str(), text };
                    self.send(j, &line);
                    if j != i {
                        self.send(i, &line);
                    }
                }
            },
            Command::Who => self.who(now, i),
            Command::Nick(new) => self.rename(now, i, &me, new),
            Command::Quit(reason) => {
                let mut why: heapless::String<MAX_LINE> = heapless::String::new();
                let _ = match reason {
                    Some(r) => write!(why, "quit: {r}"),
                    None => why.write_str("quit"),
                };
                self.depart(now, i, &why);
                self.bye(i, ByeCode::Quit, "Goodbye.");
            }
            Command::Help => {
                for h in HELP {
                    self.send(i, &ServerLine::Info { text: h });
                }
            }
            Command::Unknown(word) => {
                let mut s: heapless::String<128> = heapless::String::new();
                let _ = write!(s, "/{} is not a command; try /help.", Clip(word));
                self.error(i, ErrCode::UnknownCommand, &s);
            }
            Command::Usage(u) => {
                let mut s: heapless::String<64> = heapless::String::new();
                let _ = write!(s, "Usage: {u}");
                self.error(i, ErrCode::Usage, &s);
            }
        }
    }

    fn public(&mut self, now: Instant, i: usize, kind: EntryKind, me: &Name, text: &str) {
        let time = now.timestamp();
        let line = match kind {
            EntryKind::Msg => ServerLine::Msg { time, from: me.as_str(), text },
            EntryKind::Me => ServerLine::Me { time, from: me.as_str(), text },
        };
        self.broadcast(Some(i), &line);
        if let Some(e) = Entry::new(kind, time, me.clone(), text) {
            self.history.push(e);
        }
    }

    fn rename(&mut self, now: Instant, i: usize, old: &Name, new: &str) {
        let name = match Name::new(new) {
            Ok(n) => n,
            Err(e) => return self.error(i, ErrCode::NameInvalid, &Sentence(e).to_line()),
        };
        if self.find(name.as_str()).is_some_and(|j| j != i) {
            return self.error(i, ErrCode::NameTaken, &Taken(name.as_str()).to_line());
        }
        info!(target: "chatd", "rename peer={} old={old} new={name}", self.peer_str(i));
        self.slots[i].name = Some(name.clone());
        let line = ServerLine::Nick { time: now.timestamp(), old: old.as_str(), new: name.as_str() };
        self.broadcast(None, &line);
    }

    fn who(&mut self, now: Instant, i: usize) {
        let mut names: heapless::String<{ MAX_LINE - 64 }> = heapless::String::new();
        let (mut count, mut left_out) = (0usize, 0usize);
        for s in self.slots.iter().filter(|s| s.phase == Phase::Joined) {
            let Some(n) = &s.name else { continue };
            count += 1;
            // Leave room for the "+N" tail.
            if names.len() + n.as_str().len() + 1 + 8 > names.capacity() {
                left_out += 1;
                continue;
            }
            if !names.is_empty() {
                let _ = names.push(' ');
            }
            let _ = names.push_str(n.as_str());
        }
        if left_out > 0 {
            let _ = write!(names, " +{left_out}");
        }
        self.send(i, &ServerLine::Who { time: now.timestamp(), count, names: &names });
    }

    /// Replay the history to a newcomer, leaving out the oldest entries if they would crowd
    /// its outgoing queue (keeping room for one more full line).
    fn replay(&mut self, i: usize) {
        let mut budget = self.slots[i].room().saturating_sub(MAX_SERVER_LINE + 128);
        let mut fit = 0;
        for e in self.history.iter().rev() {
            let len = render(&hist_line(e)).map_or(usize::MAX, |l| l.len());
            if len > budget {
                break;
            }
            budget -= len;
            fit += 1;
        }
        let skip = self.history.len() - fit;
        if skip > 0 {
            let mut s: heapless::String<96> = heapless::String::new();
            let _ = write!(s, "{skip} older messages were left out of the replay.");
            self.send(i, &ServerLine::Info { text: &s });
        }
        for k in skip..self.history.len() {
            let Some(line) = self.history.iter().nth(k).and_then(|e| render(&hist_line(e))) else { continue };
            if self.slots[i].push(line.as_bytes()).is_err() {
                self.slots[i].overflowed = true;
            }
        }
    }

    // ---- delivery ----

    fn find(&self, name: &str) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.phase == Phase::Joined && s.name.as_ref().is_some_and(|n| same_name(n.as_str(), name)))
    }

    fn send(&mut self, i: usize, line: &ServerLine<'_>) {
        let Some(l) = render(line) else {
            warn!(target: "chatd", "line too long to render; dropped");
            return;
        };
        if self.slots[i].push(l.as_bytes()).is_err() {
            self.slots[i].overflowed = true;
        }
    }

    /// Send a line to every joined client but `except`; overflowing clients are marked slow.
    fn broadcast(&mut self, except: Option<usize>, line: &ServerLine<'_>) {
        let Some(l) = render(line) else { return };
        for (j, s) in self.slots.iter_mut().enumerate() {
            if s.phase == Phase::Joined && Some(j) != except && !s.overflowed && s.push(l.as_bytes()).is_err() {
                s.overflowed = true;
            }
        }
    }

    fn error(&mut self, i: usize, code: ErrCode, text: &str) {
        self.send(i, &ServerLine::Err { code: code.as_str(), text });
    }

    fn bye(&mut self, i: usize, code: ByeCode, text: &str) {
        self.send(i, &ServerLine::Bye { code: code.as_str(), text });
        self.mark_closing(i);
    }

    fn ask(&mut self, i: usize, phase: Phase) {
        let (what, text) = match phase {
            Phase::AwaitPassword => (Ask::Password, "Send the password."),
            _ => (Ask::Name, "Send your name (1-32 bytes, no spaces)."),
        };
        self.send(i, &ServerLine::Ask { what, text });
    }

    /// A joined client leaves: everybody else gets `LEAVE`, and the slot is closed.
    fn depart(&mut self, now: Instant, i: usize, reason: &str) {
        if self.slots[i].phase != Phase::Joined {
            return;
        }
        let Some(name) = self.slots[i].name.clone() else { return };
        info!(target: "chatd", "leave peer={} name={name} reason=\"{reason}\"", self.peer_str(i));
        self.mark_closing(i);
        self.broadcast(Some(i), &ServerLine::Leave { time: now.timestamp(), name: name.as_str(), reason });
    }

    fn mark_closing(&mut self, i: usize) {
        if matches!(self.slots[i].phase, Phase::Closing | Phase::Free) {
            return;
        }
        self.slots[i].phase = Phase::Closing;
        let id = self.id_of(i);
        // Holds at most one entry per slot, so there is always room.
        let _ = self.to_close.push_back(id);
    }

    /// Drop every client whose queue overflowed, announcing each; repeats while announcing
    /// makes others overflow (at most once per slot).
    fn settle(&mut self, now: Instant) {
        for _ in 0..=N {
            let Some(i) = self.slots.iter().position(|s| s.overflowed && !matches!(s.phase, Phase::Closing | Phase::Free)) else {
                return;
            };
            warn!(target: "chatd", "slow-consumer peer={} name={}", self.peer_str(i), self.name_str(i));
            if self.slots[i].phase == Phase::Joined {
                self.depart(now, i, "slow consumer");
            } else {
                self.mark_closing(i);
            }
        }
    }

    fn peer_str(&self, i: usize) -> PeerStr {
        PeerStr(self.slots[i].peer)
    }

    fn name_str(&self, i: usize) -> &str {
        self.slots[i].name.as_ref().map_or("-", Name::as_str)
    }
}

impl Slot {
    fn accepts_input(&self) -> bool {
        matches!(self.phase, Phase::AwaitPassword | Phase::AwaitName | Phase::Joined)
    }
}

/// What one decoding step found.
enum Got {
    Nothing,
    Line,
    TooLong,
}

use crate::frame::Frame;

fn hist_line(e: &Entry) -> ServerLine<'_> {
    ServerLine::Hist { kind: e.kind, time: e.time, name: e.name.as_str(), text: &e.text }
}

/// A peer address for logs, `-` if unknown.
struct PeerStr(Option<SocketAddr>);

impl fmt::Display for PeerStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(a) => write!(f, "{a}"),
            None => f.write_str("-"),
        }
    }
}

/// At most the first 32 bytes of a client-supplied word, cut on a character boundary.
struct Clip<'a>(&'a str);

impl fmt::Display for Clip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut end = self.0.len().min(crate::config::MAX_NAME);
        while !self.0.is_char_boundary(end) {
            end -= 1;
        }
        f.write_str(&self.0[..end])
    }
}

/// Short texts built on the stack.
trait ToLine: fmt::Display {
    fn to_line(&self) -> heapless::String<128> {
        let mut s = heapless::String::new();
        let _ = write!(s, "{self}");
        s
    }
}

struct Sentence<E>(E);
impl<E: fmt::Display> fmt::Display for Sentence<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut s: heapless::String<96> = heapless::String::new();
        let _ = write!(s, "{}", self.0);
        for c in s.chars() {
            if first {
                first = false;
                for u in c.to_uppercase() {
                    f.write_char(u)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        f.write_str(".")
    }
}
impl<E: fmt::Display> ToLine for Sentence<E> {}

struct Taken<'a>(&'a str);
impl fmt::Display for Taken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is taken; try another.", self.0)
    }
}
impl ToLine for Taken<'_> {}

struct FloodText(FloodLimit);
impl fmt::Display for FloodText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Too fast (limit {} lines at once, then {} a second); lines are being dropped. Slow down or you will be disconnected.",
            self.0.burst, self.0.per_sec
        )
    }
}
impl ToLine for FloodText {}

#[cfg(test)]
mod tests;
