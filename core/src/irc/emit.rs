//! Writing a [`Message`] as a server line, into the caller's buffer.
//!
//! A line is `[@tags ][:source ]COMMAND[ params]\r\n`. Every part is checked before the first
//! byte is written, so a refused message writes nothing; only a full buffer
//! ([`EmitError::BufferFull`]) can leave part of a line behind, which the caller drops.
//!
//! A parameter holding NUL, CR or LF is refused ([`EmitError::ForbiddenByte`]), never cut or
//! rewritten: one would end the line early and let its sender forge the next one, and chatd's
//! own text never holds them (the native protocol forbids control characters), so meeting one
//! is a bug worth an error. The last parameter gets a `:` when it must (empty, holding a space,
//! starting with `:`) or when it was made with [`Message::with_trailing`].

use core::fmt::{self, Write};

use super::message::{Command, Message, Source};
use super::tags::valid_tags;
use super::{MAX_IRC_LINE, MAX_TAGS_LEN};

/// Why a message could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitError {
    /// A part holds a NUL, CR or LF.
    ForbiddenByte,
    /// The raw tags are not a valid tags section.
    BadTags,
    /// The source is empty, holds a space, or would not read back as the same parts.
    BadSource,
    /// A command word is empty or holds something other than ASCII letters.
    BadCommand,
    /// A parameter before the last is empty, holds a space or starts with `:`.
    BadParam,
    /// More than [`super::MAX_PARAMS`] parameters.
    TooManyParams,
    /// The line without its tags would be longer than [`MAX_IRC_LINE`] bytes with its CRLF.
    TooLong,
    /// The tags section would be longer than [`MAX_TAGS_LEN`] bytes.
    TagsTooLong,
    /// The buffer refused the bytes (it is full); it may hold part of the line.
    BufferFull,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmitError::ForbiddenByte => "a part holds a NUL, CR or LF",
            EmitError::BadTags => "the tags are malformed",
            EmitError::BadSource => "the source is malformed",
            EmitError::BadCommand => "the command is not a word",
            EmitError::BadParam => "a parameter before the last is empty or holds a space",
            EmitError::TooManyParams => "there are more than 15 parameters",
            EmitError::TooLong => "the line is longer than 512 bytes",
            EmitError::TagsTooLong => "the tags are longer than 8191 bytes",
            EmitError::BufferFull => "the buffer is full",
        })
    }
}

impl core::error::Error for EmitError {}

/// Counts what would be written.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

fn forbidden(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n'))
}

fn check_source(s: &Source<'_>) -> Result<(), EmitError> {
    let parts = [Some(s.name), s.user, s.host];
    if parts.iter().flatten().any(|p| forbidden(p)) {
        return Err(EmitError::ForbiddenByte);
    }
    if s.is_empty()
        || parts.iter().flatten().any(|p| p.contains(' '))
        || s.name.contains(['!', '@'])
        || s.user.is_some_and(|u| u.contains('@'))
    {
        return Err(EmitError::BadSource);
    }
    Ok(())
}

