//! What a registered IRC client's commands do, in terms of the room's actions (`room.rs`):
//! `PRIVMSG`/`NOTICE` to the channel or a nick, `JOIN`, `PART`, `NICK`, `QUIT`, and the
//! queries `NAMES`, `WHO`, `WHOIS`, `LIST`, `TOPIC`, `MODE`, `USERHOST`, `ISON`, `AWAY`,
//! `PING`. Text from IRC loses its formatting codes before it reaches the room (native lines
//! allow no control characters); CTCP `ACTION` is `/me`. Other CTCP requests pass between IRC
//! clients only, in private. `NOTICE` never gets an error back, as RFC 2812 says.

use core::fmt::Write as _;

use super::irc_render::{self, word, IrcLines};
use super::room::{PrivKind, Private, Refused, IRC_HOST, NATIVE_HOST, NATIVE_USER};
use super::Server;
use crate::config::MAX_LINE;
use crate::dialect::Dialect;
use crate::history::EntryKind;
use crate::irc::numeric;
use crate::irc::{strip_formatting, Ctcp, Message, ParseError};
use crate::slot::Phase;
use crate::time::Now;

/// Longest command word looked at; longer ones are unknown.
const COMMAND_LEN: usize = 12;

/// A text without IRC formatting.
type Plain = heapless::String<MAX_LINE>;

fn plain(text: &str) -> Plain {
    let mut p = Plain::new();
    // The stripped text is never longer than the text, which fits.
    let _ = strip_formatting(text, &mut p);
    p
}

impl<const N: usize> Server<N> {
    /// Handle one line from an IRC client.
    pub(super) fn irc_line(&mut self, now: Now, i: usize, line: &[u8]) {
        let m = match Message::parse(line) {
            Ok(m) => m,
            Err(ParseError::Empty) => return,
            Err(e) => {
                let mut text: heapless::String<96> = heapless::String::new();
                let _ = write!(text, "Your line was dropped: {e}.");
                self.irc_notice(i, &text);
                return;
            }
        };
        match self.slots[i].phase {
            Phase::AwaitPassword | Phase::AwaitName => self.irc_registering(now, i, &m),
            Phase::Joined => self.irc_command(now, i, &m),
            Phase::Closing | Phase::Free => {}
        }
    }

    fn irc_command(&mut self, now: Now, i: usize, m: &Message<'_>) {
        let mut upper: heapless::String<COMMAND_LEN> = heapless::String::new();
        if let crate::irc::Command::Word(w) = m.command() {
            for c in w.chars() {
                if upper.push(c.to_ascii_uppercase()).is_err() {
                    upper.clear();
                    break;
                }
            }
        }
        let p = m.params();
        match upper.as_str() {
            "PRIVMSG" => self.irc_message(now, i, p, false),
            "NOTICE" => self.irc_message(now, i, p, true),
            "JOIN" => self.irc_join_command(now, i, p),
            "PART" => self.irc_part(now, i, p),
            "NICK" => self.irc_nick(now, i, p),
            "QUIT" => self.irc_quit(now, i, p.first().copied()),
            "PING" => self.pong(i, p.first().copied()),
            "PONG" => {}
            "CAP" => self.cap(now, i, m),
            "NAMES" => self.irc_names(i, p),
            "WHO" => self.irc_who(i, p),
            "WHOIS" => self.irc_whois(i, p),
            "LIST" => self.irc_list(i, p),
            "TOPIC" => self.irc_topic(i, p),
            "MODE" => self.irc_mode(i, p),
            "USERHOST" => self.irc_userhost(i, p),
            "ISON" => self.irc_ison(i, p),
            "AWAY" => {
                let (num, text) = if p.first().is_some_and(|t| !t.is_empty()) {
                    (numeric::RPL_NOWAWAY, "You have been marked as being away")
                } else {
                    (
                        numeric::RPL_UNAWAY,
                        "You are no longer marked as being away",
                    )
                };
                self.irc_numeric(i, num, &[], text);
            }
            "MOTD" => self.irc_numeric(i, numeric::ERR_NOMOTD, &[], "MOTD File is missing"),
            "PASS" | "USER" => {
                self.irc_numeric(
                    i,
                    numeric::ERR_ALREADYREGISTERED,
                    &[],
                    "You may not reregister",
                );
            }
            _ => {
                let cmd = match m.command() {
                    crate::irc::Command::Word(w) => word(w),
                    crate::irc::Command::Numeric(_) => "*",
                };
                self.irc_numeric(i, numeric::ERR_UNKNOWNCOMMAND, &[cmd], "Unknown command");
            }
        }
    }

