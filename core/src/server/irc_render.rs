//! How the room and the server's replies look to an IRC client.
//!
//! Every function writes whole lines, CRLF included, into an [`IrcLines`] buffer (or any
//! [`fmt::Write`]); a text longer than one IRC line is cut into several at UTF-8 boundaries
//! ([`SplitText`]), so a room event or a private message is one buffer of one or more lines,
//! stored as one record or queue entry. Sources never hold a peer address: an IRC client is
//! `nick!~user@irc`, a native one `nick!native@chatd`, a replayed message `nick!history@chatd`.

use core::fmt::{self, Write as _};

use super::room::{PrivKind, Private, RoomEvent, Speaker, NATIVE_HOST};
use super::Server;
use crate::config::{IrcConfig, MAX_LINE};
use crate::history::{Entry, EntryKind};
use crate::irc::numeric::{self, Numeric};
use crate::irc::{Ctcp, EmitError, Message, Source, SplitText, ACTION_OVERHEAD, MAX_IRC_LINE};
use crate::wire::{ByeCode, Code, ErrCode, ServerLine};

/// Bytes of the lines one event may take: the longest text (a full native line) cut into IRC
/// lines with the longest source and channel, each piece at least half a line (see
/// [`SplitText`]), fits with room to spare (a test below checks the worst case).
pub(super) const IRC_EVENT_BUF: usize = 4 * MAX_IRC_LINE;

/// One or more IRC lines, CRLF-terminated.
pub(super) type IrcLines = heapless::String<IRC_EVENT_BUF>;

/// The user part of a replayed message's source, `nick!history@chatd` (who said it is known,
/// how they were connected is not).
const HISTORY_USER: &str = "history";

/// Who a reply is for, and the names every reply carries.
#[derive(Debug, Clone, Copy)]
pub(super) struct IrcCtx<'a> {
    /// The server name replies come from.
    pub(super) server: &'a str,
    /// The channel.
    pub(super) channel: &'a str,
    /// The receiver's nick, `*` before it registered.
    pub(super) nick: &'a str,
}

impl<const N: usize> Server<N> {
    /// Return the names replies to connection `i` carry.
    pub(super) fn irc_ctx(&self, i: usize) -> IrcCtx<'_> {
        IrcCtx {
            server: self.config.irc.server_name(),
            channel: self.config.irc.channel(),
            nick: self.slots[i].name.as_ref().map_or("*", |n| n.as_str()),
        }
    }
}

/// Return `s` cut to at most `max` bytes, on a character boundary.
pub(super) fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Return a client-supplied word fit to be a middle parameter: its first word, at most 32
/// bytes, or `*` if nothing is left.
pub(super) fn word(s: &str) -> &str {
    let w = s.split(' ').next().unwrap_or_default();
    let w = clip(w.trim_start_matches(':'), crate::config::MAX_NAME);
    if w.is_empty() {
        "*"
    } else {
        w
    }
}

