//! The protocol's rules for one line from one client: password, name, commands, rate limit.
//! Lines from IRC clients go to `irc_register` and `irc_rules` instead; the password check and
//! the rate limit are shared.

use core::fmt::{self, Write as _};

use log::{info, warn};

use super::room::{PrivKind, Private, Refused, RoomEvent};
use super::{render, Server};
use crate::auth::{password_matches, Guess, Hold};
use crate::commands::{Command, HELP};
use crate::config::{MAX_LINE, MAX_SERVER_LINE};
use crate::dialect::Dialect;
use crate::flood::{FloodLimit, Verdict};
use crate::history::EntryKind;
use crate::names::Name;
use crate::slot::{Phase, PRIVATE_HEADER};
use crate::time::Now;
use crate::wire::{has_control, ByeCode, ErrCode, ServerLine};

impl<const N: usize> Server<N> {
    /// Charge a line to the client's rate limit; return whether to handle it.
    pub(super) fn admit(&mut self, now: Now, i: usize) -> bool {
        let Some(limit) = self.config.flood else {
            return true;
        };
        match self.slots[i].bucket.take(&limit, now.instant) {
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

    pub(super) fn handle_line(&mut self, now: Now, i: usize, line: &[u8]) {
        if self.slots[i].dialect == Dialect::Irc {
            self.irc_line(now, i, line);
            return;
        }
        if self.slots[i].phase == Phase::AwaitPassword {
            self.check_password(now, i, line);
            return;
        }
        let Ok(text) = core::str::from_utf8(line) else {
            self.error(
                i,
                ErrCode::BadUtf8,
                "The line is not valid UTF-8; it was discarded.",
            );
            return;
        };
        if has_control(text) {
            self.error(
                i,
                ErrCode::ControlChar,
                "Control characters are not allowed; the line was discarded.",
            );
            return;
        }
        match self.slots[i].phase {
            Phase::AwaitName => self.try_join(now, i, text),
            Phase::Joined => self.command(now, i, text),
            _ => {}
        }
    }

    /// Check one password guess from connection `i`, whatever protocol carried it: refuse it
    /// unchecked while the throttle holds (per address or server-wide), else compare it,
    /// count a wrong one, and log the outcome. A right one moves the connection on to
    /// [`Phase::AwaitName`]. Sends nothing: the caller answers in its own protocol. Call it
    /// only while the connection is in [`Phase::AwaitPassword`], once per password it sent.
    pub(crate) fn guess_password(&mut self, now: Now, i: usize, guess: &[u8]) -> Guess {
        let Some(peer) = self.slots[i].peer else {
            return Guess::Held(Hold::Address);
        };
        let Some(expected) = &self.config.password else {
            self.set_phase(i, Phase::AwaitName);
            return Guess::Right;
        };
        if let Err(hold) = self.throttle.check(now.instant, peer.ip()) {
            match hold {
                Hold::Address => warn!(target: "chatd", "auth-throttled peer={peer}"),
                Hold::Everyone => warn!(target: "chatd", "auth-budget-exhausted peer={peer}"),
            }
            return Guess::Held(hold);
        }
        if password_matches(expected, guess) {
            self.throttle.succeed(peer.ip());
            self.set_phase(i, Phase::AwaitName);
            Guess::Right
        } else {
            let n = self.throttle.fail(now.instant, peer.ip());
            warn!(target: "chatd", "auth-failure peer={peer} failures={n}");
            Guess::Wrong
        }
    }

    /// Answer a password line of the native protocol.
    pub(super) fn check_password(&mut self, now: Now, i: usize, guess: &[u8]) {
        match self.guess_password(now, i, guess) {
            Guess::Right => self.ask(i, Phase::AwaitName),
            Guess::Wrong => self.bye(i, ByeCode::Password, "Wrong password."),
            Guess::Held(hold) => self.bye(i, ByeCode::Throttled, hold.text()),
        }
    }

    pub(super) fn try_join(&mut self, now: Now, i: usize, text: &str) {
        let name = match Name::new(text.trim_matches([' ', '\t'])) {
            Ok(n) => n,
            Err(e) => {
                self.error(i, ErrCode::NameInvalid, &Sentence(e).to_line());
                return;
            }
        };
        if self.find(name.as_str()).is_some() {
            self.error(i, ErrCode::NameTaken, &Taken(name.as_str()).to_line());
            return;
        }
        info!(target: "chatd", "join peer={} name={name}", self.peer_str(i));
        let time = now.wall;
        self.set_phase(i, Phase::Joined);
        self.slots[i].name = Some(name.clone());
        self.enter_room(i);
        let mut welcome: heapless::String<96> = heapless::String::new();
        let _ = write!(welcome, "Welcome, {name}! Type /help for commands.");
        self.send(
            i,
            &ServerLine::Welcome {
                time,
                name: name.as_str(),
                text: &welcome,
            },
        );
        self.who(now, i);
        self.replay(i);
        if let Some(who) = self.speaker(i) {
            self.broadcast(
                Some(i),
                &RoomEvent::Join {
                    time,
                    who: who.as_ref(),
                },
            );
        }
    }

    pub(super) fn command(&mut self, now: Now, i: usize, text: &str) {
        match Command::parse(text) {
            Command::Empty => {}
            Command::Say(t) => self.public(now, i, EntryKind::Msg, t, false),
            Command::Me(t) => self.public(now, i, EntryKind::Me, t, false),
            Command::Msg { to, text } => {
                let words = Private {
                    kind: PrivKind::Msg,
                    irc: text,
                    native: text,
                };
                if self.private(now, i, to, words).is_err() {
                    let mut s: heapless::String<96> = heapless::String::new();
                    let _ = write!(s, "{} Nobody called {} is online.", Clip(to), Clip(to));
                    self.error(i, ErrCode::NoSuchName, &s);
                }
            }
            Command::Who => self.who(now, i),
            Command::Nick(new) => match self.rename(now, i, new) {
                Ok(()) => {}
                Err(Refused::Invalid(e)) => {
                    self.error(i, ErrCode::NameInvalid, &Sentence(e).to_line());
                }
                Err(Refused::Taken) => {
                    self.error(i, ErrCode::NameTaken, &Taken(new).to_line());
                }
            },
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

    pub(super) fn who(&mut self, now: Now, i: usize) {
        let mut names: heapless::String<{ MAX_LINE - 64 }> = heapless::String::new();
        let (mut count, mut left_out) = (0usize, 0usize);
        for s in self
            .slots
            .iter()
            .filter(|s| s.phase == Phase::Joined && s.in_room)
        {
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
        self.send(
            i,
            &ServerLine::Who {
                time: now.wall,
                count,
                names: &names,
            },
        );
    }

    /// Replay the history to a newcomer, leaving out the oldest entries if they would crowd
    /// its outgoing queue (keeping room for one more full line).
    pub(super) fn replay(&mut self, i: usize) {
        let mut budget = self.slots[i]
            .room()
            .saturating_sub(MAX_SERVER_LINE + PRIVATE_HEADER + 128);
        let mut fit = 0;
        for e in self.history.iter().rev() {
            let len = render(&e.line()).map_or(usize::MAX, |l| l.len() + PRIVATE_HEADER);
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
            let Some(line) = self.history.iter().nth(k).and_then(|e| render(&e.line())) else {
                continue;
            };
            self.send_bytes(i, line.as_bytes());
        }
    }
}

/// At most the first 32 bytes of a client-supplied word, cut on a character boundary.
pub(super) struct Clip<'a>(pub(super) &'a str);

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
mod test {
    use crate::config::{Config, AUTH_BUDGET_BURST, AUTH_BUDGET_REFILL, AUTH_FAILURES_ALLOWED};
    use crate::server::{CloseReason, ConnId};
    use crate::slot::Phase;
    use crate::testing::Sim;
    use core::net::SocketAddr;
    use std::string::String;
    use std::vec::Vec;

    const THROTTLED: &str =
        "BYE throttled Too many wrong passwords from your address; wait and try again.";
    const BUDGET_SPENT: &str =
        "BYE throttled Too many wrong passwords reached this server lately; wait and try again.";

    fn with_password(max_per_address: Option<usize>) -> Config {
        let mut cfg = Config {
            flood: None,
            max_per_address,
            ..Config::default()
        };
        cfg.set_password(b"sesame").unwrap();
        cfg
    }

    fn from(ip: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((ip, port))
    }

    /// Send `line` on `id` and return what it got back.
    fn answer<const N: usize>(s: &mut Sim<N>, id: ConnId, line: &str) -> Vec<String> {
        s.send(id, std::format!("{line}\n").as_bytes());
        s.drain_all();
        s.take_lines(id)
    }

    #[test]
    fn the_throttle_holds_per_guess_on_connections_opened_before() {
        // Issue 10.2: twelve connections opened at once from one address, then one guess on
        // each: all twelve were checked (the throttle was looked at only on connect), so the
        // twelfth, right, guess got in.
        let mut s: Sim<16> = Sim::new(with_password(None));
        let ip = [10, 0, 0, 1];
        let conns: Vec<ConnId> = (0..12)
            .map(|k| s.accept(from(ip, 100 + k)).unwrap())
            .collect();
        s.drain_all();
        for &c in &conns {
            assert_eq!(s.take_lines(c).len(), 2, "HELLO and ASK PASSWORD");
        }
        let mut answers = Vec::new();
        for (k, &c) in conns.iter().enumerate() {
            let guess = if k == 11 { "sesame" } else { "open sesame" };
            answers.push(answer(&mut s, c, guess));
        }
        let allowed = usize::from(AUTH_FAILURES_ALLOWED);
        for a in &answers[..allowed] {
            assert_eq!(a, &["BYE password Wrong password."]);
        }
        for (k, a) in answers.iter().enumerate().skip(allowed) {
            assert_eq!(a, &[THROTTLED], "guess {k}");
        }
        assert_ne!(
            s.server.phase(conns[11]),
            Phase::AwaitName,
            "the right guess got in"
        );
        // Another address is not held back.
        let other = s.accept(from([10, 0, 0, 2], 1)).unwrap();
        s.drain_all();
        s.take_lines(other);
        assert_eq!(
            answer(&mut s, other, "sesame")[0],
            "ASK NAME Send your name (1-32 bytes, no spaces)."
        );
    }

    #[test]
    fn the_global_budget_holds_guesses_from_every_address() {
        // Issue 10.3: addresses taking turns each stayed under the per-address limit. Now
        // every wrong password spends the server's budget, and once it is spent no guess is
        // checked, not even a right one, until it earns one back.
        let mut s: Sim<32> = Sim::new(with_password(Some(8)));
        let mut wrong = 0;
        let mut held = 0;
        let total = u8::try_from(AUTH_BUDGET_BURST).unwrap() + 10;
        for n in 1..=total {
            let c = s.accept(from([10, 1, 0, n], 1)).unwrap();
            s.drain_all();
            s.take_lines(c);
            match answer(&mut s, c, "guess")[0].as_str() {
                "BYE password Wrong password." => wrong += 1,
                BUDGET_SPENT => held += 1,
                other => panic!("{other}"),
            }
            assert_eq!(s.server.poll_close(), Some(c));
            s.server.closed(s.now(), c, CloseReason::Closed);
        }
        assert_eq!((wrong, held), (AUTH_BUDGET_BURST, 10));
        let late = s.accept(from([10, 2, 0, 1], 1)).unwrap();
        s.drain_all();
        s.take_lines(late);
        assert_eq!(answer(&mut s, late, "sesame"), [BUDGET_SPENT]);
        s.advance(AUTH_BUDGET_REFILL);
        let later = s.accept(from([10, 2, 0, 2], 1)).unwrap();
        s.drain_all();
        s.take_lines(later);
        assert_eq!(
            answer(&mut s, later, "sesame")[0],
            "ASK NAME Send your name (1-32 bytes, no spaces)."
        );
    }
}
