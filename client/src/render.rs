//! How interactive mode shows each line: `[14:03] <Ana> Oi`.
//!
//! Every field from the server goes through [`crate::sanitize::clean`] first; colour codes are
//! added afterwards, only by this module, and only when [`Style::color`] is set. Each kind of
//! line looks different even without colour: public messages `<Ana>`, actions `* Ana`, private
//! messages `*Ana* → you:`, joins `-->`, leaves `<--`, notices `-!-`, errors `-!- error:`, and
//! replayed history `(history)`.

use chat_core::commands::Command;
use chat_core::history::EntryKind;
use chat_core::names::same_name;
use chat_core::{ServerLine, Timestamp};

use crate::clock::local_hour_minute;
use crate::sanitize::clean;

/// How to draw: with or without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Use ANSI colours.
    pub color: bool,
}

/// SGR parameters for each part of a line.
mod sgr {
    pub const DIM: &str = "2";
    pub const NAME: &str = "1";
    pub const OWN: &str = "1;32";
    pub const PRIVATE: &str = "35";
    pub const JOIN: &str = "32";
    pub const LEAVE: &str = "33";
    pub const NICK: &str = "36";
    pub const INFO: &str = "36";
    pub const ERROR: &str = "1;31";
    pub const ACTION: &str = "1;35";
    pub const HIGHLIGHT: &str = "1;33";
}

impl Style {
    /// Wrap `s` in the colour `code` if colour is on.
    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Return the `[HH:MM]` prefix in local time.
    fn time(self, t: Timestamp) -> String {
        let (h, m) = local_hour_minute(t);
        self.paint(sgr::DIM, &format!("[{h:02}:{m:02}]"))
    }

    /// Return `<name>`, green if it is the user's own.
    fn speaker(self, name: &str, own: bool) -> String {
        self.paint(
            if own { sgr::OWN } else { sgr::NAME },
            &format!("<{}>", clean(name)),
        )
    }

    /// Return a public message or action line.
    fn public(self, kind: EntryKind, t: Timestamp, name: &str, text: &str, own: bool) -> String {
        let text = clean(text);
        match kind {
            EntryKind::Msg => format!("{} {} {text}", self.time(t), self.speaker(name, own)),
            EntryKind::Me => {
                let who = self.paint(
                    if own { sgr::OWN } else { sgr::ACTION },
                    &format!("* {}", clean(name)),
                );
                format!("{} {who} {text}", self.time(t))
            }
        }
    }

    /// Return one of chatc's own notices (`-!- text`).
    pub fn notice(self, text: &str) -> String {
        self.paint(sgr::INFO, &format!("-!- {}", clean(text)))
    }

    /// Return an error notice (`-!- error: text`).
    pub fn error(self, text: &str) -> String {
        self.paint(sgr::ERROR, &format!("-!- error: {}", clean(text)))
    }

