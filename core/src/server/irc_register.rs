//! An IRC client's first lines: capability negotiation, `PASS`, `NICK`, `USER`, in any order,
//! then the welcome and the automatic join.
//!
//! Real clients differ (see `/work/shared/irc-traces` in the project's history and
//! docs/PROTOCOL.md): irssi sends `CAP LS 302` then `JOIN :` before registering and waits
//! until the server answers the `CAP LS` or sends `451`; WeeChat sends `NICK` and `USER`
//! before `CAP END`; ii and python3-irc send no `CAP` at all. So: `CAP LS` or `CAP REQ` opens
//! a negotiation that `CAP END` closes, registration completes once `NICK` and `USER` are in
//! and no negotiation is open, and anything else before that gets `451`. `PASS` is checked
//! when it arrives, through the same check as a native password line (`guess_password`, with
//! its per-address and server-wide throttle); with a password set, registering without a
//! right `PASS` is a wrong guess (`464`, `ERROR`), and a held guess gets `465`. A taken nick gets
//! `433` when given and again at registration if someone took it meanwhile; the client may
//! send another. The join timeout applies as to a native client.

use core::fmt::Write as _;

use log::info;

use super::irc_render::{self, word, IrcLines};
use super::room::RoomEvent;
use super::Server;
use crate::auth::Guess;
use crate::burst::Listing;
use crate::config::{CHANNELLEN, TOPICLEN, USERLEN};
use crate::irc::numeric::{self, Numeric};
use crate::irc::Message;
use crate::names::{Name, CASEMAPPING, NICKLEN, UTF8MAPPING};
use crate::slot::Phase;
use crate::time::Now;
use crate::wire::ByeCode;

/// The capabilities chatd offers: `server-time` (history carries its time as a tag) and
/// `multi-prefix` (harmless: nobody in the room has a prefix).
pub(super) const CAPS: &str = "multi-prefix server-time";

/// chatd's version, as `002` and `004` show it.
const VERSION: &str = concat!("chatd-", env!("CARGO_PKG_VERSION"));

impl<const N: usize> Server<N> {
    /// Handle a line from an IRC client that has not registered yet.
    pub(super) fn irc_registering(&mut self, now: Now, i: usize, m: &Message<'_>) {
        let p = m.params();
        let cmd = m.command();
        if cmd.is("CAP") {
            self.cap(now, i, m);
        } else if cmd.is("PASS") {
            match p.first() {
                None => self.need_more(i, "PASS"),
                Some(guess) if self.slots[i].phase == Phase::AwaitPassword => {
                    self.irc_guess(now, i, guess.as_bytes());
                }
                // No password, or already given: nothing to check.
                Some(_) => {}
            }
        } else if cmd.is("NICK") {
            let Some(nick) = p.first().filter(|n| !n.is_empty()) else {
                self.irc_numeric(i, numeric::ERR_NONICKNAMEGIVEN, &[], "No nickname given");
                return;
            };
            if let Some(name) = self.check_nick(i, nick) {
                self.slots[i].irc.nick = Some(name);
                self.try_register(now, i);
            }
        } else if cmd.is("USER") {
            if p.len() < 4 {
                self.need_more(i, "USER");
                return;
            }
            if self.slots[i].irc.user.is_empty() {
                self.slots[i].irc.user = user_name(p[0]);
                self.try_register(now, i);
            } else {
                self.irc_numeric(
                    i,
                    numeric::ERR_ALREADYREGISTERED,
                    &[],
                    "You may not reregister",
                );
            }
        } else if cmd.is("PING") {
            self.pong(i, p.first().copied());
        } else if cmd.is("PONG") {
            // Any line shows the client is there.
        } else if cmd.is("QUIT") {
            self.irc_close(i, "Quit");
        } else {
            self.irc_numeric(
                i,
                numeric::ERR_NOTREGISTERED,
                &[],
                "You have not registered",
            );
        }
    }

    /// Check a nick an IRC client asked for: `432` if it is not a valid name, `433` if it is
    /// taken by someone else; otherwise return it.
    pub(super) fn check_nick(&mut self, i: usize, nick: &str) -> Option<Name> {
        match Name::new(nick) {
            Err(e) => {
                let mut why: heapless::String<128> = heapless::String::new();
                let _ = write!(why, "Erroneous nickname: {e}");
                self.irc_numeric(i, numeric::ERR_ERRONEUSNICKNAME, &[word(nick)], &why);
                None
            }
            Ok(name) if self.find(name.as_str()).is_some_and(|j| j != i) => {
                let text = "Nickname is already in use";
                self.irc_numeric(i, numeric::ERR_NICKNAMEINUSE, &[name.as_str()], text);
                None
            }
            Ok(name) => Some(name),
        }
    }