fn source(who: Speaker<'_>) -> Source<'_> {
    Source::user(who.nick, who.user, who.host)
}

/// Write `fixed` once per piece of `text`, each piece as its last parameter (wrapped as an
/// `ACTION` if `action`), so that every line fits in 512 bytes.
fn say<W: fmt::Write + ?Sized>(
    out: &mut W,
    fixed: Message<'_>,
    text: &str,
    action: bool,
) -> Result<(), EmitError> {
    let mut budget = fixed.text_budget()?;
    if action {
        budget = budget.saturating_sub(ACTION_OVERHEAD);
    }
    let pieces = SplitText::new(text, budget).map_err(|_| EmitError::TooLong)?;
    for piece in pieces {
        if action {
            let mut t: heapless::String<MAX_IRC_LINE> = heapless::String::new();
            Ctcp::Action(piece)
                .emit(&mut t)
                .map_err(|_| EmitError::BufferFull)?;
            fixed.with_trailing(&t).emit(out)?;
        } else {
            fixed.with_trailing(piece).emit(out)?;
        }
    }
    Ok(())
}

/// Return a native leave reason as IRC's `QUIT` shows it: `quit: bye` is `Quit: bye`.
fn quit_reason(reason: &str) -> (&str, &str) {
    match reason.strip_prefix("quit") {
        Some(rest) if rest.is_empty() || rest.starts_with(':') => ("Quit", rest),
        _ => ("", reason),
    }
}

/// Write a room event as IRC clients in the room get it.
pub(super) fn room_event(
    out: &mut IrcLines,
    cfg: &IrcConfig,
    event: &RoomEvent<'_>,
) -> Result<(), EmitError> {
    let channel = cfg.channel();
    match *event {
        RoomEvent::Say {
            who, text, notice, ..
        } => {
            let command = if notice { "NOTICE" } else { "PRIVMSG" };
            let fixed = Message::new(command)
                .with_source(source(who))
                .with_param(channel);
            say(out, fixed, text, false)
        }
        RoomEvent::Act { who, text, .. } => {
            let fixed = Message::new("PRIVMSG")
                .with_source(source(who))
                .with_param(channel);
            say(out, fixed, text, true)
        }
        RoomEvent::Join { who, .. } => Message::new("JOIN")
            .with_source(source(who))
            .with_trailing(channel)
            .emit(out)
            .map(drop),
        RoomEvent::Leave { who, reason, .. } => {
            let (word, rest) = quit_reason(reason);
            let mut text: heapless::String<MAX_IRC_LINE> = heapless::String::new();
            let _ = write!(text, "{word}{}", clip(rest, 400));
            Message::new("QUIT")
                .with_source(source(who))
                .with_trailing(&text)
                .emit(out)
                .map(drop)
        }
        RoomEvent::Part { who, text, .. } => {
            let m = Message::new("PART")
                .with_source(source(who))
                .with_param(channel);
            match text.filter(|t| !t.is_empty()) {
                Some(t) => m.with_trailing(clip(t, 400)).emit(out),
                None => m.emit(out),
            }
            .map(drop)
        }
        RoomEvent::Nick { who, new, .. } => Message::new("NICK")
            .with_source(source(who))
            .with_trailing(new)
            .emit(out)
            .map(drop),
    }
}

/// Write a private message from `from` as its IRC receiver (`ctx.nick`) gets it.
pub(super) fn private(
    out: &mut IrcLines,
    ctx: &IrcCtx<'_>,
    from: Speaker<'_>,
    words: Private<'_>,
) -> Result<(), EmitError> {
    let command = match words.kind {
        PrivKind::Notice => "NOTICE",
        PrivKind::Msg | PrivKind::Action => "PRIVMSG",
    };
    let fixed = Message::new(command)
        .with_source(source(from))
        .with_param(ctx.nick);
    say(out, fixed, words.irc, words.kind == PrivKind::Action)
}

/// Write a numeric reply: `:server NUM nick params… [:text]`.
pub(super) fn numeric<W: fmt::Write + ?Sized>(
    out: &mut W,
    ctx: &IrcCtx<'_>,
    num: Numeric,
    params: &[&str],
    text: Option<&str>,
) -> Result<(), EmitError> {
    let mut m = Message::new(num)
        .with_source(Source::server(ctx.server))
        .with_param(ctx.nick);
    for p in params {
        m = m.with_param(p);
    }
    if let Some(t) = text {
        m = m.with_trailing(t);
    }
    m.emit(out).map(drop)
}

/// Write a notice from the server to the receiver.
pub(super) fn notice<W: fmt::Write + ?Sized>(
    out: &mut W,
    ctx: &IrcCtx<'_>,
    text: &str,
) -> Result<(), EmitError> {
    let fixed = Message::new("NOTICE")
        .with_source(Source::server(ctx.server))
        .with_param(ctx.nick);
    say(out, fixed, text, false)
}

/// Write `ERROR :Closing link: why`, after which the server closes the connection.
pub(super) fn error_line<W: fmt::Write + ?Sized>(out: &mut W, why: &str) -> Result<(), EmitError> {
    let mut text: heapless::String<MAX_IRC_LINE> = heapless::String::new();
    let _ = write!(text, "Closing link: {}", clip(why, 400));
    Message::new("ERROR")
        .with_trailing(&text)
        .emit(out)
        .map(drop)
}

/// Write what a native line for one connection is to an IRC client: an error as the numeric
/// or `NOTICE` it acts on, a goodbye or shutdown as `ERROR`, a notice as `NOTICE`. Lines only
/// native clients are sent (the greeting, `WELCOME`, `WHO`, `HIST`) write nothing.
pub(super) fn server_line(
    out: &mut IrcLines,
    ctx: &IrcCtx<'_>,
    line: &ServerLine<'_>,
) -> Result<(), EmitError> {
    match *line {
        ServerLine::Err {
            code: Code::Known(ErrCode::TooLong),
            ..
        } => numeric(
            out,
            ctx,
            numeric::ERR_INPUTTOOLONG,
            &[],
            Some("Input line was too long"),
        ),
        ServerLine::Err { text, .. } | ServerLine::Info { text } => notice(out, ctx, text),
        ServerLine::Bye { code, text } => {
            let why = match code {
                Code::Known(ByeCode::Password) => {
                    numeric(
                        out,
                        ctx,
                        numeric::ERR_PASSWDMISMATCH,
                        &[],
                        Some("Password incorrect"),
                    )?;
                    "Password incorrect"
                }
                Code::Known(ByeCode::Throttled) => {
                    numeric(out, ctx, numeric::ERR_YOUREBANNEDCREEP, &[], Some(text))?;
                    text
                }
                Code::Known(ByeCode::Quit) => "Quit",
                Code::Known(ByeCode::Full) => "server full",
                Code::Known(ByeCode::Timeout) => "Registration timed out",
                Code::Known(ByeCode::Flood) => "Excess flood",
                Code::Known(ByeCode::TooMany | ByeCode::Tls) | Code::Other(_) => text,
            };
            error_line(out, why)
        }
        ServerLine::Shutdown { text, .. } => error_line(out, text),
        _ => Ok(()),
    }
}

/// Write the next piece of a replayed history entry, from byte `from` of its text: a
/// `PRIVMSG` from `nick!history@chatd` with an `@time=` tag if the client enabled
/// `server-time`, else with the time, `[HH:MM]` UTC, at the start of the text. Return where
/// the next piece starts, or `None` if this was the last.
pub(super) fn history_piece<W: fmt::Write + ?Sized>(
    out: &mut W,
    channel: &str,
    entry: &Entry,
    from: usize,
    server_time: bool,
) -> Result<Option<usize>, EmitError> {
    let mut fixed = Message::new("PRIVMSG")
        .with_source(Source::user(entry.name.as_str(), HISTORY_USER, NATIVE_HOST))
        .with_param(channel);
    let mut stamp: heapless::String<8> = heapless::String::new();
    if server_time {
        fixed = fixed.with_time(entry.time);
    } else {
        let (_, _, _, h, mi, _) = entry.time.civil();
        let _ = write!(stamp, "[{h:02}:{mi:02}] ");
    }
    let action = entry.kind == EntryKind::Me;
    let mut budget = fixed.text_budget()?.saturating_sub(stamp.len());
    if action {
        budget = budget.saturating_sub(ACTION_OVERHEAD);
    }
    let rest = entry.text.get(from..).unwrap_or_default();
    let Some(piece) = SplitText::new(rest, budget)
        .map_err(|_| EmitError::TooLong)?
        .next()
    else {
        return Ok(None);
    };
    let mut text: heapless::String<MAX_LINE> = heapless::String::new();
    let _ = text.push_str(&stamp);
    let _ = text.push_str(piece);
    let mut wrapped: heapless::String<MAX_LINE> = heapless::String::new();
    let text = if action {
        Ctcp::Action(&text)
            .emit(&mut wrapped)
            .map_err(|_| EmitError::BufferFull)?;
        &wrapped
    } else {
        &text
    };
    fixed.with_trailing(text).emit(out)?;
    let next = from + piece.len();
    Ok((next < entry.text.len()).then_some(next))
}

/// Return the time of a `Timestamp` as `HH:MM`, for tests.
#[cfg(test)]
pub(super) fn hhmm(t: crate::time::Timestamp) -> std::string::String {
    let (_, _, _, h, mi, _) = t.civil();
    std::format!("{h:02}:{mi:02}")
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::names::Name;
    use crate::time::Timestamp;
    use std::string::String;

    const WHO: Speaker<'static> = Speaker {
        nick: "ana",
        user: "~ana",
        host: "irc",
    };

    fn lines(s: &str) -> std::vec::Vec<&str> {
        s.split_inclusive("\r\n").collect()
    }

    #[test]
    fn room_events_look_like_an_irc_server_s() {
        let cfg = IrcConfig::default();
        let t = Timestamp(0);
        let cases: &[(RoomEvent<'_>, &str)] = &[
            (
                RoomEvent::Say {
                    time: t,
                    who: WHO,
                    text: "oi gente",
                    notice: false,
                },
                ":ana!~ana@irc PRIVMSG #chat :oi gente\r\n",
            ),
            (
                RoomEvent::Say {
                    time: t,
                    who: WHO,
                    text: "bot",
                    notice: true,
                },
                ":ana!~ana@irc NOTICE #chat :bot\r\n",
            ),
            (
                RoomEvent::Act {
                    time: t,
                    who: WHO,
                    text: "acena",
                },
                ":ana!~ana@irc PRIVMSG #chat :\u{1}ACTION acena\u{1}\r\n",
            ),
            (
                RoomEvent::Join { time: t, who: WHO },
                ":ana!~ana@irc JOIN :#chat\r\n",
            ),
            (
                RoomEvent::Leave {
                    time: t,
                    who: WHO,
                    reason: "quit: até",
                },
                ":ana!~ana@irc QUIT :Quit: até\r\n",
            ),
            (
                RoomEvent::Leave {
                    time: t,
                    who: WHO,
                    reason: "connection closed",
                },
                ":ana!~ana@irc QUIT :connection closed\r\n",
            ),
            (
                RoomEvent::Part {
                    time: t,
                    who: WHO,
                    reason: "part: lunch",
                    text: Some("lunch"),
                },
                ":ana!~ana@irc PART #chat :lunch\r\n",
            ),
            (
                RoomEvent::Part {
                    time: t,
                    who: WHO,
                    reason: "part",
                    text: None,
                },
                ":ana!~ana@irc PART #chat\r\n",
            ),
            (
                RoomEvent::Nick {
                    time: t,
                    who: WHO,
                    new: "bia",
                },
                ":ana!~ana@irc NICK :bia\r\n",
            ),
        ];
        for (event, want) in cases {
            let mut out = IrcLines::new();
            room_event(&mut out, &cfg, event).unwrap();
            assert_eq!(out.as_str(), *want);
        }
    }

    #[test]
    fn the_longest_text_with_the_longest_names_fits_whole_in_pieces() {
        let mut cfg = IrcConfig::default();
        cfg.set_channel(&std::format!("#{}", "c".repeat(31)))
            .unwrap();
        let nick = "n".repeat(32);
        let who = Speaker {
            nick: &nick,
            user: "~uuuuuuuuuu",
            host: "irc",
        };
        // The worst case for the splitter: a space just past the middle of every budget, so
        // each piece is barely over half a line; and multi-byte characters around each cut.
        let mut text = String::new();
        while text.len() < MAX_LINE - 1 {
            text.push_str(&"é".repeat(100));
            text.push(' ');
        }
        let text = clip(&text, MAX_LINE - 1);
        for action in [false, true] {
            let event = if action {
                RoomEvent::Act {
                    time: Timestamp(0),
                    who,
                    text,
                }
            } else {
                RoomEvent::Say {
                    time: Timestamp(0),
                    who,
                    text,
                    notice: false,
                }
            };
            let mut out = IrcLines::new();
            room_event(&mut out, &cfg, &event).unwrap();
            let mut back = String::new();
            for l in lines(&out) {
                assert!(l.len() <= MAX_IRC_LINE, "{} bytes", l.len());
                let m = Message::parse(l.trim_end_matches("\r\n").as_bytes()).unwrap();
                let t = m.params()[1];
                match Ctcp::parse(t) {
                    Some(Ctcp::Action(a)) if action => back.push_str(a),
                    _ => back.push_str(t),
                }
            }
            assert_eq!(back, text, "action: {action}");
        }
    }

    #[test]
    fn private_messages_and_replies_name_the_receiver() {
        let ctx = IrcCtx {
            server: "chatd",
            channel: "#chat",
            nick: "bob",
        };
        let mut out = IrcLines::new();
        let from = Speaker {
            nick: "ana",
            user: "native",
            host: "chatd",
        };
        let words = Private {
            kind: PrivKind::Msg,
            irc: "só pra você",
            native: "só pra você",
        };
        private(&mut out, &ctx, from, words).unwrap();
        assert_eq!(
            out.as_str(),
            ":ana!native@chatd PRIVMSG bob :só pra você\r\n"
        );
        out.clear();
        numeric(
            &mut out,
            &ctx,
            numeric::ERR_NOSUCHNICK,
            &["carla"],
            Some("No such nick/channel"),
        )
        .unwrap();
        assert_eq!(
            out.as_str(),
            ":chatd 401 bob carla :No such nick/channel\r\n"
        );
        out.clear();
        let bye = ServerLine::Bye {
            code: Code::Known(ByeCode::Password),
            text: "x",
        };
        server_line(&mut out, &ctx, &bye).unwrap();
        assert_eq!(
            out.as_str(),
            ":chatd 464 bob :Password incorrect\r\nERROR :Closing link: Password incorrect\r\n"
        );
        out.clear();
        let hello = ServerLine::Hello {
            version: "chatd/1",
            text: "hi",
        };
        server_line(&mut out, &ctx, &hello).unwrap();
        assert_eq!(out.as_str(), "", "native-only lines are not sent");
        assert_eq!(word("a b"), "a");
        assert_eq!(word(""), "*");
        assert_eq!(word(":x"), "x");
        assert_eq!(word(&"é".repeat(40)).len(), 32);
    }

    #[test]
    fn history_is_replayed_with_a_tag_or_a_visible_time() {
        let e = Entry::new(
            EntryKind::Me,
            Timestamp(1_795_961_585),
            Name::new("Ana").unwrap(),
            "acena",
        )
        .unwrap();
        let mut out = String::new();
        assert_eq!(history_piece(&mut out, "#chat", &e, 0, true), Ok(None));
        assert_eq!(
            out,
            "@time=2026-11-29T14:13:05.000Z :Ana!history@chatd PRIVMSG #chat :\u{1}ACTION acena\u{1}\r\n"
        );
        out.clear();
        assert_eq!(history_piece(&mut out, "#chat", &e, 0, false), Ok(None));
        assert_eq!(
            out,
            std::format!(
                ":Ana!history@chatd PRIVMSG #chat :\u{1}ACTION [{}] acena\u{1}\r\n",
                hhmm(e.time)
            )
        );
        let long = "palavra ".repeat(120);
        let e = Entry::new(
            EntryKind::Msg,
            Timestamp(0),
            Name::new("Bo").unwrap(),
            &long,
        )
        .unwrap();
        let (mut from, mut back, mut n) = (0, String::new(), 0);
        loop {
            let mut line = String::new();
            let next = history_piece(&mut line, "#chat", &e, from, false).unwrap();
            assert!(line.len() <= MAX_IRC_LINE);
            let m = Message::parse(line.trim_end_matches("\r\n").as_bytes()).unwrap();
            back.push_str(m.params()[1].strip_prefix("[00:00] ").unwrap());
            n += 1;
            match next {
                Some(f) => from = f,
                None => break,
            }
        }
        assert_eq!(back, long);
        assert_eq!(n, 3);
    }
}
