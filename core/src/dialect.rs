//! Which protocol a connection speaks: chatd's own lines, or IRC.
//!
//! The daemon knows it from the listener a connection came in on and passes it to
//! [`crate::Server::accept`]; the slot remembers it, and every line for that connection is
//! written in its dialect (a refused one gets [`crate::Refused::line_in`] its dialect). Both
//! dialects share one room, one history and one set of names.

use core::fmt;

/// The protocol of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// chatd's line protocol (`docs/PROTOCOL.md`): `nc`, `telnet`, `chatc`.
    #[default]
    Native,
    /// IRC (RFC 1459/2812 with IRCv3 `CAP` and `server-time`): irssi, WeeChat, HexChat, ….
    Irc,
}

impl Dialect {
    /// Return the dialect's name as logs write it (`protocol=native`, `protocol=irc`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Native => "native",
            Dialect::Irc => "irc",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn each_refusal_has_a_line_in_each_dialect() {
        use crate::server::Refused;
        for r in [Refused::Full, Refused::PerAddress, Refused::Reserve] {
            assert_eq!(r.line_in(Dialect::Native), r.line());
            let irc = r.line_in(Dialect::Irc);
            let text = std::str::from_utf8(irc).unwrap();
            let body = text.strip_suffix("\r\n").unwrap();
            let m = crate::irc::Message::parse(body.as_bytes()).unwrap();
            assert!(m.command().is("ERROR"), "{text}");
            let why = m.params()[0].strip_prefix("Closing link: ").unwrap();
            assert!(
                why == r.text() || r == Refused::Full,
                "{why} / {}",
                r.text()
            );
        }
        assert_eq!(
            Refused::Full.line_in(Dialect::Irc),
            b"ERROR :Closing link: server full\r\n"
        );
        assert_eq!(Dialect::default(), Dialect::Native);
        assert_eq!(std::format!("{}", Dialect::Irc), "irc");
    }
}