    /// Complete registration if everything is in: check the password, the nick once more,
    /// then welcome the client and join it to the room.
    fn try_register(&mut self, now: Now, i: usize) {
        let s = &self.slots[i];
        if s.irc.cap_open || s.irc.nick.is_none() || s.irc.user.is_empty() {
            return;
        }
        if s.phase == Phase::AwaitPassword && !self.irc_guess(now, i, b"") {
            // No right PASS came: a wrong guess, counted as one.
            return;
        }
        let Some(name) = self.slots[i].irc.nick.take() else {
            return;
        };
        let Some(name) = self.check_nick(i, name.as_str()) else {
            return;
        };
        info!(target: "chatd", "join peer={} name={name} protocol=irc", self.peer_str(i));
        self.set_phase(i, Phase::Joined);
        self.slots[i].name = Some(name);
        self.welcome(i);
        self.irc_join(now, i);
    }

    /// Check a password an IRC client sent (an empty one if it registered without): return
    /// whether it was right; if not, say goodbye (`464` or `465`, then `ERROR`).
    fn irc_guess(&mut self, now: Now, i: usize, guess: &[u8]) -> bool {
        match self.guess_password(now, i, guess) {
            Guess::Right => true,
            Guess::Wrong => {
                self.bye(i, ByeCode::Password, "Wrong password.");
                false
            }
            Guess::Held(hold) => {
                self.bye(i, ByeCode::Throttled, hold.text());
                false
            }
        }
    }

    /// Send `001` to `005` and `422`: what every client waits for before anything else.
    fn welcome(&mut self, i: usize) {
        let cfg = &self.config.irc;
        let nick = self.slots[i].name.as_ref().map_or("*", |n| n.as_str());
        let mut out = IrcLines::new();
        let ctx = self.irc_ctx(i);
        let mut text: heapless::String<160> = heapless::String::new();
        let _ = write!(text, "Welcome to the {} chat, {nick}", cfg.network());
        let _ = irc_render::numeric(&mut out, &ctx, numeric::RPL_WELCOME, &[], Some(&text));
        text.clear();
        let _ = write!(
            text,
            "Your host is {}, running version {VERSION}",
            cfg.server_name()
        );
        let _ = irc_render::numeric(&mut out, &ctx, numeric::RPL_YOURHOST, &[], Some(&text));
        let created = "This server speaks chatd/1 and IRC in one room";
        let _ = irc_render::numeric(&mut out, &ctx, numeric::RPL_CREATED, &[], Some(created));
        let info = [cfg.server_name(), VERSION, "i", "bnt"];
        let _ = irc_render::numeric(&mut out, &ctx, numeric::RPL_MYINFO, &info, None);
        let mut tokens: heapless::String<400> = heapless::String::new();
        let _ = write!(
            tokens,
            "CASEMAPPING={CASEMAPPING} UTF8MAPPING={UTF8MAPPING} UTF8ONLY CHANTYPES=# \
             CHANLIMIT=#:1 CHANNELLEN={CHANNELLEN} CHANMODES=b,,,nt NICKLEN={NICKLEN} \
             USERLEN={USERLEN} TOPICLEN={TOPICLEN} MAXTARGETS=1 MODES=1 NETWORK={}",
            cfg.network()
        );
        let params: heapless::Vec<&str, 16> = tokens.split(' ').collect();
        let supported = "are supported by this server";
        let _ = irc_render::numeric(
            &mut out,
            &ctx,
            numeric::RPL_ISUPPORT,
            &params,
            Some(supported),
        );
        let _ = irc_render::numeric(
            &mut out,
            &ctx,
            numeric::ERR_NOMOTD,
            &[],
            Some("MOTD File is missing"),
        );
        self.send_bytes(i, out.as_bytes());
    }

    /// Join IRC client `i` to the room: the `JOIN` echo, the topic, then NAMES and the
    /// history as listings; everybody else in the room gets `JOIN`.
    pub(super) fn irc_join(&mut self, now: Now, i: usize) {
        self.enter_room(i);
        let Some(who) = self.speaker(i) else { return };
        let event = RoomEvent::Join {
            time: now.wall,
            who: who.as_ref(),
        };
        let mut out = IrcLines::new();
        let _ = irc_render::room_event(&mut out, &self.config.irc, &event);
        self.send_bytes(i, out.as_bytes());
        self.topic(i);
        self.request(i, Listing::Names);
        self.request(i, Listing::History);
        self.broadcast(Some(i), &event);
    }

    /// Send the topic: `332`, or `331` if there is none.
    pub(super) fn topic(&mut self, i: usize) {
        let cfg = &self.config.irc;
        let mut out = IrcLines::new();
        let ctx = self.irc_ctx(i);
        let chan = [cfg.channel()];
        let _ = if cfg.topic().is_empty() {
            irc_render::numeric(
                &mut out,
                &ctx,
                numeric::RPL_NOTOPIC,
                &chan,
                Some("No topic is set"),
            )
        } else {
            irc_render::numeric(&mut out, &ctx, numeric::RPL_TOPIC, &chan, Some(cfg.topic()))
        };
        self.send_bytes(i, out.as_bytes());
    }

