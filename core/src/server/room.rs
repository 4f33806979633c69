//! The room and what people do in it, whatever protocol they speak: enter, speak, act, send a
//! private word, rename, part, leave.
//!
//! Each action is written once, here; the native rules (`rules.rs`) and the IRC rules
//! (`irc_register.rs`, `irc_rules.rs`) call it, and `delivery.rs` renders the [`RoomEvent`] it
//! causes once per dialect. A native client is in the room from joining to leaving; an IRC
//! client is joined (its nick taken) from registration to `QUIT`, and in the room unless it
//! parted.

use core::fmt::Write as _;

use log::info;

use super::irc_render::{self, IrcLines};
use super::Server;
use crate::config::{MAX_LINE, USERLEN};
use crate::dialect::Dialect;
use crate::history::{Entry, EntryKind};
use crate::names::{Name, NameError};
use crate::time::{Now, Timestamp};
use crate::wire::ServerLine;

/// The user part of a native client's IRC source, `nick!native@chatd`.
pub(super) const NATIVE_USER: &str = "native";
/// The host part of a native client's IRC source: chatd never shows peer addresses.
pub(super) const NATIVE_HOST: &str = "chatd";
/// The host part of an IRC client's source, `nick!~user@irc`.
pub(super) const IRC_HOST: &str = "irc";

/// Who did something, as IRC shows them (`nick!user@host`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Speaker<'a> {
    /// The name.
    pub(super) nick: &'a str,
    /// `~` and the `USER` name of an IRC client, [`NATIVE_USER`] for a native one.
    pub(super) user: &'a str,
    /// [`IRC_HOST`] or [`NATIVE_HOST`].
    pub(super) host: &'a str,
}

/// A [`Speaker`] copied out of its slot, so the server can change while it is used.
#[derive(Debug, Clone)]
pub(super) struct Who {
    nick: Name,
    user: heapless::String<{ USERLEN + 1 }>,
    host: &'static str,
}

impl Who {
    /// Borrow it as a [`Speaker`].
    pub(super) fn as_ref(&self) -> Speaker<'_> {
        Speaker {
            nick: self.nick.as_str(),
            user: &self.user,
            host: self.host,
        }
    }

    /// Return the name.
    pub(super) fn name(&self) -> &Name {
        &self.nick
    }
}

/// Something that happened in the room, for everyone in it.
#[derive(Debug, Clone, Copy)]
pub(super) enum RoomEvent<'a> {
    /// A public message (native `MSG`; IRC `PRIVMSG`, or `NOTICE` if sent as one).
    Say {
        time: Timestamp,
        who: Speaker<'a>,
        text: &'a str,
        notice: bool,
    },
    /// A public action (native `ME`; IRC CTCP `ACTION`).
    Act {
        time: Timestamp,
        who: Speaker<'a>,
        text: &'a str,
    },
    /// Someone entered (`JOIN`).
    Join { time: Timestamp, who: Speaker<'a> },
    /// Someone left the chat (native `LEAVE`; IRC `QUIT`).
    Leave {
        time: Timestamp,
        who: Speaker<'a>,
        reason: &'a str,
    },
    /// An IRC client left the room but stays connected (native `LEAVE` with `reason`, which
    /// is `part` or `part: TEXT`; IRC `PART` with the client's own `text`).
    Part {
        time: Timestamp,
        who: Speaker<'a>,
        reason: &'a str,
        text: Option<&'a str>,
    },
    /// Someone renamed (`NICK`); `who` has the old name.
    Nick {
        time: Timestamp,
        who: Speaker<'a>,
        new: &'a str,
    },
}

impl RoomEvent<'_> {
    /// Return the line native clients get for it.
    pub(super) fn native_line(&self) -> ServerLine<'_> {
        match *self {
            RoomEvent::Say {
                time, who, text, ..
            } => ServerLine::Msg {
                time,
                from: who.nick,
                text,
            },
            RoomEvent::Act { time, who, text } => ServerLine::Me {
                time,
                from: who.nick,
                text,
            },
            RoomEvent::Join { time, who } => ServerLine::Join {
                time,
                name: who.nick,
            },
            RoomEvent::Leave { time, who, reason }
            | RoomEvent::Part {
                time, who, reason, ..
            } => ServerLine::Leave {
                time,
                name: who.nick,
                reason,
            },
            RoomEvent::Nick { time, who, new } => ServerLine::Nick {
                time,
                old: who.nick,
                new,
            },
        }
    }
}

/// How a private message was sent, which IRC receivers see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PrivKind {
    /// `PRIVMSG` (and every native `/msg`).
    Msg,
    /// `NOTICE`.
    Notice,
    /// CTCP `ACTION` in a `PRIVMSG`.
    Action,
}

/// A private message in each receiver's form.
#[derive(Debug, Clone, Copy)]
pub(super) struct Private<'a> {
    /// How it was sent.
    pub(super) kind: PrivKind,
    /// The text for an IRC receiver (an action's without its CTCP wrapping).
    pub(super) irc: &'a str,
    /// The text for a native receiver: without IRC formatting, an action as `/me TEXT`.
    pub(super) native: &'a str,
}

/// Why a rename was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// Not a valid name.
    Invalid(NameError),
    /// Somebody else has it.
    Taken,
}

/// Nobody of that name is joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NoSuchName;

