//! Getting lines to clients: one, everyone but one, and dropping those that cannot keep up.

use core::fmt;
use core::net::SocketAddr;

use log::{info, warn};

use super::{render, Server};
use crate::names::{same_name, Name};
use crate::slot::Phase;
use crate::time::Instant;
use crate::wire::{Ask, ByeCode, ErrCode, ServerLine};

impl<const N: usize> Server<N> {
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        self.slots.iter().position(|s| {
            s.phase == Phase::Joined && s.name.as_ref().is_some_and(|n| same_name(n.as_str(), name))
        })
    }

    pub(super) fn send(&mut self, i: usize, line: &ServerLine<'_>) {
        let Some(l) = render(line) else {
            warn!(target: "chatd", "line too long to render; dropped");
            return;
        };
        if self.slots[i].push(l.as_bytes()).is_err() {
            self.slots[i].overflowed = true;
        }
    }

    /// Send a line to every joined client but `except`; overflowing clients are marked slow.
    pub(super) fn broadcast(&mut self, except: Option<usize>, line: &ServerLine<'_>) {
        let Some(l) = render(line) else { return };
        for (j, s) in self.slots.iter_mut().enumerate() {
            if s.phase == Phase::Joined
                && Some(j) != except
                && !s.overflowed
                && s.push(l.as_bytes()).is_err()
            {
                s.overflowed = true;
            }
        }
    }

    pub(super) fn error(&mut self, i: usize, code: ErrCode, text: &str) {
        self.send(
            i,
            &ServerLine::Err {
                code: code.as_str(),
                text,
            },
        );
    }

    pub(super) fn bye(&mut self, i: usize, code: ByeCode, text: &str) {
        self.send(
            i,
            &ServerLine::Bye {
                code: code.as_str(),
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
    pub(super) fn depart(&mut self, now: Instant, i: usize, reason: &str) {
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
                time: now.timestamp(),
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
        let id = self.id_of(i);
        // Holds at most one entry per slot, so there is always room.
        let _ = self.to_close.push_back(id);
    }

    /// Drop every client whose queue overflowed, announcing each; repeats while announcing
    /// makes others overflow (at most once per slot).
    pub(super) fn settle(&mut self, now: Instant) {
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

    use crate::{Config, Instant, Server};

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
        let mut s: Server<2> = Server::new(Config::default());
        let now = Instant::from_secs(1_000);
        let peer = |p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p);
        let a = s.accept(now, peer(1)).unwrap();
        s.receive(now, a, b"ana\n");
        let b = s.accept(now, peer(2)).unwrap();
        s.receive(now, b, b"bob\n");
        s.receive(now, a, b"/quit zq-secret-words\n");
        let logged = LOGGED.lock().unwrap();
        assert!(!logged.contains("zq-secret-words"), "{logged}");
        if installed {
            assert!(logged.contains("name=ana reason=\"quit\""), "{logged}");
        }
    }
}
