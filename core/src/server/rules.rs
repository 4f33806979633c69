//! The protocol's rules for one line from one client: password, name, commands, rate limit.
//! Lines from IRC clients go to `irc_register` and `irc_rules` instead; the password check and
//! the rate limit are shared.

use core::fmt::{self, Write as _};

use log::{info, warn};

use super::room::{PrivKind, Private, Refused, RoomEvent};
use super::{render, Server};
use crate::auth::password_matches;
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

    /// Check a password guess from connection `i` and count it in the per-address throttle.
    ///
    /// Every guess goes through here, a native client's `ASK PASSWORD` line and an IRC
    /// client's `PASS` alike (a missing `PASS` is an empty guess), so the per-address rules
    /// hold whichever protocol an address guesses in. `Err` says how to say goodbye.
    pub(super) fn verify_password(
        &mut self,
        now: Now,
        i: usize,
        guess: &[u8],
    ) -> Result<(), ByeCode> {
        let ok = self
            .config
            .password
            .as_ref()
            .is_none_or(|p| password_matches(p, guess));
        let Some(peer) = self.slots[i].peer else {
            return Err(ByeCode::Password);
        };
        if ok {
            self.throttle.succeed(peer.ip());
            Ok(())
        } else {
            let n = self.throttle.fail(now.instant, peer.ip());
            warn!(target: "chatd", "auth-failure peer={peer} failures={n}");
            Err(ByeCode::Password)
        }
    }

    pub(super) fn check_password(&mut self, now: Now, i: usize, guess: &[u8]) {
        match self.verify_password(now, i, guess) {
            Ok(()) => {
                self.slots[i].phase = Phase::AwaitName;
                self.ask(i, Phase::AwaitName);
            }
            Err(code) => self.bye(i, code, bye_text(code)),
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
        self.slots[i].phase = Phase::Joined;
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

/// Return what a goodbye for `code` says to people.
pub(super) fn bye_text(code: ByeCode) -> &'static str {
    match code {
        ByeCode::Quit => "Goodbye.",
        ByeCode::Password => "Wrong password.",
        ByeCode::Throttled => "Too many wrong passwords from your address; wait and try again.",
        ByeCode::Full => "The server is full; try again later.",
        ByeCode::Timeout => "No name was given in time.",
        ByeCode::Flood => "Disconnected for sending too fast.",
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
