//! Which protocol a connection speaks: chatd's own lines, or IRC.
//!
//! The daemon knows it from the listener a connection came in on and passes it to
//! [`crate::Server::accept`]; the slot remembers it, and every line for that connection is
//! written in its dialect. Both dialects share one room, one history and one set of names.

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
    /// Return the line to write to a connection refused because every slot is taken, before
    /// closing it: [`crate::wire::FULL_LINE`] or its IRC twin [`crate::irc::FULL_LINE`].
    pub fn full_line(self) -> &'static [u8] {
        match self {
            Dialect::Native => crate::wire::FULL_LINE,
            Dialect::Irc => crate::irc::FULL_LINE,
        }
    }

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
    fn each_dialect_has_its_own_full_line() {
        assert!(Dialect::Native.full_line().starts_with(b"BYE full "));
        assert_eq!(
            Dialect::Irc.full_line(),
            b"ERROR :Closing link: server full\r\n"
        );
        assert_eq!(Dialect::default(), Dialect::Native);
        assert_eq!(std::format!("{}", Dialect::Irc), "irc");
    }
}
