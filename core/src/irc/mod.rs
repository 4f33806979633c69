//! The IRC wire format: reading client lines and writing server lines, without allocating.
//!
//! This is the layer the IRC side of chatd stands on, in the smoltcp style: a parsed value
//! borrowing the input, an emitter writing into the caller's fixed buffer, typed errors, and
//! no panic on any input. It knows the grammar of a line, not what a command does.
//!
//! - [`Message::parse`] reads one client line (up to [`crate::config::MAX_LINE`] bytes,
//!   without its `\n`) into tags, [`Source`], [`Command`] and up to [`MAX_PARAMS`]
//!   parameters, or says why it is not a message ([`ParseError`]).
//! - [`Message::new`] and its `with_*` builders make a server line; [`Message::emit`] writes
//!   it with its CRLF into any [`core::fmt::Write`] (a `heapless::String<N>`), with an
//!   optional IRCv3 `server-time` tag, refusing a line that would break the grammar or exceed
//!   [`MAX_IRC_LINE`] ([`EmitError`]). A parsed line emits back byte-identically, extra
//!   spaces and a final `\r` aside.
//! - [`SplitText`] cuts a native text too long for one IRC line into pieces that each fit,
//!   at UTF-8 boundaries, preferring spaces, losing nothing.
//! - [`Ctcp`] reads and writes CTCP (`ACTION` is `/me`); [`strip_formatting`] removes IRC
//!   formatting codes and control characters, which the native protocol does not allow.
//! - [`numeric`] names the reply codes ([`numeric::RPL_WELCOME`], …).
//!
//! ```
//! use chat_core::irc::{numeric, Message, Source};
//!
//! let m = Message::parse(b"PRIVMSG #chat :hello there\r").unwrap();
//! assert!(m.command().is("privmsg"));
//! assert_eq!(m.params(), ["#chat", "hello there"]);
//!
//! let mut out: heapless::String<512> = heapless::String::new();
//! Message::new(numeric::RPL_WELCOME)
//!     .with_source(Source::server("chatd"))
//!     .with_param("ana")
//!     .with_trailing("Welcome to chatd")
//!     .emit(&mut out)
//!     .unwrap();
//! assert_eq!(out, ":chatd 001 ana :Welcome to chatd\r\n");
//! ```

use core::fmt;

mod ctcp;
mod emit;
mod format;
mod message;
pub mod numeric;
mod split;
mod tags;

pub use ctcp::{Ctcp, ACTION_OVERHEAD};
pub use emit::EmitError;
pub use format::{is_plain, plain_runs, strip_formatting, PlainRuns};
pub use message::{Command, Message, ParseError, Source, MAX_PARAMS};
pub use numeric::Numeric;
pub use split::{BudgetTooSmall, SplitText, MIN_TEXT_BUDGET};
pub use tags::{Tag, Tags};

/// Largest IRC line the server writes, CRLF included, tags not counted (RFC 1459's 512).
pub const MAX_IRC_LINE: usize = 512;

/// The line written to an IRC connection refused because every slot is taken, before it is
/// closed: the IRC twin of [`crate::wire::FULL_LINE`].
pub const FULL_LINE: &[u8] = b"ERROR :Closing link: server full\r\n";

/// The line written to an IRC connection refused because its address holds as many
/// connections as one may: the IRC twin of [`crate::wire::TOO_MANY_LINE`].
pub const TOO_MANY_LINE: &[u8] =
    b"ERROR :Closing link: Too many connections from your address; close one and try again.\r\n";

/// The line written to an IRC connection refused because the last free slots are kept for
/// addresses with none: the IRC twin of [`crate::wire::RESERVED_LINE`].
pub const RESERVED_LINE: &[u8] = b"ERROR :Closing link: The last free slots are kept for new addresses and yours already has a connection; close one and try again.\r\n";

/// An `ERROR :Closing link: TEXT` line with its CR LF, for a connection the daemon turns away
/// with words of its own before the core has it (TLS required, or plain text on a TLS port):
/// the IRC twin of a `BYE tls` line. `TEXT` must hold no CR or LF.
#[derive(Debug, Clone, Copy)]
pub struct ClosingLink<'a>(pub &'a str);

impl core::fmt::Display for ClosingLink<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ERROR :Closing link: {}\r\n", self.0)
    }
}

/// Largest tags section the server writes, its `@` and final space included (IRCv3).
pub const MAX_TAGS_LEN: usize = 8191;

/// The caller's buffer was too small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferFull;

impl fmt::Display for BufferFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the buffer is full")
    }
}

impl core::error::Error for BufferFull {}

#[cfg(test)]
mod tests;