impl<const N: usize> Server<N> {
    /// Return who connection `i` is, as IRC shows it; `None` if it has no name yet.
    pub(super) fn speaker(&self, i: usize) -> Option<Who> {
        let s = &self.slots[i];
        let nick = s.name.clone()?;
        Some(match s.dialect {
            Dialect::Native => {
                let mut user = heapless::String::new();
                let _ = user.push_str(NATIVE_USER);
                Who {
                    nick,
                    user,
                    host: NATIVE_HOST,
                }
            }
            Dialect::Irc => Who {
                nick,
                user: s.irc.user.clone(),
                host: IRC_HOST,
            },
        })
    }

    /// Put a joined connection in the room: it gets the room's lines from now on and counts
    /// in its listings. The caller greets it, then tells the room with [`RoomEvent::Join`].
    pub(super) fn enter_room(&mut self, i: usize) {
        if self.slots[i].in_room {
            return;
        }
        self.joins += 1;
        let s = &mut self.slots[i];
        s.in_room = true;
        s.entered = self.joins;
        if s.dialect == Dialect::Irc {
            self.irc_in_room += 1;
        }
        self.subscribe(i);
    }

    /// Take a connection out of the room's count (it parted, or is closing).
    pub(super) fn leave_room(&mut self, i: usize) {
        let s = &mut self.slots[i];
        if !s.in_room {
            return;
        }
        s.in_room = false;
        if s.dialect == Dialect::Irc {
            self.irc_in_room = self.irc_in_room.saturating_sub(1);
        }
    }

    /// Say something to the room; it enters the history.
    pub(super) fn public(&mut self, now: Now, i: usize, kind: EntryKind, text: &str, notice: bool) {
        let time = now.wall;
        let Some(who) = self.speaker(i) else { return };
        let event = match kind {
            EntryKind::Msg => RoomEvent::Say {
                time,
                who: who.as_ref(),
                text,
                notice,
            },
            EntryKind::Me => RoomEvent::Act {
                time,
                who: who.as_ref(),
                text,
            },
        };
        self.broadcast(Some(i), &event);
        if let Some(e) = Entry::new(kind, time, who.name().clone(), text) {
            self.history.push(e);
        }
    }

    /// Send a private message from `i` to the joined client named `to`, in its dialect. A
    /// native sender gets its copy back (`PRIV` goes to both ends); an IRC sender does not,
    /// as IRC clients show what they sent themselves.
    pub(super) fn private(
        &mut self,
        now: Now,
        i: usize,
        to: &str,
        words: Private<'_>,
    ) -> Result<(), NoSuchName> {
        let j = self.find(to).ok_or(NoSuchName)?;
        let them = self.slots[j].name.clone().ok_or(NoSuchName)?;
        let who = self.speaker(i).ok_or(NoSuchName)?;
        let line = ServerLine::Priv {
            time: now.wall,
            from: who.name().as_str(),
            to: them.as_str(),
            text: words.native,
        };
        match self.slots[j].dialect {
            Dialect::Native => self.send(j, &line),
            Dialect::Irc => {
                let mut out = IrcLines::new();
                let ctx = self.irc_ctx(j);
                if irc_render::private(&mut out, &ctx, who.as_ref(), words).is_ok() {
                    self.send_bytes(j, out.as_bytes());
                }
            }
        }
        if j != i && self.slots[i].dialect == Dialect::Native {
            self.send(i, &line);
        }
        Ok(())
    }

    /// Rename connection `i` to `new`. Everyone in the room gets `NICK`, the renamer too; an
    /// IRC client out of the room alone gets it.
    pub(super) fn rename(&mut self, now: Now, i: usize, new: &str) -> Result<(), Refused> {
        let name = Name::new(new).map_err(Refused::Invalid)?;
        if self.find(name.as_str()).is_some_and(|j| j != i) {
            return Err(Refused::Taken);
        }
        let Some(who) = self.speaker(i) else {
            return Ok(());
        };
        if who.name().as_str() == name.as_str() {
            return Ok(());
        }
        info!(target: "chatd", "rename peer={} old={} new={name}", self.peer_str(i), who.name());
        self.slots[i].name = Some(name.clone());
        let event = RoomEvent::Nick {
            time: now.wall,
            who: who.as_ref(),
            new: name.as_str(),
        };
        if self.slots[i].in_room {
            self.broadcast(None, &event);
        } else {
            let mut out = IrcLines::new();
            if irc_render::room_event(&mut out, &self.config.irc, &event).is_ok() {
                self.send_bytes(i, out.as_bytes());
            }
        }
        Ok(())
    }

    /// Take IRC connection `i` out of the room, keeping its connection and its name: the room
    /// gets `LEAVE … part` (IRC: `PART`), the parter too, and then nothing more of the room.
    pub(super) fn part(&mut self, now: Now, i: usize, text: Option<&str>) {
        if !self.slots[i].in_room {
            return;
        }
        let Some(who) = self.speaker(i) else { return };
        info!(target: "chatd", "part peer={} name={}", self.peer_str(i), who.name());
        let mut reason: heapless::String<MAX_LINE> = heapless::String::new();
        let _ = match text.filter(|t| !t.is_empty()) {
            Some(t) => write!(reason, "part: {t}"),
            None => reason.write_str("part"),
        };
        self.broadcast(
            None,
            &RoomEvent::Part {
                time: now.wall,
                who: who.as_ref(),
                reason: &reason,
                text,
            },
        );
        self.leave_room(i);
        let head = self.ring_of(self.slots[i].dialect).head();
        self.slots[i].ring_limit = head;
    }
}
