//! Who times out next, without looking at every slot: the connections that wait on a timer,
//! kept in two lists in deadline order.
//!
//! A connection that has not joined waits on the join timeout (from when it connected); a
//! registered IRC client waits on its keep-alive (from when it was last heard, or pinged).
//! Each kind has one interval for every connection, and a timer is always started at the
//! current instant, which never goes backwards; so a list ordered by start is ordered by
//! deadline, and a timer (re)started is simply moved to the back. Then
//! [`Server::poll_at`](super::Server::poll_at) reads two list heads instead of scanning up to a
//! thousand slots (each on its own pages) twice a turn of the caller's loop.
//!
//! The lists are threaded through the slots themselves ([`Link`]); `retime` puts a slot on the
//! list its state calls for after anything that changes it.

use super::Server;
use crate::dialect::Dialect;
use crate::slot::{Phase, Slot};
use crate::time::Instant;

/// No slot: the end of a list.
const NIL: u16 = u16::MAX;

/// The timers a connection may wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// It has not joined (IRC: registered) yet; the start is when it connected.
    Join,
    /// A registered IRC client; the start is when it was last heard, or pinged since.
    KeepAlive,
}

impl Timer {
    fn index(self) -> usize {
        match self {
            Timer::Join => 0,
            Timer::KeepAlive => 1,
        }
    }
}

/// A slot's place on a timer list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    on: Option<Timer>,
    prev: u16,
    next: u16,
}

impl Link {
    /// On no list.
    pub(crate) const fn new() -> Link {
        Link {
            on: None,
            prev: NIL,
            next: NIL,
        }
    }
}

/// The first and last slot of each timer's list.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lists {
    ends: [(u16, u16); 2],
}

impl Lists {
    /// Two empty lists.
    pub(super) const fn new() -> Lists {
        Lists {
            ends: [(NIL, NIL); 2],
        }
    }
}

/// Return the timer a slot in this state waits on, and when it started.
fn wanted(s: &Slot) -> Option<(Timer, Instant)> {
    match (s.phase, s.dialect) {
        (Phase::AwaitPassword | Phase::AwaitName, _) => Some((Timer::Join, s.connected_at)),
        (Phase::Joined, Dialect::Irc) => {
            Some((Timer::KeepAlive, s.irc.pinged.unwrap_or(s.irc.heard)))
        }
        _ => None,
    }
}

impl<const N: usize> Server<N> {
    /// Put slot `i` on the list its state calls for, at its place; call after anything that
    /// changes its phase, or starts one of its timers.
    pub(super) fn retime(&mut self, i: usize) {
        let want = wanted(&self.slots[i]);
        if want.is_some_and(|(t, _)| t == Timer::Join)
            && self.slots[i].deadline.on == want.map(|(t, _)| t)
        {
            // A join timer runs from the connect, whatever happens until the join.
            return;
        }
        self.unlink(i);
        let Some((timer, start)) = want else {
            return;
        };
        let t = timer.index();
        // From the back: a timer started now belongs there, so this takes no step.
        let mut after = self.deadlines.ends[t].1;
        while after != NIL {
            let a = usize::from(after);
            if wanted(&self.slots[a]).is_some_and(|(_, s)| s <= start) {
                break;
            }
            after = self.slots[a].deadline.prev;
        }
        let me = super::slot_index(i);
        let next = if after == NIL {
            self.deadlines.ends[t].0
        } else {
            self.slots[usize::from(after)].deadline.next
        };
        self.slots[i].deadline = Link {
            on: Some(timer),
            prev: after,
            next,
        };
        match after {
            NIL => self.deadlines.ends[t].0 = me,
            a => self.slots[usize::from(a)].deadline.next = me,
        }
        match next {
            NIL => self.deadlines.ends[t].1 = me,
            n => self.slots[usize::from(n)].deadline.prev = me,
        }
    }

    /// Take slot `i` off its timer list, if it is on one.
    pub(super) fn unlink(&mut self, i: usize) {
        let Link { on, prev, next } = self.slots[i].deadline;
        let Some(timer) = on else { return };
        let t = timer.index();
        match prev {
            NIL => self.deadlines.ends[t].0 = next,
            p => self.slots[usize::from(p)].deadline.next = next,
        }
        match next {
            NIL => self.deadlines.ends[t].1 = prev,
            n => self.slots[usize::from(n)].deadline.prev = prev,
        }
        self.slots[i].deadline = Link::new();
    }

