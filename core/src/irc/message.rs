//! One IRC message: reading a client's line, and the value a server line is written from.
//!
//! The grammar is the modern one (ircdocs.horse, "Message format", after RFC 1459/2812 and
//! IRCv3 message tags):
//!
//! ```text
//! message    = [ "@" tags SPACE ] [ ":" source SPACE ] command params
//! SPACE      = 1*" "                      ; one or more, as clients and RFC 1459 do
//! command    = 1*letter / 3digit
//! params     = *( SPACE middle ) [ SPACE ":" trailing ]
//! middle     = any octet but NUL CR LF SPACE, not starting with ":"
//! trailing   = any octet but NUL CR LF
//! ```
//!
//! Leniencies, all seen in real clients: spaces before the message and after its last
//! parameter are ignored, runs of spaces separate as one, one trailing `\r` is dropped.
//! Strictness: the line must be UTF-8 (chatd's text is), at most [`MAX_LINE`] bytes, with at
//! most [`MAX_PARAMS`] parameters — a 16th is [`ParseError::TooManyParams`], not folded into
//! the 15th.

use core::fmt;

use super::numeric::Numeric;
use super::tags::{valid_tags, Tag, Tags};
use crate::config::MAX_LINE;
use crate::time::Timestamp;

/// Most parameters one message may carry.
pub const MAX_PARAMS: usize = 15;

/// Why a client's line is not an IRC message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The line is empty or only spaces (clients may send these; ignore them).
    Empty,
    /// The line is longer than [`MAX_LINE`] bytes.
    TooLong,
    /// The line is not UTF-8.
    NotUtf8,
    /// The line holds a NUL, or a CR or LF other than one final `\r`.
    ForbiddenByte,
    /// The `@tags` section is empty or a tag key is malformed.
    BadTags,
    /// A `:` starts a source that is empty.
    EmptySource,
    /// Tags or a source, but no command after them.
    NoCommand,
    /// The command is neither letters nor exactly three digits.
    BadCommand,
    /// More than [`MAX_PARAMS`] parameters.
    TooManyParams,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Empty => "the line is empty",
            ParseError::TooLong => "the line is too long",
            ParseError::NotUtf8 => "the line is not UTF-8",
            ParseError::ForbiddenByte => "the line holds a NUL, CR or LF",
            ParseError::BadTags => "the message tags are malformed",
            ParseError::EmptySource => "the source is empty",
            ParseError::NoCommand => "there is no command",
            ParseError::BadCommand => "the command is not a word or a three-digit numeric",
            ParseError::TooManyParams => "there are more than 15 parameters",
        })
    }
}

impl core::error::Error for ParseError {}

/// A message's command: a word such as `PRIVMSG`, or a numeric reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// A command word, in the case it was written (compare with [`Command::is`]).
    Word(&'a str),
    /// A three-digit numeric reply.
    Numeric(Numeric),
}

impl<'a> Command<'a> {
    fn parse(s: &'a str) -> Result<Command<'a>, ParseError> {
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_digit) {
            let code = b.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
            return Numeric::new(code)
                .map(Command::Numeric)
                .ok_or(ParseError::BadCommand);
        }
        if !b.is_empty() && b.iter().all(u8::is_ascii_alphabetic) {
            return Ok(Command::Word(s));
        }
        Err(ParseError::BadCommand)
    }

    /// Return whether this is the command `name`, ignoring ASCII case (`"privmsg"`, `"001"`).
    pub fn is(&self, name: &str) -> bool {
        match self {
            Command::Word(w) => w.eq_ignore_ascii_case(name),
            Command::Numeric(n) => n.digits() == name.as_bytes(),
        }
    }

    /// Return the numeric, if this is one.
    pub fn numeric(&self) -> Option<Numeric> {
        match *self {
            Command::Numeric(n) => Some(n),
            Command::Word(_) => None,
        }
    }
}

impl<'a> From<&'a str> for Command<'a> {
    fn from(word: &'a str) -> Self {
        Command::Word(word)
    }
}

impl From<Numeric> for Command<'_> {
    fn from(n: Numeric) -> Self {
        Command::Numeric(n)
    }
}

/// Where a message comes from: `server.name`, `nick`, or `nick!user@host`.
///
/// A parsed source splits at its first `@` (the host is the rest) and the part before at its
/// first `!` (the user is the rest), so `name` never holds `!` or `@` and `user` never holds
/// `@`; [`Message::emit`] refuses sources that break these rules, so that what it writes reads
/// back the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source<'a> {
    /// A nick or a server name.
    pub name: &'a str,
    /// The user part after `!`, if any.
    pub user: Option<&'a str>,
    /// The host part after `@`, if any.
    pub host: Option<&'a str>,
}