    /// Return how to show one server line to the user named `me`, or `None` to show nothing.
    pub fn server_line(self, line: &ServerLine<'_>, me: &str) -> Option<String> {
        Some(match *line {
            ServerLine::Hello { text, .. } => self.paint(sgr::DIM, &format!("-!- {}", clean(text))),
            ServerLine::Welcome { text, .. } | ServerLine::Info { text } => self.notice(text),
            ServerLine::Who { count, names, .. } => {
                self.notice(&format!("Online ({count}): {names}"))
            }
            ServerLine::Hist {
                kind,
                time,
                name,
                text,
            } => {
                let body = self.public(kind, time, name, text, false);
                let body = if self.color { clean(&body) } else { body };
                self.paint(sgr::DIM, &format!("(history) {body}"))
            }
            ServerLine::Msg { time, from, text } => {
                self.public(EntryKind::Msg, time, from, text, false)
            }
            ServerLine::Me { time, from, text } => {
                self.public(EntryKind::Me, time, from, text, false)
            }
            ServerLine::Priv {
                time,
                from,
                to,
                text,
            } => {
                let (from, to, text) = (clean(from), clean(to), clean(text));
                let head = if same_name(&to, me) {
                    format!("*{from}* → you:")
                } else if same_name(&from, me) {
                    format!("you → *{to}*:")
                } else {
                    format!("*{from}* → *{to}*:")
                };
                format!(
                    "{} {} {text}",
                    self.time(time),
                    self.paint(sgr::PRIVATE, &head)
                )
            }
            ServerLine::Join { time, name } => {
                let s = format!("--> {} joined", clean(name));
                format!("{} {}", self.time(time), self.paint(sgr::JOIN, &s))
            }
            ServerLine::Leave { time, name, reason } => {
                let s = format!("<-- {} left ({})", clean(name), clean(reason));
                format!("{} {}", self.time(time), self.paint(sgr::LEAVE, &s))
            }
            ServerLine::Nick { time, old, new } => {
                let s = if same_name(old, me) {
                    format!("-!- you are now known as {}", clean(new))
                } else {
                    format!("-!- {} is now known as {}", clean(old), clean(new))
                };
                format!("{} {}", self.time(time), self.paint(sgr::NICK, &s))
            }
            ServerLine::Err { text, .. } => self.error(text),
            ServerLine::Bye { code, text } => {
                if crate::connection::is_quit(code) {
                    self.notice(text)
                } else {
                    self.error(&format!("disconnected ({code}): {text}"))
                }
            }
            ServerLine::Shutdown { time, text } => {
                format!(
                    "{} {}",
                    self.time(time),
                    self.error(&format!("server shutting down: {text}"))
                )
            }
            ServerLine::Ask { .. } | ServerLine::Unknown(_) => return None,
        })
    }

    /// Return how to show a line addressed to the user named `me` (see [`crate::alert::for_me`]):
    /// the whole line in the highlight colour.
    pub fn highlight(self, line: &ServerLine<'_>, me: &str) -> Option<String> {
        let plain = Style { color: false }.server_line(line, me)?;
        Some(self.paint(sgr::HIGHLIGHT, &plain))
    }