    /// Return when the first timer of the `timer` list started, if any slot waits on it.
    pub(super) fn first_start(&self, timer: Timer) -> Option<Instant> {
        let first = self.deadlines.ends[timer.index()].0;
        self.slots
            .get(usize::from(first))
            .and_then(wanted)
            .map(|(_, start)| start)
    }

    /// Check that the lists hold exactly the slots that wait on a timer, each on its own
    /// timer's list, in order of start, with consistent links; for tests and fuzzers.
    pub(super) fn check_deadlines(&self) -> Result<(), &'static str> {
        let mut listed = 0;
        for timer in [Timer::Join, Timer::KeepAlive] {
            let (first, last) = self.deadlines.ends[timer.index()];
            let (mut prev, mut at, mut start) = (NIL, first, Instant::ZERO);
            // Each step visits another slot, so a longer walk means a loop.
            for _ in 0..=self.slots.len() {
                if at == NIL {
                    break;
                }
                let s = self
                    .slots
                    .get(usize::from(at))
                    .ok_or("a timer link past the slots")?;
                match wanted(s) {
                    Some((t, st)) if t == timer && s.deadline.on == Some(timer) => {
                        if st < start {
                            return Err("a timer list out of deadline order");
                        }
                        start = st;
                    }
                    _ => return Err("a slot on a timer list it does not wait on"),
                }
                if s.deadline.prev != prev {
                    return Err("a timer list's back link is wrong");
                }
                listed += 1;
                prev = at;
                at = s.deadline.next;
            }
            if at != NIL {
                return Err("a timer list loops");
            }
            if last != prev {
                return Err("a timer list's last slot is wrong");
            }
        }
        let waiting = self.slots.iter().filter(|s| wanted(s).is_some()).count();
        if waiting != listed {
            return Err("a slot waits on a timer but is on no list");
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use core::net::SocketAddr;
    use std::format;

    use crate::server::{CloseReason, ConnId};
    use crate::testing::Sim;
    use crate::time::Duration;
    use crate::{Config, Dialect};

    fn peer(n: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, n], 40_000 + u16::from(n)))
    }

    fn register(s: &mut Sim<8>, n: u8, nick: &str) -> ConnId {
        let id = s.accept_as(peer(n), Dialect::Irc).unwrap();
        s.send(
            id,
            format!("NICK {nick}\r\nUSER {nick} 0 * :x\r\n").as_bytes(),
        );
        s.server.check_invariants().unwrap();
        id
    }

    #[test]
    fn poll_at_follows_every_timer_as_it_starts_restarts_and_stops() {
        let mut s: Sim<8> = Sim::new(Config {
            flood: None,
            join_timeout: Duration::from_secs(60),
            ..Config::default()
        });
        let ping = s.server.config().irc.ping;
        let t0 = s.now().instant;
        let secs = Duration::from_secs;
        let ana = register(&mut s, 1, "ana");
        s.advance(secs(10));
        let bob = register(&mut s, 2, "bob");
        s.advance(secs(10));
        let carla = s.accept(peer(3)).unwrap();
        assert_eq!(
            s.server.poll_at(),
            Some(t0 + secs(80)),
            "carla's join timeout"
        );
        s.send(carla, b"carla\n");
        assert_eq!(s.server.poll_at(), Some(t0 + ping), "ana's keep-alive");

        s.advance(ping - secs(20));
        let now = s.now();
        s.server.tick(now);
        s.server.check_invariants().unwrap();
        assert_eq!(
            s.server.poll_at(),
            Some(t0 + secs(10) + ping),
            "bob's keep-alive: ana's restarted when she was pinged"
        );

        s.advance(secs(5));
        s.send(bob, b"PONG :x\r\n");
        s.server.check_invariants().unwrap();
        assert_eq!(
            s.server.poll_at(),
            Some(t0 + ping + ping),
            "ana's answer is due before bob, heard just now, is pinged"
        );

        s.server.closed(s.now(), ana, CloseReason::Eof);
        s.server.check_invariants().unwrap();
        assert_eq!(s.server.poll_at(), Some(t0 + secs(5) + ping + ping));
        s.server.closed(s.now(), bob, CloseReason::Eof);
        assert_eq!(s.server.poll_at(), None);
    }
}
