//! CTCP: the `\x01`-wrapped requests inside PRIVMSG and NOTICE text, `/me` among them.
//!
//! A CTCP message is text starting with `\x01`, then a command word, a space and parameters,
//! then a closing `\x01` that some clients leave out (ircdocs.horse, "CTCP"). `ACTION` is
//! IRC's `/me`; the others (`VERSION`, `PING`, `TIME`, …) ask the receiving client a question.

use core::fmt::{self, Write};

use super::BufferFull;

/// Bytes an action adds around its text: `\x01ACTION ` and the closing `\x01`.
///
/// Subtract it from a line's text budget before splitting an action's text.
pub const ACTION_OVERHEAD: usize = "\x01ACTION \x01".len();

/// A CTCP message found in a PRIVMSG or NOTICE text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctcp<'a> {
    /// `\x01ACTION text\x01`: the sender does something (`/me text`).
    Action(&'a str),
    /// Any other CTCP command, such as `VERSION` or `PING 12345`.
    Request {
        /// The command word as written (compare with `eq_ignore_ascii_case`).
        command: &'a str,
        /// Everything after the first space, possibly empty.
        params: &'a str,
    },
}

impl<'a> Ctcp<'a> {
    /// Read `text` as CTCP, or return `None` if it is ordinary text.
    ///
    /// The message ends at the next `\x01` or at the end of the text; anything after a
    /// closing `\x01` is ignored. `\x01` alone or `\x01\x01` is not a CTCP message.
    pub fn parse(text: &'a str) -> Option<Ctcp<'a>> {
        let body = text.strip_prefix('\x01')?;
        let body = body.split_once('\x01').map_or(body, |(b, _)| b);
        let (command, params) = body.split_once(' ').unwrap_or((body, ""));
        if command.is_empty() {
            return None;
        }
        if command.eq_ignore_ascii_case("ACTION") {
            return Some(Ctcp::Action(params));
        }
        Some(Ctcp::Request { command, params })
    }

    /// Return whether this is a request named `command`, ignoring ASCII case.
    pub fn is_request(&self, command: &str) -> bool {
        matches!(self, Ctcp::Request { command: c, .. } if c.eq_ignore_ascii_case(command))
    }

    /// Write the message with both its `\x01`s, ready to be a PRIVMSG or NOTICE text.
    ///
    /// The parts are written as given: a `\x01` inside them would end the message early, and
    /// NUL, CR or LF are refused later by [`super::Message::emit`].
    pub fn emit<W: Write + ?Sized>(&self, out: &mut W) -> Result<(), BufferFull> {
        let r = match *self {
            Ctcp::Action(text) => write!(out, "\x01ACTION {text}\x01"),
            Ctcp::Request {
                command,
                params: "",
            } => {
                write!(out, "\x01{command}\x01")
            }
            Ctcp::Request { command, params } => write!(out, "\x01{command} {params}\x01"),
        };
        r.map_err(|_: fmt::Error| BufferFull)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::string::String;

    #[test]
    fn actions_with_and_without_the_closing_byte() {
        assert_eq!(
            Ctcp::parse("\x01ACTION waves\x01"),
            Some(Ctcp::Action("waves"))
        );
        assert_eq!(Ctcp::parse("\x01ACTION waves"), Some(Ctcp::Action("waves")));
        assert_eq!(
            Ctcp::parse("\x01action waves hi"),
            Some(Ctcp::Action("waves hi"))
        );
        assert_eq!(Ctcp::parse("\x01ACTION\x01"), Some(Ctcp::Action("")));
        assert_eq!(
            Ctcp::parse("\x01ACTION a\x01 trailing junk"),
            Some(Ctcp::Action("a"))
        );
    }

    #[test]
    fn other_requests_are_recognised() {
        let v = Ctcp::parse("\x01VERSION\x01");
        assert_eq!(
            v,
            Some(Ctcp::Request {
                command: "VERSION",
                params: ""
            })
        );
        assert!(v.is_some_and(|c| c.is_request("version")));
        assert!(!v.is_some_and(|c| c.is_request("PING")));
        assert_eq!(
            Ctcp::parse("\x01PING 1733 0042\x01"),
            Some(Ctcp::Request {
                command: "PING",
                params: "1733 0042"
            })
        );
        assert!(!Ctcp::Action("x").is_request("ACTION"));
    }

    #[test]
    fn ordinary_text_is_not_ctcp() {
        for t in [
            "",
            "hello",
            " \x01ACTION x\x01",
            "\x01",
            "\x01\x01",
            "\x01 x\x01",
        ] {
            assert_eq!(Ctcp::parse(t), None, "{t:?}");
        }
    }

    #[test]
    fn emit_writes_what_parse_reads() {
        for c in [
            Ctcp::Action("waves at João"),
            Ctcp::Action(""),
            Ctcp::Request {
                command: "VERSION",
                params: "",
            },
            Ctcp::Request {
                command: "PING",
                params: "123 456",
            },
        ] {
            let mut s = String::new();
            assert_eq!(c.emit(&mut s), Ok(()));
            assert_eq!(Ctcp::parse(&s), Some(c), "{s:?}");
        }
        let mut s = String::new();
        assert_eq!(Ctcp::Action("waves").emit(&mut s), Ok(()));
        assert_eq!(s, "\x01ACTION waves\x01");
        assert_eq!(s.len(), "waves".len() + ACTION_OVERHEAD);
        let mut small: heapless::String<8> = heapless::String::new();
        assert_eq!(Ctcp::Action("waves").emit(&mut small), Err(BufferFull));
    }
}