    /// Return how to show a line the user just sent, or `None` if the server will show it.
    ///
    /// The server does not echo public messages and actions to their sender, so those are
    /// drawn here; private messages, renames and the rest come back from the server.
    pub fn own(self, cmd: &Command<'_>, me: &str, t: Timestamp) -> Option<String> {
        match *cmd {
            Command::Say(text) => Some(self.public(EntryKind::Msg, t, me, text, true)),
            Command::Me(text) => Some(self.public(EntryKind::Me, t, me, text, true)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    const T: Timestamp = Timestamp(1_795_961_585);
    const PLAIN: Style = Style { color: false };
    const COLOR: Style = Style { color: true };

    fn hm() -> String {
        let (h, m) = local_hour_minute(T);
        format!("[{h:02}:{m:02}]")
    }

    fn show(line: &str) -> Option<String> {
        PLAIN.server_line(&ServerLine::parse(line).expect("parses"), "Bruno")
    }

    #[test]
    fn each_kind_has_its_own_look() {
        let t = hm();
        let cases = [
            ("MSG 2026-11-29T14:13:05Z Ana Oi", format!("{t} <Ana> Oi")),
            (
                "ME 2026-11-29T14:13:05Z Ana dança",
                format!("{t} * Ana dança"),
            ),
            (
                "PRIV 2026-11-29T14:13:05Z Ana bruno psst",
                format!("{t} *Ana* → you: psst"),
            ),
            (
                "PRIV 2026-11-29T14:13:05Z Bruno Ana oi",
                format!("{t} you → *Ana*: oi"),
            ),
            (
                "JOIN 2026-11-29T14:13:05Z Carla",
                format!("{t} --> Carla joined"),
            ),
            (
                "LEAVE 2026-11-29T14:13:05Z Carla quit: até",
                format!("{t} <-- Carla left (quit: até)"),
            ),
            (
                "NICK 2026-11-29T14:13:05Z Carla Carol",
                format!("{t} -!- Carla is now known as Carol"),
            ),
            (
                "NICK 2026-11-29T14:13:05Z Bruno B2",
                format!("{t} -!- you are now known as B2"),
            ),
            (
                "HIST MSG 2026-11-29T14:13:05Z Ana velho",
                format!("(history) {t} <Ana> velho"),
            ),
            (
                "HIST ME 2026-11-29T14:13:05Z Ana foi",
                format!("(history) {t} * Ana foi"),
            ),
            (
                "WHO 2026-11-29T14:13:05Z 2 Ana Bruno",
                "-!- Online (2): Ana Bruno".to_string(),
            ),
            (
                "INFO 3 old messages omitted",
                "-!- 3 old messages omitted".to_string(),
            ),
            (
                "ERR no-such-name carla Nobody called carla",
                "-!- error: carla Nobody called carla".to_string(),
            ),
            (
                "BYE flood Too many lines",
                "-!- error: disconnected (flood): Too many lines".to_string(),
            ),
            (
                "SHUTDOWN 2026-11-29T14:13:05Z bye",
                format!("{t} -!- error: server shutting down: bye"),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(show(line).as_deref(), Some(want.as_str()), "{line}");
        }
        assert_eq!(show("ASK NAME Send your name"), None);
        assert_eq!(show("FUTURE kind"), None);
    }

    #[test]
    fn own_messages_are_drawn_locally_and_commands_are_not() {
        let t = hm();
        let own = |s| PLAIN.own(&Command::parse(s), "Bruno", T);
        assert_eq!(own("Oi Ana!"), Some(format!("{t} <Bruno> Oi Ana!")));
        assert_eq!(own("//etc"), Some(format!("{t} <Bruno> /etc")));
        assert_eq!(own("/me acena"), Some(format!("{t} * Bruno acena")));
        assert_eq!(own("/msg Ana oi"), None, "PRIV comes back from the server");
        assert_eq!(own("@privado:Ana oi"), None);
        assert_eq!(own("/nick B2"), None);
        assert_eq!(own("/quit"), None);
        assert_eq!(own("@sair"), None);
    }

    #[test]
    fn hostile_text_is_cleaned_and_colour_adds_only_colour() {
        let line = "MSG 2026-11-29T14:13:05Z Evil \x1b[2J\x1b]0;pwned\x07hi\x07\x1b[1A there";
        let plain = show(line).expect("shown");
        assert_eq!(plain, format!("{} <Evil> hi there", hm()));
        let colored = COLOR.server_line(&ServerLine::parse(line).expect("parses"), "Bruno");
        let colored = colored.expect("shown");
        assert_ne!(colored, plain);
        assert_eq!(
            clean(&colored),
            plain,
            "removing SGR gives the plain text back"
        );
        for code in ["[2J", "]0;", "[1A", "\x07"] {
            assert!(!colored.contains(code), "{code:?} in {colored:?}");
        }
    }

    #[test]
    fn a_highlighted_line_is_one_colour_over_the_clean_text() {
        let line =
            ServerLine::parse("MSG 2026-11-29T14:13:05Z Ana bruno\x1b[31m, olha").expect("parses");
        let lit = COLOR.highlight(&line, "bruno").expect("shown");
        assert_eq!(lit, format!("\x1b[1;33m{} <Ana> bruno, olha\x1b[0m", hm()));
        assert_eq!(
            PLAIN.highlight(&line, "bruno"),
            PLAIN.server_line(&line, "bruno")
        );
    }

    #[test]
    fn history_is_distinct_in_colour_too() {
        let hist = ServerLine::parse("HIST MSG 2026-11-29T14:13:05Z Ana x").expect("parses");
        let msg = ServerLine::parse("MSG 2026-11-29T14:13:05Z Ana x").expect("parses");
        let (h, m) = (COLOR.server_line(&hist, "B"), COLOR.server_line(&msg, "B"));
        assert!(h.expect("hist").starts_with("\x1b[2m(history)"));
        assert!(m.expect("msg").contains("\x1b[1m<Ana>"));
    }
}
