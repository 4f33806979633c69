//! The queries of a registered IRC client, answered from the room's state: `NAMES`, `WHO`,
//! `WHOIS`, `LIST`, `TOPIC`, `MODE`, `USERHOST`, `ISON`. Long answers (NAMES and WHO of the
//! room) are listings, generated as they are written ([`crate::burst`]).

use core::fmt::Write as _;

use super::irc_render::{self, word, IrcLines};
use super::irc_rules::user_host;
use super::Server;
use crate::burst::Listing;
use crate::dialect::Dialect;
use crate::irc::numeric;
use crate::irc::{Message, Source};

impl<const N: usize> Server<N> {
    pub(super) fn irc_names(&mut self, i: usize, p: &[&str]) {
        match p.first().filter(|c| !c.is_empty()) {
            Some(chan) if !self.config.irc.is_channel(chan) => {
                let c = word(chan);
                self.irc_numeric(i, numeric::RPL_ENDOFNAMES, &[c], "End of /NAMES list.");
            }
            _ => self.request(i, Listing::Names),
        }
    }

    /// `WHO #chat` (or no mask, or `*`): the room, as a listing; `WHO nick`: one line.
    pub(super) fn irc_who(&mut self, i: usize, p: &[&str]) {
        let mask = p.first().copied().unwrap_or("*");
        if mask == "*" || mask == "0" || self.config.irc.is_channel(mask) {
            self.request(i, Listing::Who);
            return;
        }
        let mut out = IrcLines::new();
        if let Some(j) = self.find(mask) {
            let ctx = self.irc_ctx(i);
            let s = &self.slots[j];
            let nick = s.name.as_ref().map_or("*", |n| n.as_str());
            let (user, host) = user_host(s);
            let chan = if s.in_room { ctx.channel } else { "*" };
            let mut real: heapless::String<48> = heapless::String::new();
            let _ = write!(real, "0 {nick}");
            let params = [chan, user, host, ctx.server, nick, "H"];
            let _ =
                irc_render::numeric(&mut out, &ctx, numeric::RPL_WHOREPLY, &params, Some(&real));
        }
        let ctx = self.irc_ctx(i);
        let _ = irc_render::numeric(
            &mut out,
            &ctx,
            numeric::RPL_ENDOFWHO,
            &[word(mask)],
            Some("End of /WHO list."),
        );
        self.send_bytes(i, out.as_bytes());
    }

    /// `WHOIS [server] nick`: `311`, `312`, `319` if in the room, `318`; `401` for nobody.
    pub(super) fn irc_whois(&mut self, i: usize, p: &[&str]) {
        let Some(target) = p.last().filter(|t| !t.is_empty()) else {
            self.irc_numeric(i, numeric::ERR_NONICKNAMEGIVEN, &[], "No nickname given");
            return;
        };
        let target = target.split(',').next().unwrap_or_default();
        let mut out = IrcLines::new();
        let ctx = self.irc_ctx(i);
        let shown = match self.find(target) {
            Some(j) => {
                let s = &self.slots[j];
                let nick = s.name.as_ref().map_or("*", |n| n.as_str());
                let (user, host) = user_host(s);
                let _ = irc_render::numeric(
                    &mut out,
                    &ctx,
                    numeric::RPL_WHOISUSER,
                    &[nick, user, host, "*"],
                    Some(nick),
                );
                let via = match s.dialect {
                    Dialect::Native => "chatd (its own protocol)",
                    Dialect::Irc => "chatd (IRC)",
                };
                let _ = irc_render::numeric(
                    &mut out,
                    &ctx,
                    numeric::RPL_WHOISSERVER,
                    &[nick, ctx.server],
                    Some(via),
                );
                if s.in_room {
                    let _ = irc_render::numeric(
                        &mut out,
                        &ctx,
                        numeric::RPL_WHOISCHANNELS,
                        &[nick],
                        Some(ctx.channel),
                    );
                }
                nick
            }
            None => {
                let _ = irc_render::numeric(
                    &mut out,
                    &ctx,
                    numeric::ERR_NOSUCHNICK,
                    &[word(target)],
                    Some("No such nick/channel"),
                );
                word(target)
            }
        };
        let _ = irc_render::numeric(
            &mut out,
            &ctx,
            numeric::RPL_ENDOFWHOIS,
            &[shown],
            Some("End of /WHOIS list."),
        );
        self.send_bytes(i, out.as_bytes());
    }

    /// `LIST`: `321`, one `322` for the channel (unless asked for others only), `323`.
    pub(super) fn irc_list(&mut self, i: usize, p: &[&str]) {
        let wanted = p
            .first()
            .is_none_or(|l| l.split(',').any(|c| self.config.irc.is_channel(c)));
        let count = self.slots.iter().filter(|s| s.in_room).count();
        let mut n: heapless::String<8> = heapless::String::new();
        let _ = write!(n, "{count}");
        let mut out = IrcLines::new();
        let ctx = self.irc_ctx(i);
        let _ = irc_render::numeric(
            &mut out,
            &ctx,
            numeric::RPL_LISTSTART,
            &["Channel"],
            Some("Users  Name"),
        );
        if wanted {
            let topic = self.config.irc.topic();
            let _ = irc_render::numeric(
                &mut out,
                &ctx,
                numeric::RPL_LIST,
                &[ctx.channel, &n],
                Some(topic),
            );
        }
        let _ = irc_render::numeric(
            &mut out,
            &ctx,
            numeric::RPL_LISTEND,
            &[],
            Some("End of /LIST"),
        );
        self.send_bytes(i, out.as_bytes());
    }

