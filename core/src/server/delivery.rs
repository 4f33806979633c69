//! Getting lines to clients: one, everyone but one, and dropping those that cannot keep up.

use core::fmt;
use core::net::SocketAddr;

use log::{info, warn};

use super::{render, slot_index, Server};
use crate::config::{MAX_SERVER_LINE, RING_BYTES};
use crate::names::{fold_hash, same_name, Name};
use crate::slot::Phase;
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

    pub(super) fn send(&mut self, i: usize, line: &ServerLine<'_>) {
        let Some(l) = render(line) else {
            warn!(target: "chatd", "line too long to render; dropped");
            return;
        };
        self.send_bytes(i, l.as_bytes());
    }

    /// Queue an already rendered line for one connection, after everything broadcast so far.
    pub(super) fn send_bytes(&mut self, i: usize, line: &[u8]) {
        let tag = self.ring.head();
        if self.slots[i].push(tag, line).is_err() {
            self.slots[i].overflowed = true;
        }
        if self.slots[i].room() < PRESSURE_ROOM {
            self.pressure = true;
        }
    }

    /// Send a line to every joined client but `except` (`None`: to all), storing it once in
    /// the broadcast ring. Clients it leaves behind the ring's tail are marked slow.
    pub(super) fn broadcast(&mut self, except: Option<usize>, line: &ServerLine<'_>) {
        let Some(l) = render(line) else { return };
        let sender = except.map(slot_index);
        if self.ring.append(sender, l.as_bytes()).is_none() {
            warn!(target: "chatd", "line longer than the broadcast ring; dropped");
            return;
        }
        let (tail, head) = (self.ring.tail(), self.ring.head());
        if head - self.pressure_head >= (RING_BYTES / 4) as u64 {
            self.pressure = true;
            self.pressure_head = head;
        }
        for (j, s) in self.slots.iter_mut().enumerate() {
            if s.ring_pos >= s.ring_limit {
                continue;
            }
            if s.ring_pos < tail {
                // Its unsent lines were forgotten: it stopped reading.
                if s.phase == Phase::Joined {
                    s.overflowed = true;
                }
                s.ring_limit = s.ring_pos;
            } else if Some(j) == except && s.ring_pos + l.len() as u64 == head {
                // The sender was up to date: step over its own line at once.
                s.ring_pos = head;
                s.ring_rec = self.ring.end_record();
            }
        }
    }

    /// Start sending a newly joined client everything broadcast from now on.
    pub(super) fn subscribe(&mut self, i: usize) {
        let s = &mut self.slots[i];
        s.ring_pos = self.ring.head();
        s.ring_rec = self.ring.end_record();
        s.ring_limit = u64::MAX;
    }

    /// Refuse a line with `ERR`; before joining, ask for the name again, so a client always
    /// knows the server is waiting for it.
    pub(super) fn error(&mut self, i: usize, code: ErrCode, text: &str) {
        self.send(
            i,
            &ServerLine::Err {
                code: Code::Known(code),
                text,
            },
        );
        if self.slots[i].phase == Phase::AwaitName {
            self.ask(i, Phase::AwaitName);
        }
    }

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

    /// A joined client leaves: everybody else gets `LEAVE`, and the slot is closed.
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
        self.mark_closing(i);
        self.broadcast(
            Some(i),
            &ServerLine::Leave {
                time: now.wall,
                name: name.as_str(),
                reason,
            },
        );
    }

    pub(super) fn mark_closing(&mut self, i: usize) {
        if matches!(self.slots[i].phase, Phase::Closing | Phase::Free) {
            return;
        }
        self.slots[i].phase = Phase::Closing;
        // It still gets what was broadcast before now, and nothing after.
        let head = self.ring.head();
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
        for _ in 0..=N {
            let Some(i) = self
                .slots
                .iter()
                .position(|s| s.overflowed && !matches!(s.phase, Phase::Closing | Phase::Free))
            else {
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