    /// Send a server `NOTICE` to IRC client `i`.
    pub(super) fn irc_notice(&mut self, i: usize, text: &str) {
        let mut out = IrcLines::new();
        if irc_render::notice(&mut out, &self.irc_ctx(i), text).is_ok() {
            self.send_bytes(i, out.as_bytes());
        }
    }

    /// `PRIVMSG`/`NOTICE target :text`: to the channel (the room) or to one nick.
    fn irc_message(&mut self, now: Now, i: usize, p: &[&str], notice: bool) {
        let command = if notice { "NOTICE" } else { "PRIVMSG" };
        let (target, text) = match p {
            [] => {
                if !notice {
                    let mut t: heapless::String<48> = heapless::String::new();
                    let _ = write!(t, "No recipient given ({command})");
                    self.irc_numeric(i, numeric::ERR_NORECIPIENT, &[], &t);
                }
                return;
            }
            [_] => {
                if !notice {
                    self.irc_numeric(i, numeric::ERR_NOTEXTTOSEND, &[], "No text to send");
                }
                return;
            }
            [target, text, ..] => (*target, *text),
        };
        if target.contains(',') {
            // `a,b`: one target a message (005 says MAXTARGETS=1), and no name has a comma.
            if !notice {
                self.irc_numeric(
                    i,
                    numeric::ERR_TOOMANYTARGETS,
                    &[word(target)],
                    "Too many recipients",
                );
            }
            return;
        }
        if self.config.irc.is_channel(target) {
            self.irc_public(now, i, text, notice);
        } else if target.starts_with(['#', '&']) {
            if !notice {
                self.no_such_channel(i, target);
            }
        } else {
            self.irc_private(now, i, target, text, notice);
        }
    }

    fn irc_public(&mut self, now: Now, i: usize, text: &str, notice: bool) {
        if !self.slots[i].in_room {
            if !notice {
                let chan = self.config.irc.channel();
                let mut c: heapless::String<{ crate::config::CHANNELLEN }> =
                    heapless::String::new();
                let _ = c.push_str(chan);
                self.irc_numeric(
                    i,
                    numeric::ERR_CANNOTSENDTOCHAN,
                    &[&c],
                    "Cannot send to channel (you left it; JOIN to come back)",
                );
            }
            return;
        }
        let (kind, words) = match Ctcp::parse(text) {
            Some(Ctcp::Action(a)) => (EntryKind::Me, plain(a)),
            Some(Ctcp::Request { command, .. }) => {
                if !notice {
                    let mut t: heapless::String<128> = heapless::String::new();
                    let _ = write!(t, "CTCP {} is not sent to the channel: part of the room speaks chatd's own protocol.", word(command));
                    self.irc_notice(i, &t);
                }
                return;
            }
            None => (EntryKind::Msg, plain(text)),
        };
        if words.trim().is_empty() {
            if !notice {
                self.irc_numeric(i, numeric::ERR_NOTEXTTOSEND, &[], "No text to send");
            }
            return;
        }
        self.public(now, i, kind, &words, notice);
    }

    fn irc_private(&mut self, now: Now, i: usize, target: &str, text: &str, notice: bool) {
        let Some(j) = self.find(target) else {
            if !notice {
                self.irc_numeric(
                    i,
                    numeric::ERR_NOSUCHNICK,
                    &[word(target)],
                    "No such nick/channel",
                );
            }
            return;
        };
        let base = if notice {
            PrivKind::Notice
        } else {
            PrivKind::Msg
        };
        let ctcp = Ctcp::parse(text);
        let (kind, irc) = match ctcp {
            Some(Ctcp::Action(a)) if !notice => (PrivKind::Action, a),
            _ => (base, text),
        };
        // What a native receiver reads: no formatting; an action as `/me TEXT`.
        let mut native = Plain::new();
        match ctcp {
            Some(Ctcp::Action(a)) => {
                let _ = native.push_str("/me ");
                let _ = strip_formatting(a, &mut native);
            }
            Some(Ctcp::Request { command, .. }) if self.slots[j].dialect == Dialect::Native => {
                // A native client cannot answer; a reply (a NOTICE) is simply dropped.
                if !notice {
                    let mut t: heapless::String<160> = heapless::String::new();
                    let name = self.slots[j].name.as_ref().map_or("*", |n| n.as_str());
                    let _ = write!(
                        t,
                        "{name} uses chatd's own protocol and cannot answer CTCP {}.",
                        word(command)
                    );
                    self.irc_notice(i, &t);
                }
                return;
            }
            _ => native = plain(text),
        }
        if native.trim().is_empty() && self.slots[j].dialect == Dialect::Native {
            if !notice {
                self.irc_numeric(i, numeric::ERR_NOTEXTTOSEND, &[], "No text to send");
            }
            return;
        }
        let words = Private {
            kind,
            irc,
            native: &native,
        };
        let _ = self.private(now, i, target, words);
    }

