//! Getting lines to clients: one (in its dialect), everyone but one (once per dialect), and
//! dropping those that cannot keep up.

use core::fmt;
use core::net::SocketAddr;

use log::{info, warn};

use super::irc_render::{self, IrcLines};
use super::room::RoomEvent;
use super::{render, slot_index, Server};
use crate::config::{MAX_SERVER_LINE, RING_BYTES};
use crate::dialect::Dialect;
use crate::names::{fold_hash, same_name, Name};
use crate::slot::{Phase, Slot};
use crate::time::Now;
use crate::wire::{Ask, ByeCode, Code, ErrCode, ServerLine};

/// Room left in a private queue below which [`Server::input`] stops so that the caller
/// writes out: two of the longest lines.
const PRESSURE_ROOM: usize = 2 * MAX_SERVER_LINE;

impl<const N: usize> Server<N> {
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        let hash = fold_hash(name); // each Name holds its own: most slots cost one compare
        self.slots.iter().position(|s| {
            s.phase == Phase::Joined
                && s.name
                    .as_ref()
                    .is_some_and(|n| n.fold_hash() == hash && same_name(n.as_str(), name))
        })
    }

    /// Queue `line` for one connection, written in its dialect.
    pub(super) fn send(&mut self, i: usize, line: &ServerLine<'_>) {
        match self.slots[i].dialect {
            Dialect::Native => {
                let Some(l) = render(line) else {
                    warn!(target: "chatd", "line too long to render; dropped");
                    return;
                };
                self.send_bytes(i, l.as_bytes());
            }
            Dialect::Irc => {
                let mut out = IrcLines::new();
                if irc_render::server_line(&mut out, &self.irc_ctx(i), line).is_ok() {
                    self.send_bytes(i, out.as_bytes());
                }
            }
        }
    }

    /// Queue `line` for one connection if its queue has room, without counting it as a slow
    /// consumer if not (a last notice before closing).
    pub(super) fn send_quietly(&mut self, i: usize, line: &ServerLine<'_>) {
        self.note_output(i);
        let tag = self.ring_of(self.slots[i].dialect).head();
        match self.slots[i].dialect {
            Dialect::Native => {
                if let Some(l) = render(line) {
                    let _ = self.slots[i].push(tag, l.as_bytes());
                }
            }
            Dialect::Irc => {
                let mut out = IrcLines::new();
                if irc_render::server_line(&mut out, &self.irc_ctx(i), line).is_ok() {
                    let _ = self.slots[i].push(tag, out.as_bytes());
                }
            }
        }
    }

    /// Queue an already rendered line for one connection, after everything broadcast so far.
    pub(super) fn send_bytes(&mut self, i: usize, line: &[u8]) {
        self.note_output(i);
        let tag = self.ring_of(self.slots[i].dialect).head();
        if self.slots[i].push(tag, line).is_err() {
            self.overflowed(i);
        }
        if self.slots[i].room() < PRESSURE_ROOM {
            self.pressure = true;
        }
    }

    /// Send a room event to everyone in the room but `except` (`None`: to all), storing it
    /// once in each dialect's ring: the native one always, the IRC one while an IRC client is
    /// in the room.
    pub(super) fn broadcast(&mut self, except: Option<usize>, event: &RoomEvent<'_>) {
        if let Some(l) = render(&event.native_line()) {
            self.append(Dialect::Native, except, l.as_bytes());
        }
        if self.irc_in_room > 0 {
            let mut out = IrcLines::new();
            if irc_render::room_event(&mut out, &self.config.irc, event).is_ok() {
                self.append(Dialect::Irc, except, out.as_bytes());
            }
        }
    }

    /// Note that connection `i` cannot keep up: `settle` drops it.
    pub(super) fn overflowed(&mut self, i: usize) {
        self.slots[i].overflowed = true;
        self.overflow_pending = true;
    }

    /// Store a rendered room line in `dialect`'s ring. Clients of that dialect it leaves
    /// behind the ring's tail are marked slow.
    ///
    /// Only when the tail passes the ring's floor can anybody be left behind: then every
    /// reader is looked at, and the floor raised to the slowest one left. Most lines (all
    /// until the ring first fills, and then all but about one per ring's worth of bytes)
    /// cost no look at the readers.
    fn append(&mut self, dialect: Dialect, except: Option<usize>, line: &[u8]) {
        let sender = except.map(slot_index);
        let ring = match dialect {
            Dialect::Native => &mut self.ring,
            Dialect::Irc => &mut self.irc_ring,
        };
        if ring.append(sender, line).is_none() {
            warn!(target: "chatd", "line longer than the broadcast ring; dropped");
            return;
        }
        let (tail, head, end_record) = (ring.tail(), ring.head(), ring.end_record());
        let d = usize::from(dialect == Dialect::Irc);
        let pressure_head = &mut self.pressure_head[d];
        if head - *pressure_head >= (RING_BYTES / 4) as u64 {
            self.pressure = true;
            *pressure_head = head;
        }
        let step_over = |s: &mut Slot| {
            if s.ring_pos + line.len() as u64 == head {
                // The sender was up to date: step over its own line at once.
                s.ring_pos = head;
                s.ring_rec = end_record;
            }
        };
        if tail <= self.ring_floor[d] {
            // Every reader is at or past the floor, so none fell behind the tail.
            if let Some(s) = except.and_then(|j| self.slots.get_mut(j)) {
                if s.ring_pos < s.ring_limit && s.dialect == dialect {
                    step_over(s);
                }
            }
            return;
        }
        let mut floor = head;
        let mut slow = false;
        for (j, s) in self.slots.iter_mut().enumerate() {
            if s.ring_pos >= s.ring_limit || s.dialect != dialect {
                continue;
            }
            if s.ring_pos < tail {
                // Its unsent lines were forgotten: it stopped reading.
                if s.phase == Phase::Joined {
                    s.overflowed = true;
                    slow = true;
                }
                s.ring_limit = s.ring_pos;
                continue;
            }
            if Some(j) == except {
                step_over(s);
            }
            floor = floor.min(s.ring_pos);
        }
        self.ring_floor[d] = floor;
        self.overflow_pending |= slow;
    }

    /// Check that no reader of a ring is behind its floor.
    pub(super) fn check_ring_floor(&self) -> Result<(), &'static str> {
        for s in &self.slots {
            let d = usize::from(s.dialect == Dialect::Irc);
            if s.ring_pos < s.ring_limit && s.ring_pos < self.ring_floor[d] {
                return Err("a reader is behind its ring's floor");
            }
        }
        Ok(())
    }

    /// Start sending a client entering the room everything broadcast in its dialect from now
    /// on. A client that comes back before it was sent all it had (an IRC `PART` then `JOIN`)
    /// keeps its place, so nothing before its return is lost.
    pub(super) fn subscribe(&mut self, i: usize) {
        let ring = match self.slots[i].dialect {
            Dialect::Native => &self.ring,
            Dialect::Irc => &self.irc_ring,
        };
        let (head, end_record) = (ring.head(), ring.end_record());
        let s = &mut self.slots[i];
        if s.ring_pos >= s.ring_limit || s.ring_pos < ring.tail() {
            s.ring_pos = head;
            s.ring_rec = end_record;
        }
        s.ring_limit = u64::MAX;
    }

    /// Refuse a line with `ERR` (IRC: the numeric or `NOTICE` a client acts on); before a
    /// native client joins, ask for the name again, so it always knows the server is waiting.
    pub(super) fn error(&mut self, i: usize, code: ErrCode, text: &str) {
        self.send(
            i,
            &ServerLine::Err {
                code: Code::Known(code),
                text,
            },
        );
        if self.slots[i].phase == Phase::AwaitName && self.slots[i].dialect == Dialect::Native {
            self.ask(i, Phase::AwaitName);
        }
    }

    /// Say goodbye with `BYE` (IRC: `ERROR`, after `464`/`465` for a password) and close.
    pub(super) fn bye(&mut self, i: usize, code: ByeCode, text: &str) {
        self.send(
            i,
            &ServerLine::Bye {
                code: Code::Known(code),
                text,
            },
        );
        self.mark_closing(i);
    }

    pub(super) fn ask(&mut self, i: usize, phase: Phase) {
        let (what, text) = match phase {
            Phase::AwaitPassword => (Ask::Password, "Send the password."),
            _ => (Ask::Name, "Send your name (1-32 bytes, no spaces)."),
        };
        self.send(i, &ServerLine::Ask { what, text });
    }

    /// A joined client leaves: everybody else in the room gets `LEAVE` (IRC: `QUIT`), and
    /// the slot is closed. (An IRC client out of the room leaves without a word to it.)
    pub(super) fn depart(&mut self, now: Now, i: usize, reason: &str) {
        if self.slots[i].phase != Phase::Joined {
            return;
        }
        let Some(name) = self.slots[i].name.clone() else {
            return;
        };
        // Only the reason's kind: a quit reason is something the client said, and the logs never
        // carry what people say.
        let kind = reason.split(':').next().unwrap_or(reason);
        info!(target: "chatd", "leave peer={} name={name} reason=\"{kind}\"", self.peer_str(i));
        let was_in_room = self.slots[i].in_room;
        let who = self.speaker(i);
        self.mark_closing(i);
        if let Some(who) = who.filter(|_| was_in_room) {
            self.broadcast(
                Some(i),
                &RoomEvent::Leave {
                    time: now.wall,
                    who: who.as_ref(),
                    reason,
                },
            );
        }
    }

    pub(super) fn mark_closing(&mut self, i: usize) {
        if matches!(self.slots[i].phase, Phase::Closing | Phase::Free) {
            return;
        }
        self.leave_room(i);
        self.set_phase(i, Phase::Closing);
        // It still gets what was broadcast before now, and nothing after.
        let head = self.ring_of(self.slots[i].dialect).head();
        let s = &mut self.slots[i];
        s.ring_limit = s.ring_limit.min(head);
        let id = self.id_of(i);
        if self.to_close.is_full() {
            // Drop entries of connections closed since (their slots were freed or reused);
            // at most one live entry per slot remains, so this always makes room.
            let slots = &self.slots;
            self.to_close.retain(|c| {
                slots.get(c.index()).is_some_and(|s| {
                    s.generation == c.generation && s.phase == Phase::Closing && !s.close_reported
                })
            });
        }
        let _ = self.to_close.push_back(id);
    }

    /// Drop every client whose queue overflowed, announcing each; repeats while announcing
    /// makes others overflow (at most once per slot).
    pub(super) fn settle(&mut self, now: Now) {
        if !self.overflow_pending {
            return;
        }
        for _ in 0..=N {
            let Some(i) = self
                .slots
                .iter()
                .position(|s| s.overflowed && !matches!(s.phase, Phase::Closing | Phase::Free))
            else {
                self.overflow_pending = false;
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

    pub(super) fn peer_str(&self, i: usize) -> PeerStr {
        PeerStr(self.slots[i].peer)
    }

    pub(super) fn name_str(&self, i: usize) -> &str {
        self.slots[i].name.as_ref().map_or("-", Name::as_str)
    }
}

/// A peer address for logs, `-` if unknown.
pub(super) struct PeerStr(Option<SocketAddr>);

impl fmt::Display for PeerStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(a) => write!(f, "{a}"),
            None => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod test {
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::string::String;
    use std::sync::Mutex;

    use crate::testing::Sim;
    use crate::Config;

    /// Every log record, as text.
    static LOGGED: Mutex<String> = Mutex::new(String::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            use core::fmt::Write as _;
            let mut l = LOGGED.lock().unwrap();
            let _ = writeln!(l, "{}", record.args());
        }
        fn flush(&self) {}
    }

    #[test]
    fn a_quit_reason_never_reaches_the_log() {
        let installed = log::set_logger(&Capture).is_ok();
        log::set_max_level(log::LevelFilter::Trace);
        let mut s: Sim<2> = Sim::new(Config::default());
        let peer = |n| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)), 40_000);
        let a = s.accept(peer(1)).unwrap();
        s.send(a, b"ana\n");
        let b = s.accept(peer(2)).unwrap();
        s.send(b, b"bob\n");
        s.send(a, b"/quit zq-secret-words\n");
        let logged = LOGGED.lock().unwrap();
        assert!(!logged.contains("zq-secret-words"), "{logged}");
        if installed {
            assert!(logged.contains("name=ana reason=\"quit\""), "{logged}");
        }
    }
}