    /// Answer `CAP`: `LS`, `LIST`, `REQ` (all or nothing) and `END`.
    pub(super) fn cap(&mut self, now: Now, i: usize, m: &Message<'_>) {
        let p = m.params();
        let registering = self.slots[i].phase != Phase::Joined;
        let Some(sub) = p.first() else {
            self.need_more(i, "CAP");
            return;
        };
        if sub.eq_ignore_ascii_case("LS") {
            if registering {
                self.slots[i].irc.cap_open = true;
            }
            self.cap_reply(i, "LS", CAPS);
        } else if sub.eq_ignore_ascii_case("LIST") {
            let on = if self.slots[i].irc.server_time {
                "server-time"
            } else {
                ""
            };
            self.cap_reply(i, "LIST", on);
        } else if sub.eq_ignore_ascii_case("REQ") {
            if registering {
                self.slots[i].irc.cap_open = true;
            }
            let wanted = p.get(1).copied().unwrap_or_default();
            let known =
                |c: &str| matches!(c.trim_start_matches('-'), "multi-prefix" | "server-time");
            if wanted.split(' ').filter(|c| !c.is_empty()).all(known) {
                for c in wanted.split(' ') {
                    match c {
                        "server-time" => self.slots[i].irc.server_time = true,
                        "-server-time" => self.slots[i].irc.server_time = false,
                        _ => {}
                    }
                }
                self.cap_reply(i, "ACK", wanted);
            } else {
                self.cap_reply(i, "NAK", wanted);
            }
        } else if sub.eq_ignore_ascii_case("END") {
            if registering {
                self.slots[i].irc.cap_open = false;
                self.try_register(now, i);
            }
        } else {
            let text = "Invalid CAP command";
            self.irc_numeric(i, numeric::ERR_INVALIDCAPCMD, &[word(sub)], text);
        }
    }

    fn cap_reply(&mut self, i: usize, sub: &str, caps: &str) {
        let ctx = self.irc_ctx(i);
        let mut out = IrcLines::new();
        let m = Message::new("CAP")
            .with_source(crate::irc::Source::server(ctx.server))
            .with_param(ctx.nick)
            .with_param(sub)
            .with_trailing(irc_render::clip(caps, 400));
        if m.emit(&mut out).is_ok() {
            self.send_bytes(i, out.as_bytes());
        }
    }

    /// Send one numeric reply to IRC client `i`: `:server NUM nick params… :text`.
    pub(super) fn irc_numeric(&mut self, i: usize, num: Numeric, params: &[&str], text: &str) {
        let mut out = IrcLines::new();
        if irc_render::numeric(&mut out, &self.irc_ctx(i), num, params, Some(text)).is_ok() {
            self.send_bytes(i, out.as_bytes());
        }
    }

    /// Send `461`: the command needs more parameters.
    pub(super) fn need_more(&mut self, i: usize, command: &str) {
        self.irc_numeric(
            i,
            numeric::ERR_NEEDMOREPARAMS,
            &[command],
            "Not enough parameters",
        );
    }

    /// Answer `PING token` with `PONG server :token` (`409` without a token).
    pub(super) fn pong(&mut self, i: usize, token: Option<&str>) {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            self.irc_numeric(i, numeric::ERR_NOORIGIN, &[], "No origin specified");
            return;
        };
        let server = self.config.irc.server_name();
        let mut out = IrcLines::new();
        let m = Message::new("PONG")
            .with_source(crate::irc::Source::server(server))
            .with_param(server)
            .with_trailing(irc_render::clip(token, 400));
        if m.emit(&mut out).is_ok() {
            self.send_bytes(i, out.as_bytes());
        }
    }

    /// Send `ERROR :Closing link: why` and close the connection.
    pub(super) fn irc_close(&mut self, i: usize, why: &str) {
        let mut out = IrcLines::new();
        if irc_render::error_line(&mut out, why).is_ok() {
            self.send_bytes(i, out.as_bytes());
        }
        self.mark_closing(i);
    }
}

/// Return the user name shown for `USER`'s first parameter: its letters, digits, `-`, `.`
/// and `_`, at most [`USERLEN`] of them, after a `~` (the server did not check it).
fn user_name(given: &str) -> heapless::String<{ USERLEN + 1 }> {
    let mut user = heapless::String::new();
    let _ = user.push('~');
    for c in given
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(USERLEN)
    {
        let _ = user.push(c);
    }
    if user.len() == 1 {
        let _ = user.push_str("user");
    }
    user
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn user_names_are_tamed() {
        assert_eq!(user_name("root").as_str(), "~root");
        assert_eq!(user_name("a@b!c d").as_str(), "~abcd");
        assert_eq!(user_name("ééé").as_str(), "~user");
        assert_eq!(user_name("abcdefghijklmnop").as_str(), "~abcdefghij");
    }
}