impl Message<'_> {
    /// Check every part; the order of the checks decides which error a message gets.
    fn check(&self) -> Result<(), EmitError> {
        if self.overflow {
            return Err(EmitError::TooManyParams);
        }
        if let Some(t) = self.tags {
            if forbidden(t) {
                return Err(EmitError::ForbiddenByte);
            }
            if t.contains(' ') || !valid_tags(t) {
                return Err(EmitError::BadTags);
            }
        }
        if let Some(s) = &self.source {
            check_source(s)?;
        }
        if let Command::Word(w) = self.command {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(EmitError::BadCommand);
            }
        }
        let params = self.params();
        if params.iter().any(|p| forbidden(p)) {
            return Err(EmitError::ForbiddenByte);
        }
        let middles = params.len().saturating_sub(1);
        if params[..middles]
            .iter()
            .any(|p| p.is_empty() || p.starts_with(':') || p.contains(' '))
        {
            return Err(EmitError::BadParam);
        }
        Ok(())
    }

    fn write_tags<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        if self.time.is_none() && self.tags.is_none() {
            return Ok(());
        }
        w.write_char('@')?;
        if let Some(t) = self.time {
            let (y, mo, d, h, mi, s) = t.civil();
            write!(w, "time={y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")?;
            if self.tags.is_some() {
                w.write_char(';')?;
            }
        }
        if let Some(t) = self.tags {
            w.write_str(t)?;
        }
        w.write_char(' ')
    }

    fn write_body<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        if let Some(s) = &self.source {
            write!(w, ":{s} ")?;
        }
        match self.command {
            Command::Word(c) => w.write_str(c)?,
            Command::Numeric(n) => write!(w, "{n}")?,
        }
        let params = self.params();
        for (i, p) in params.iter().enumerate() {
            let last = i + 1 == params.len();
            let colon =
                last && (self.trailing || p.is_empty() || p.starts_with(':') || p.contains(' '));
            w.write_str(if colon { " :" } else { " " })?;
            w.write_str(p)?;
        }
        w.write_str("\r\n")
    }

    /// Return how many bytes the line takes without its tags, CRLF included.
    ///
    /// Fails as [`Message::emit`] would, except that a line over [`MAX_IRC_LINE`] is measured
    /// rather than refused.
    pub fn body_len(&self) -> Result<usize, EmitError> {
        self.check()?;
        let mut n = Counter(0);
        // A counter never fails.
        let _ = self.write_body(&mut n);
        Ok(n.0)
    }

    /// Return how many bytes of text a trailing parameter appended to this message may hold
    /// with the line staying within [`MAX_IRC_LINE`].
    ///
    /// Build the fixed part of a line without its text
    /// (`Message::new("PRIVMSG").with_source(..).with_param("#chat")`), pass the budget to
    /// [`super::SplitText::new`], and emit `fixed.with_trailing(piece)` for each piece.
    pub fn text_budget(&self) -> Result<usize, EmitError> {
        if self.params().len() == super::MAX_PARAMS {
            return Err(EmitError::TooManyParams);
        }
        // The text goes after " :".
        MAX_IRC_LINE
            .checked_sub(self.body_len()? + 2)
            .ok_or(EmitError::TooLong)
    }

    /// Write the line, CRLF included, and return how many bytes were written.
    ///
    /// Works with any [`core::fmt::Write`], for instance a `heapless::String<N>`; see the
    /// module documentation for what is refused.
    pub fn emit<W: Write + ?Sized>(&self, out: &mut W) -> Result<usize, EmitError> {
        let body = self.body_len()?;
        if body > MAX_IRC_LINE {
            return Err(EmitError::TooLong);
        }
        let mut tags = Counter(0);
        let _ = self.write_tags(&mut tags);
        if tags.0 > MAX_TAGS_LEN {
            return Err(EmitError::TagsTooLong);
        }
        self.write_tags(out).map_err(|_| EmitError::BufferFull)?;
        self.write_body(out).map_err(|_| EmitError::BufferFull)?;
        Ok(tags.0 + body)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::irc::numeric::{ERR_NICKNAMEINUSE, RPL_NAMREPLY, RPL_TOPICWHOTIME, RPL_WELCOME};
    use crate::time::Timestamp;
    use std::string::String;

    const SERVER: Source<'static> = Source::server("irc.example.test");

    fn emit(m: &Message<'_>) -> Result<String, EmitError> {
        let mut s = String::new();
        let n = m.emit(&mut s)?;
        assert_eq!(n, s.len());
        Ok(s)
    }

    #[test]
    fn writes_server_lines_as_clients_expect_them() {
        let m = Message::new(RPL_WELCOME)
            .with_source(SERVER)
            .with_param("ana")
            .with_trailing("Welcome to chatd ana!~ana@127.0.0.1");
        assert_eq!(
            emit(&m).as_deref(),
            Ok(":irc.example.test 001 ana :Welcome to chatd ana!~ana@127.0.0.1\r\n")
        );
        let m = Message::new(RPL_TOPICWHOTIME)
            .with_source(SERVER)
            .with_param("ana")
            .with_param("#chat")
            .with_param("-Server-")
            .with_param("1796133910");
        assert_eq!(
            emit(&m).as_deref(),
            Ok(":irc.example.test 333 ana #chat -Server- 1796133910\r\n")
        );
        let m = Message::new(RPL_NAMREPLY)
            .with_source(SERVER)
            .with_param("ana")
            .with_param("=")
            .with_param("#chat")
            .with_param("ana obs");
        assert_eq!(
            emit(&m).as_deref(),
            Ok(":irc.example.test 353 ana = #chat :ana obs\r\n")
        );
        let m = Message::new("PRIVMSG")
            .with_source(Source::user("obs", "~obs", "127.0.0.1"))
            .with_param("#chat")
            .with_param("hi");
        assert_eq!(
            emit(&m).as_deref(),
            Ok(":obs!~obs@127.0.0.1 PRIVMSG #chat hi\r\n")
        );
        let m = Message::new("ERROR").with_trailing("\"bye\"");
        assert_eq!(emit(&m).as_deref(), Ok("ERROR :\"bye\"\r\n"));
        assert_eq!(emit(&Message::new("PING")).as_deref(), Ok("PING\r\n"));
    }

    #[test]
    fn the_last_param_gets_a_colon_when_it_must() {
        let line = |p: &'static str| emit(&Message::new("X").with_param("a").with_param(p));
        assert_eq!(line("b").as_deref(), Ok("X a b\r\n"));
        assert_eq!(line("").as_deref(), Ok("X a :\r\n"));
        assert_eq!(line("b c").as_deref(), Ok("X a :b c\r\n"));
        assert_eq!(line(":)").as_deref(), Ok("X a ::)\r\n"));
        assert_eq!(line("b:c").as_deref(), Ok("X a b:c\r\n"));
        let m = Message::new("JOIN").with_trailing("#chat");
        assert_eq!(emit(&m).as_deref(), Ok("JOIN :#chat\r\n"));
    }

    #[test]
    fn server_time_is_a_tag_with_milliseconds() {
        let m = Message::new("PRIVMSG")
            .with_time(Timestamp(1_795_961_585))
            .with_source(Source::user("ana", "ana", "h"))
            .with_param("#chat")
            .with_trailing("old news");
        let s = emit(&m);
        assert_eq!(
            s.as_deref(),
            Ok("@time=2026-11-29T14:13:05.000Z :ana!ana@h PRIVMSG #chat :old news\r\n")
        );
        let back = s.map(|s| {
            let p = Message::parse(s.trim_end().as_bytes()).map(|p| p.tag("time"));
            std::format!("{p:?}")
        });
        assert_eq!(
            back.as_deref(),
            Ok("Ok(Some(Tag { key: \"time\", raw_value: \"2026-11-29T14:13:05.000Z\" }))")
        );
        // Parsed tags are written back after the time.
        let p = Message::parse(b"@a=1;b PING x");
        let m = p.map(|p| p.with_time(Timestamp(0)));
        assert_eq!(
            m.map(|m| emit(&m)),
            Ok(Ok(String::from(
                "@time=1970-01-01T00:00:00.000Z;a=1;b PING x\r\n"
            )))
        );
    }

    #[test]
    fn nul_cr_and_lf_are_refused_anywhere() {
        let cases = [
            Message::new("PRIVMSG")
                .with_param("#c")
                .with_trailing("evil\r\nQUIT :x"),
            Message::new("PRIVMSG")
                .with_param("#c")
                .with_trailing("a\nb"),
            Message::new("PRIVMSG")
                .with_param("#c\0")
                .with_trailing("a"),
            Message::new("PRIVMSG").with_source(Source::user("a", "b\r", "c")),
            Message::new("PRIVMSG").with_source(Source::server("a\n")),
        ];
        for m in cases {
            let mut s = String::new();
            assert_eq!(m.emit(&mut s), Err(EmitError::ForbiddenByte), "{m:?}");
            assert_eq!(s, "", "nothing is written");
        }
    }

    #[test]
    fn malformed_parts_are_refused() {
        let cases = [
            (Message::new("PRIV MSG"), EmitError::BadCommand),
            (Message::new(""), EmitError::BadCommand),
            (Message::new("001"), EmitError::BadCommand),
            (
                Message::new("X").with_param("a b").with_param("c"),
                EmitError::BadParam,
            ),
            (
                Message::new("X").with_param("").with_param("c"),
                EmitError::BadParam,
            ),
            (
                Message::new("X").with_param(":a").with_param("c"),
                EmitError::BadParam,
            ),
            (
                Message::new("X").with_source(Source::server("")),
                EmitError::BadSource,
            ),
            (
                Message::new("X").with_source(Source::server("a b")),
                EmitError::BadSource,
            ),
            (
                Message::new("X").with_source(Source::user("a!b", "c", "d")),
                EmitError::BadSource,
            ),
            (
                Message::new("X").with_source(Source::user("a", "c@", "d")),
                EmitError::BadSource,
            ),
        ];
        for (m, err) in cases {
            assert_eq!(emit(&m), Err(err), "{m:?}");
        }
        let mut m = Message::new("X");
        for _ in 0..16 {
            m = m.with_param("p");
        }
        assert_eq!(emit(&m), Err(EmitError::TooManyParams));
        let mut m = Message::new("X");
        m.tags = Some("a b");
        assert_eq!(emit(&m), Err(EmitError::BadTags));
        m.tags = Some("");
        assert_eq!(emit(&m), Err(EmitError::BadTags));
    }

    #[test]
    fn a_line_over_512_bytes_is_refused_and_the_budget_says_so() {
        let fixed = Message::new("PRIVMSG")
            .with_source(Source::user("ana", "~ana", "127.0.0.1"))
            .with_param("#chat");
        // ":ana!~ana@127.0.0.1 PRIVMSG #chat" is 33 bytes, then " :" and CRLF.
        assert_eq!(fixed.body_len(), Ok(35));
        assert_eq!(fixed.text_budget(), Ok(512 - 37));
        let text = "x".repeat(512 - 37);
        let full = fixed.with_trailing(&text);
        assert_eq!(emit(&full).map(|s| s.len()), Ok(512));
        assert_eq!(full.text_budget(), Err(EmitError::TooLong));
        let text = "x".repeat(512 - 36);
        let over = fixed.with_trailing(&text);
        assert_eq!(emit(&over), Err(EmitError::TooLong));
        assert_eq!(over.body_len(), Ok(513));
        // Tags have a budget of their own.
        let tagged = full.with_time(Timestamp(0));
        assert_eq!(emit(&tagged).map(|s| s.len()), Ok(512 + 31));
        // A short text, and no room for a text at all.
        assert_eq!(Message::new("X").text_budget(), Ok(512 - 5));
        let mut m = Message::new("X");
        for _ in 0..crate::irc::MAX_PARAMS {
            m = m.with_param("p");
        }
        assert_eq!(m.text_budget(), Err(EmitError::TooManyParams));
        let long = "y".repeat(507);
        assert_eq!(
            Message::new("X").with_param(&long).text_budget(),
            Err(EmitError::TooLong)
        );
    }

    #[test]
    fn the_tags_budget_is_enforced() {
        let long = std::format!("a={}", "v".repeat(MAX_TAGS_LEN));
        let mut m = Message::new("X");
        m.tags = Some(&long);
        assert_eq!(emit(&m), Err(EmitError::TagsTooLong));
        let ok = std::format!("a={}", "v".repeat(MAX_TAGS_LEN - 4));
        m.tags = Some(&ok);
        assert_eq!(emit(&m).map(|s| s.len()), Ok(MAX_TAGS_LEN + 3));
    }

    #[test]
    fn a_full_buffer_is_an_error_not_a_panic() {
        let m = Message::new(ERR_NICKNAMEINUSE)
            .with_source(SERVER)
            .with_param("*")
            .with_param("ana")
            .with_trailing("Nickname is already in use");
        let mut small: heapless::String<16> = heapless::String::new();
        assert_eq!(m.emit(&mut small), Err(EmitError::BufferFull));
        let mut enough: heapless::String<512> = heapless::String::new();
        assert_eq!(m.emit(&mut enough), Ok(enough.len()));
        assert_eq!(
            enough.as_str(),
            ":irc.example.test 433 * ana :Nickname is already in use\r\n"
        );
    }
}