    /// `JOIN #chat` (again after `PART`), `JOIN 0` (leave), any other channel: `403`.
    fn irc_join_command(&mut self, now: Now, i: usize, p: &[&str]) {
        let Some(list) = p.first().filter(|l| !l.is_empty()) else {
            self.need_more(i, "JOIN");
            return;
        };
        if *list == "0" {
            self.part(now, i, None);
            return;
        }
        for chan in list.split(',').filter(|c| !c.is_empty()) {
            if !self.config.irc.is_channel(chan) {
                self.no_such_channel(i, chan);
            } else if !self.slots[i].in_room {
                self.irc_join(now, i);
            }
        }
    }

    fn irc_part(&mut self, now: Now, i: usize, p: &[&str]) {
        let Some(list) = p.first().filter(|l| !l.is_empty()) else {
            self.need_more(i, "PART");
            return;
        };
        let reason = p.get(1).copied();
        for chan in list.split(',').filter(|c| !c.is_empty()) {
            if !self.config.irc.is_channel(chan) {
                self.no_such_channel(i, chan);
            } else if self.slots[i].in_room {
                let text = reason.map(plain);
                self.part(now, i, text.as_deref());
            } else {
                self.not_on_channel(i);
            }
        }
    }

    fn irc_nick(&mut self, now: Now, i: usize, p: &[&str]) {
        let Some(nick) = p.first().filter(|n| !n.is_empty()) else {
            self.irc_numeric(i, numeric::ERR_NONICKNAMEGIVEN, &[], "No nickname given");
            return;
        };
        match self.rename(now, i, nick) {
            Ok(()) => {}
            Err(Refused::Invalid(_)) => {
                // Same wording as at registration.
                let _ = self.check_nick(i, nick);
            }
            Err(Refused::Taken) => {
                let text = "Nickname is already in use";
                self.irc_numeric(i, numeric::ERR_NICKNAMEINUSE, &[word(nick)], text);
            }
        }
    }

    fn irc_quit(&mut self, now: Now, i: usize, reason: Option<&str>) {
        let text = reason.map(plain);
        let mut why: heapless::String<MAX_LINE> = heapless::String::new();
        let _ = match text.as_deref().filter(|t| !t.is_empty()) {
            Some(r) => write!(why, "quit: {r}"),
            None => why.write_str("quit"),
        };
        self.depart(now, i, &why);
        let mut close: heapless::String<MAX_LINE> = heapless::String::new();
        let _ = match text.as_deref().filter(|t| !t.is_empty()) {
            Some(r) => write!(close, "Quit: {r}"),
            None => close.write_str("Quit"),
        };
        self.irc_close(i, &close);
    }

    pub(super) fn no_such_channel(&mut self, i: usize, chan: &str) {
        let mut t: heapless::String<96> = heapless::String::new();
        let _ = write!(
            t,
            "No such channel; this server has only {}",
            self.config.irc.channel()
        );
        self.irc_numeric(i, numeric::ERR_NOSUCHCHANNEL, &[word(chan)], &t);
    }

    fn not_on_channel(&mut self, i: usize) {
        let mut c: heapless::String<{ crate::config::CHANNELLEN }> = heapless::String::new();
        let _ = c.push_str(self.config.irc.channel());
        self.irc_numeric(
            i,
            numeric::ERR_NOTONCHANNEL,
            &[&c],
            "You're not on that channel",
        );
    }

    pub(super) fn not_operator(&mut self, i: usize, text: &str) {
        let mut c: heapless::String<{ crate::config::CHANNELLEN }> = heapless::String::new();
        let _ = c.push_str(self.config.irc.channel());
        self.irc_numeric(i, numeric::ERR_CHANOPRIVSNEEDED, &[&c], text);
    }
}

/// Return the user and host IRC shows for a connection.
pub(super) fn user_host(s: &crate::slot::Slot) -> (&str, &str) {
    match s.dialect {
        Dialect::Native => (NATIVE_USER, NATIVE_HOST),
        Dialect::Irc => (s.irc.user.as_str(), IRC_HOST),
    }
}
