//! Time passing: the join timeout, and the keep-alive of IRC clients.
//!
//! A connection that has not joined (IRC: registered) within the join timeout is dropped. An
//! IRC client that has sent nothing for [`crate::config::IrcConfig::ping`] gets `PING`, and
//! one that then sends nothing for as long again is dropped (`ERROR :Closing link: Ping
//! timeout`; the room reads `ping timeout`). Native clients are never pinged: their protocol
//! has no ping, and TCP keep-alive is the daemon's business.

use log::info;

use super::deadlines::Timer;
use super::Server;
use crate::dialect::Dialect;
use crate::irc::{Message, Source};
use crate::slot::{Phase, Slot};
use crate::time::{Duration, Instant, Now};
use crate::wire::ByeCode;

use super::irc_render::IrcLines;

impl<const N: usize> Server<N> {
    /// Let time pass: drop connections that did not join in time, ping silent IRC clients and
    /// drop those that did not answer.
    pub fn tick(&mut self, now: Now) {
        let timeout = self.config.join_timeout;
        let ping = self.ping_interval();
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            if matches!(s.phase, Phase::AwaitPassword | Phase::AwaitName)
                && now.instant.duration_since(s.connected_at) >= timeout
            {
                info!(target: "chatd", "disconnect peer={} reason=join-timeout", self.peer_str(i));
                self.bye(i, ByeCode::Timeout, "No name was given in time.");
                continue;
            }
            if !keeps_alive(s) {
                continue;
            }
            match s.irc.pinged {
                None if now.instant.duration_since(s.irc.heard) >= ping => {
                    self.ping(i);
                    self.slots[i].irc.pinged = Some(now.instant);
                    self.retime(i);
                }
                Some(at) if now.instant.duration_since(at) >= ping => {
                    info!(target: "chatd", "disconnect peer={} reason=ping-timeout", self.peer_str(i));
                    self.depart(now, i, "ping timeout");
                    self.irc_close(i, "Ping timeout");
                }
                _ => {}
            }
        }
        self.settle(now);
    }

    /// Return when [`Server::tick`] next has work to do, on the monotonic clock of [`Now`], or
    /// `None` if it has none pending. Feeding an event may bring it forward: ask again after.
    ///
    /// It costs the same however many connections there are: the timers are kept in
    /// deadline order as they start (see `deadlines`).
    #[must_use]
    pub fn poll_at(&self) -> Option<Instant> {
        let join = self
            .first_start(Timer::Join)
            .map(|t| t + self.config.join_timeout);
        let keep_alive = self
            .first_start(Timer::KeepAlive)
            .map(|t| t + self.ping_interval());
        match (join, keep_alive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Note that IRC client `i` sent something: it is alive, and owes no answer to a ping.
    pub(super) fn heard(&mut self, now: Now, i: usize) {
        let irc = &mut self.slots[i].irc;
        irc.heard = now.instant;
        irc.pinged = None;
        self.retime(i);
    }

    /// Return the keep-alive interval, never under a millisecond (a zero would ping forever).
    fn ping_interval(&self) -> Duration {
        self.config.irc.ping.max(Duration::from_millis(1))
    }

    /// Send `PING :server` to IRC client `i`.
    fn ping(&mut self, i: usize) {
        let server = self.config.irc.server_name();
        let mut out = IrcLines::new();
        let m = Message::new("PING")
            .with_source(Source::server(server))
            .with_trailing(server);
        if m.emit(&mut out).is_ok() {
            self.send_bytes(i, out.as_bytes());
        }
    }
}

/// Return whether a slot is a registered IRC client, which the keep-alive watches.
fn keeps_alive(s: &Slot) -> bool {
    s.dialect == Dialect::Irc && s.phase == Phase::Joined
}