impl<'a> Source<'a> {
    /// Read a source (without its leading `:`).
    pub fn parse(s: &'a str) -> Source<'a> {
        let (left, host) = match s.split_once('@') {
            Some((l, h)) => (l, Some(h)),
            None => (s, None),
        };
        let (name, user) = match left.split_once('!') {
            Some((n, u)) => (n, Some(u)),
            None => (left, None),
        };
        Source { name, user, host }
    }

    /// Make the source of a line the server itself sends.
    pub const fn server(name: &'a str) -> Source<'a> {
        Source {
            name,
            user: None,
            host: None,
        }
    }

    /// Make the source `nick!user@host` of a line a user caused.
    pub const fn user(nick: &'a str, user: &'a str, host: &'a str) -> Source<'a> {
        Source {
            name: nick,
            user: Some(user),
            host: Some(host),
        }
    }

    /// Return how many bytes the source takes on the wire, without its `:`.
    pub fn len(&self) -> usize {
        self.name.len()
            + self.user.map_or(0, |u| 1 + u.len())
            + self.host.map_or(0, |h| 1 + h.len())
    }

    /// Return whether the source is written as nothing at all (which [`Message::emit`] refuses).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if let Some(u) = self.user {
            write!(f, "!{u}")?;
        }
        if let Some(h) = self.host {
            write!(f, "@{h}")?;
        }
        Ok(())
    }
}

/// One message: tags, source, command and parameters, borrowing its text.
///
/// [`Message::parse`] reads a client's line into one; the `with_*` builders make one for the
/// server to [`emit`](Message::emit). A parsed message remembers whether its last parameter
/// was written after a `:`, so a message read and written back is byte-identical unless the
/// line had extra spaces or a `\r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub(super) tags: Option<&'a str>,
    pub(super) time: Option<Timestamp>,
    pub(super) source: Option<Source<'a>>,
    pub(super) command: Command<'a>,
    pub(super) params: [&'a str; MAX_PARAMS],
    pub(super) len: u8,
    /// The last parameter is written after a `:` even where it need not be.
    pub(super) trailing: bool,
    /// A builder was given more than [`MAX_PARAMS`] parameters.
    pub(super) overflow: bool,
}

/// Split at the first space: the word before it, and everything after it.
fn word(s: &str) -> (&str, &str) {
    s.split_once(' ').unwrap_or((s, ""))
}

impl<'a> Message<'a> {
    /// Read one client line, without its `\n` (one trailing `\r` is tolerated).
    pub fn parse(line: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let line = match line.split_last() {
            Some((b'\r', rest)) => rest,
            _ => line,
        };
        if line.len() > MAX_LINE {
            return Err(ParseError::TooLong);
        }
        if line.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
            return Err(ParseError::ForbiddenByte);
        }
        let line = core::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
        let mut rest = line.trim_start_matches(' ');
        if rest.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut tags = None;
        if let Some(r) = rest.strip_prefix('@') {
            let (t, r) = word(r);
            if !valid_tags(t) {
                return Err(ParseError::BadTags);
            }
            tags = Some(t);
            rest = r.trim_start_matches(' ');
        }
        let mut source = None;
        if let Some(r) = rest.strip_prefix(':') {
            let (s, r) = word(r);
            if s.is_empty() {
                return Err(ParseError::EmptySource);
            }
            source = Some(Source::parse(s));
            rest = r.trim_start_matches(' ');
        }
        if rest.is_empty() {
            return Err(ParseError::NoCommand);
        }
        let (command, mut rest) = word(rest);
        let mut m = Message::new(Command::parse(command)?);
        m.tags = tags;
        m.source = source;
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            if usize::from(m.len) == MAX_PARAMS {
                return Err(ParseError::TooManyParams);
            }
            if let Some(t) = rest.strip_prefix(':') {
                m = m.with_trailing(t);
                break;
            }
            let (p, r) = word(rest);
            m = m.with_param(p);
            rest = r;
        }
        Ok(m)
    }

    /// Make a message with this command and nothing else, to add to with the `with_*` methods.
    pub fn new(command: impl Into<Command<'a>>) -> Message<'a> {
        Message {
            tags: None,
            time: None,
            source: None,
            command: command.into(),
            params: [""; MAX_PARAMS],
            len: 0,
            trailing: false,
            overflow: false,
        }
    }

    /// Return the message with this source.
    #[must_use]
    pub fn with_source(mut self, source: Source<'a>) -> Self {
        self.source = Some(source);
        self
    }

    /// Return the message with a `time` tag (IRCv3 `server-time`) written before any others.
    #[must_use]
    pub fn with_time(mut self, time: Timestamp) -> Self {
        self.time = Some(time);
        self
    }

    /// Return the message with one more parameter, written after a `:` only if it must be.
    ///
    /// More than [`MAX_PARAMS`] parameters make [`Message::emit`] fail.
    #[must_use]
    pub fn with_param(mut self, param: &'a str) -> Self {
        match self.params.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = param;
                self.len += 1;
            }
            None => self.overflow = true,
        }
        self.trailing = false;
        self
    }

    /// Return the message with a last parameter always written after a `:` (free text).
    ///
    /// Add nothing after it: a later parameter turns it back into a middle one.
    #[must_use]
    pub fn with_trailing(self, text: &'a str) -> Self {
        let mut m = self.with_param(text);
        m.trailing = !m.overflow;
        m
    }

    /// Return the tags section as written, without its `@` (values still escaped).
    pub fn raw_tags(&self) -> Option<&'a str> {
        self.tags
    }

    /// Return the tags, in the order written.
    pub fn tags(&self) -> Tags<'a> {
        Tags::new(self.tags.unwrap_or(""))
    }

    /// Return the tag named `key`; of several, the last, as the IRCv3 spec says.
    pub fn tag(&self, key: &str) -> Option<Tag<'a>> {
        self.tags().filter(|t| t.key == key).last()
    }

    /// Return the `time` tag a builder set with [`Message::with_time`] (parsing leaves it unset).
    pub fn time(&self) -> Option<Timestamp> {
        self.time
    }

    /// Return the source, if the line had one.
    pub fn source(&self) -> Option<Source<'a>> {
        self.source
    }

    /// Return the command.
    pub fn command(&self) -> Command<'a> {
        self.command
    }

    /// Return the parameters, the trailing one included, without its `:`.
    pub fn params(&self) -> &[&'a str] {
        &self.params[..usize::from(self.len)]
    }

    /// Return parameter `i` (from 0), if there is one.
    pub fn param(&self, i: usize) -> Option<&'a str> {
        self.params().get(i).copied()
    }

    /// Return whether the last parameter was (or will be) written after a `:` by choice.
    ///
    /// `JOIN :#chat` and `JOIN #chat` mean the same; this tells them apart so that a message
    /// is written back as it was read.
    pub fn last_is_trailing(&self) -> bool {
        self.trailing
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::irc::numeric::{ERR_NICKNAMEINUSE, RPL_WELCOME};
    use std::string::String;
    use std::vec::Vec;

    fn parse(s: &str) -> Message<'_> {
        Message::parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn reads_source_command_and_params() {
        let m = parse(":coolguy!ag@net.example PRIVMSG #chat :hello  there ");
        assert_eq!(
            m.source(),
            Some(Source::user("coolguy", "ag", "net.example"))
        );
        assert_eq!(m.command(), Command::Word("PRIVMSG"));
        assert!(m.command().is("privmsg"));
        assert!(!m.command().is("PRIVMS"));
        assert_eq!(m.params(), ["#chat", "hello  there "]);
        assert!(m.last_is_trailing());
        assert_eq!(m.param(0), Some("#chat"));
        assert_eq!(m.param(2), None);
        assert_eq!(m.tags().count(), 0);
    }

    #[test]
    fn the_forms_of_the_last_param() {
        assert_eq!(parse("JOIN :").params(), [""]);
        assert_eq!(parse("JOIN :#chat").params(), ["#chat"]);
        assert_eq!(parse("JOIN #chat").params(), ["#chat"]);
        assert!(!parse("JOIN #chat").last_is_trailing());
        assert_eq!(parse("PRIVMSG x ::)").params(), ["x", ":)"]);
        assert_eq!(parse("PRIVMSG x :a :b").params(), ["x", "a :b"]);
        assert_eq!(parse("AWAY").params(), [] as [&str; 0]);
        assert_eq!(parse("AWAY    ").params(), [] as [&str; 0]);
        // A colon inside a middle param is part of it.
        assert_eq!(
            parse("005 n CHANLIMIT=#&+:10 :ok").params(),
            ["n", "CHANLIMIT=#&+:10", "ok"]
        );
    }

    #[test]
    fn spaces_are_lenient() {
        let m = parse("  :srv   MODE   #c  +o   x  ");
        assert_eq!(m.source().map(|s| s.name), Some("srv"));
        assert_eq!(m.params(), ["#c", "+o", "x"]);
        assert_eq!(parse("PING token").params(), ["token"]);
        assert_eq!(parse("PING token\r").params(), ["token"]);
        assert_eq!(parse(":srv 432  #x :bad nick").params(), ["#x", "bad nick"]);
    }

    #[test]
    fn numerics_are_three_digits() {
        let m = parse(":irc.example.test 001 ana :Welcome");
        assert_eq!(m.command(), Command::Numeric(RPL_WELCOME));
        assert!(m.command().is("001"));
        assert!(!m.command().is("1"));
        assert_eq!(m.command().numeric(), Some(RPL_WELCOME));
        assert_eq!(
            parse("433 * x :in use").command().numeric(),
            Some(ERR_NICKNAMEINUSE)
        );
        for bad in ["01", "0001", "1a1", "PRIV2", "PRIV_MSG", "ÉTÉ", "-"] {
            assert_eq!(
                Message::parse(bad.as_bytes()),
                Err(ParseError::BadCommand),
                "{bad}"
            );
        }
    }

    #[test]
    fn sources_split_at_the_first_bang_and_at() {
        assert_eq!(
            Source::parse("irc.example.test"),
            Source::server("irc.example.test")
        );
        let s = Source::parse("a!b!c@d@e");
        assert_eq!((s.name, s.user, s.host), ("a", Some("b!c"), Some("d@e")));
        let s = Source::parse("a@b!c");
        assert_eq!((s.name, s.user, s.host), ("a", None, Some("b!c")));
        let s = Source::parse("a!");
        assert_eq!((s.name, s.user, s.host), ("a", Some(""), None));
        assert_eq!(std::format!("{s}"), "a!");
        assert_eq!(s.len(), 2);
        // Tabs and formatting codes are not separators.
        let m = parse(":cool\tguy!x@n\x02et\x035w foo bar");
        assert_eq!(m.source().map(|s| s.name), Some("cool\tguy"));
    }

    #[test]
    fn what_is_not_a_message() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"", ParseError::Empty),
            (b"   ", ParseError::Empty),
            (b"\r", ParseError::Empty),
            (b"@a=b", ParseError::NoCommand),
            (b"@a=b   ", ParseError::NoCommand),
            (b":src", ParseError::NoCommand),
            (b"@a :src ", ParseError::NoCommand),
            (b": PRIVMSG x", ParseError::EmptySource),
            (b"@ PING x", ParseError::BadTags),
            (b"@a;;b PING x", ParseError::BadTags),
            (b"@a; PING x", ParseError::BadTags),
            (b"@=v PING x", ParseError::BadTags),
            (b"@+ PING x", ParseError::BadTags),
            (b"@a/ PING x", ParseError::BadTags),
            (b"@/a PING x", ParseError::BadTags),
            (b"@a_b PING x", ParseError::BadTags),
            (b"PRIVMSG x :a\rb", ParseError::ForbiddenByte),
            (b"PRIVMSG x :a\r\r", ParseError::ForbiddenByte),
            (b"PRIVMSG x :a\nb", ParseError::ForbiddenByte),
            (b"PRIVMSG x :a\0b", ParseError::ForbiddenByte),
            (b"PRIVMSG x :caf\xe9", ParseError::NotUtf8),
            (
                b"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
                ParseError::BadCommand,
            ),
            (
                b"A 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
                ParseError::TooManyParams,
            ),
            (
                b"A 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 :16",
                ParseError::TooManyParams,
            ),
        ];
        for (line, err) in cases {
            assert_eq!(
                Message::parse(line),
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        let fifteen = parse("A 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 and more");
        assert_eq!(fifteen.params().len(), 15);
        assert_eq!(fifteen.param(14), Some("15 and more"));
        assert_eq!(
            parse("A 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15  ")
                .params()
                .len(),
            15
        );
    }

    #[test]
    fn the_length_limit_is_the_cores() {
        let mut line = Vec::from(&b"PRIVMSG #chat :"[..]);
        line.resize(MAX_LINE, b'x');
        assert!(Message::parse(&line).is_ok());
        line.push(b'\r');
        assert!(Message::parse(&line).is_ok());
        line.pop();
        line.push(b'x');
        assert_eq!(Message::parse(&line), Err(ParseError::TooLong));
    }

    #[test]
    fn builders_keep_the_last_param_rule() {
        let m = Message::new("PRIVMSG").with_param("#c").with_trailing("hi");
        assert_eq!(m.params(), ["#c", "hi"]);
        assert!(m.last_is_trailing());
        let m = m.with_param("more");
        assert!(!m.last_is_trailing());
        let mut m = Message::new("X");
        for _ in 0..MAX_PARAMS {
            m = m.with_param("p");
        }
        assert!(!m.overflow);
        let m = m.with_trailing("one too many");
        assert!(m.overflow);
        assert!(!m.last_is_trailing());
        assert_eq!(m.params().len(), MAX_PARAMS);
    }
}
