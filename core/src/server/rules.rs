//! The protocol's rules for one line from one client: password, name, commands, rate limit.

use core::fmt::{self, Write as _};

use log::{info, warn};

use super::{render, Server};
use crate::auth::password_matches;
use crate::commands::{Command, HELP};
use crate::config::{MAX_LINE, MAX_SERVER_LINE};
use crate::flood::{FloodLimit, Verdict};
use crate::history::{Entry, EntryKind};
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

    pub(super) fn check_password(&mut self, now: Now, i: usize, guess: &[u8]) {
        let ok = self
            .config
            .password
            .as_ref()
            .is_none_or(|p| password_matches(p, guess));
        let Some(peer) = self.slots[i].peer else {
            return;
        };
        if ok {
            self.throttle.succeed(peer.ip());
            self.slots[i].phase = Phase::AwaitName;
            self.ask(i, Phase::AwaitName);
        } else {
            let n = self.throttle.fail(now.instant, peer.ip());
            warn!(target: "chatd", "auth-failure peer={peer} failures={n}");
            self.bye(i, ByeCode::Password, "Wrong password.");
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
        self.subscribe(i);
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
        self.broadcast(
            Some(i),
            &ServerLine::Join {
                time,
                name: name.as_str(),
            },
        );
    }

    pub(super) fn command(&mut self, now: Now, i: usize, text: &str) {
        let Some(me) = self.slots[i].name.clone() else {
            return;
        };
        let time = now.wall;
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
                    let Some(them) = self.slots[j].name.clone() else {
                        return;
                    };
                    let line = ServerLine::Priv {
                        time,
                        from: me.as_str(),
                        to: them.as_str(),
                        text,
                    };
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

    pub(super) fn public(&mut self, now: Now, i: usize, kind: EntryKind, me: &Name, text: &str) {
        let time = now.wall;
        let line = match kind {
            EntryKind::Msg => ServerLine::Msg {
                time,
                from: me.as_str(),
                text,
            },
            EntryKind::Me => ServerLine::Me {
                time,
                from: me.as_str(),
                text,
            },
        };
        self.broadcast(Some(i), &line);
        if let Some(e) = Entry::new(kind, time, me.clone(), text) {
            self.history.push(e);
        }
    }

    pub(super) fn rename(&mut self, now: Now, i: usize, old: &Name, new: &str) {
        let name = match Name::new(new) {
            Ok(n) => n,
            Err(e) => return self.error(i, ErrCode::NameInvalid, &Sentence(e).to_line()),
        };
        if self.find(name.as_str()).is_some_and(|j| j != i) {
            return self.error(i, ErrCode::NameTaken, &Taken(name.as_str()).to_line());
        }
        info!(target: "chatd", "rename peer={} old={old} new={name}", self.peer_str(i));
        self.slots[i].name = Some(name.clone());
        let line = ServerLine::Nick {
            time: now.wall,
            old: old.as_str(),
            new: name.as_str(),
        };
        self.broadcast(None, &line);
    }

    pub(super) fn who(&mut self, now: Now, i: usize) {
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