    /// `TOPIC #chat`: the topic; setting it: `482` (it comes from chatd's configuration).
    pub(super) fn irc_topic(&mut self, i: usize, p: &[&str]) {
        let Some(chan) = p.first() else {
            self.need_more(i, "TOPIC");
            return;
        };
        if !self.config.irc.is_channel(chan) {
            self.no_such_channel(i, chan);
        } else if p.len() > 1 {
            self.not_operator(i, "The topic is set in chatd's configuration");
        } else {
            self.topic(i);
        }
    }

    /// `MODE #chat` (`324 +nt`), `MODE #chat b` (an empty ban list), other channel changes,
    /// a ban with its mask among them (`482`); `MODE me [+i|-i]` (`221`, or the change echoed), anybody else's (`502`).
    pub(super) fn irc_mode(&mut self, i: usize, p: &[&str]) {
        let Some(target) = p.first() else {
            self.need_more(i, "MODE");
            return;
        };
        let chan = self.config.irc.channel();
        if self.config.irc.is_channel(target) {
            let mut c: heapless::String<{ crate::config::CHANNELLEN }> = heapless::String::new();
            let _ = c.push_str(chan);
            match p.get(1).map(|m| m.trim_start_matches('+')) {
                None => {
                    let mut out = IrcLines::new();
                    let _ = irc_render::numeric(
                        &mut out,
                        &self.irc_ctx(i),
                        numeric::RPL_CHANNELMODEIS,
                        &[&c, "+nt"],
                        None,
                    );
                    self.send_bytes(i, out.as_bytes());
                }
                Some("b") if p.len() == 2 => {
                    self.irc_numeric(
                        i,
                        numeric::RPL_ENDOFBANLIST,
                        &[&c],
                        "End of channel ban list",
                    );
                }
                Some(_) => self.not_operator(i, "Channel modes are fixed"),
            }
            return;
        }
        if target.starts_with(['#', '&']) {
            self.no_such_channel(i, target);
            return;
        }
        let me = self.slots[i]
            .name
            .as_ref()
            .is_some_and(|n| n.same_as(target));
        if !me {
            let (num, text) = if self.find(target).is_some() {
                (
                    numeric::ERR_USERSDONTMATCH,
                    "Can't change mode for other users",
                )
            } else {
                (numeric::ERR_NOSUCHNICK, "No such nick/channel")
            };
            self.irc_numeric(i, num, &[word(target)], text);
            return;
        }
        let Some(change) = p.get(1) else {
            let modes = if self.slots[i].irc.invisible {
                "+i"
            } else {
                "+"
            };
            let mut out = IrcLines::new();
            let _ = irc_render::numeric(
                &mut out,
                &self.irc_ctx(i),
                numeric::RPL_UMODEIS,
                &[modes],
                None,
            );
            self.send_bytes(i, out.as_bytes());
            return;
        };
        let (mut on, mut unknown) = (true, false);
        let mut done: heapless::String<4> = heapless::String::new();
        for c in change.chars() {
            match c {
                '+' => on = true,
                '-' => on = false,
                'i' if on != self.slots[i].irc.invisible => {
                    self.slots[i].irc.invisible = on;
                    done.clear();
                    let _ = done.push(if on { '+' } else { '-' });
                    let _ = done.push('i');
                }
                'i' => {}
                _ => unknown = true,
            }
        }
        if !done.is_empty() {
            if let Some(who) = self.speaker(i) {
                let w = who.as_ref();
                let mut out = IrcLines::new();
                let m = Message::new("MODE")
                    .with_source(Source::user(w.nick, w.user, w.host))
                    .with_param(w.nick)
                    .with_trailing(&done);
                if m.emit(&mut out).is_ok() {
                    self.send_bytes(i, out.as_bytes());
                }
            }
        }
        if unknown {
            self.irc_numeric(i, numeric::ERR_UMODEUNKNOWNFLAG, &[], "Unknown MODE flag");
        }
    }

    /// `USERHOST nick…`: `302` with `nick=+user@host` for those online (five at most).
    pub(super) fn irc_userhost(&mut self, i: usize, p: &[&str]) {
        if p.is_empty() {
            self.need_more(i, "USERHOST");
            return;
        }
        let mut text: heapless::String<400> = heapless::String::new();
        for nick in p.iter().flat_map(|w| w.split(' ')).take(5) {
            let Some(j) = self.find(nick) else { continue };
            let s = &self.slots[j];
            let (user, host) = user_host(s);
            let name = s.name.as_ref().map_or("*", |n| n.as_str());
            let sep = if text.is_empty() { "" } else { " " };
            let _ = write!(text, "{sep}{name}=+{user}@{host}");
        }
        self.irc_numeric(i, numeric::RPL_USERHOST, &[], &text);
    }

    /// `ISON nick…`: `303` with those online, as the server spells them.
    pub(super) fn irc_ison(&mut self, i: usize, p: &[&str]) {
        if p.is_empty() {
            self.need_more(i, "ISON");
            return;
        }
        let mut text: heapless::String<400> = heapless::String::new();
        for nick in p
            .iter()
            .flat_map(|w| w.split(' '))
            .filter(|w| !w.is_empty())
        {
            let Some(j) = self.find(nick) else { continue };
            let name = self.slots[j].name.as_ref().map_or("*", |n| n.as_str());
            let sep = if text.is_empty() { "" } else { " " };
            if text.len() + sep.len() + name.len() > text.capacity() {
                break;
            }
            let _ = write!(text, "{sep}{name}");
        }
        self.irc_numeric(i, numeric::RPL_ISON, &[], &text);
    }
}
