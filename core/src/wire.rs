//! The lines the server sends: writing them, and reading them back for clients.
//!
//! Every line starts with its kind word, then fields separated by one space, the last of which
//! is free text (see `docs/PROTOCOL.md`). [`ServerLine`]'s `Display` writes a line without its
//! `\n`; [`ServerLine::parse`] reads one, so `chatc` and the tests share the server's own
//! definition of the protocol. The history file holds the same `HIST` lines: [`Entry::line`]
//! writes one and [`Entry::parse`] reads it back. (What clients send is read by
//! [`crate::commands::Command::parse`] and written by its `Display`.)

use core::fmt;

use crate::history::{Entry, EntryKind};
use crate::names::Name;
use crate::time::Timestamp;

/// The protocol version in the greeting.
pub const VERSION: &str = "chatd/1";

/// The line sent to a connection refused because every slot is taken.
pub const FULL_LINE: &[u8] = b"BYE full The server is full; try again later.\n";

/// The line sent to a connection refused because its address holds as many connections as
/// one address may.
pub const TOO_MANY_LINE: &[u8] =
    b"BYE too-many Too many connections from your address; close one and try again.\n";

/// The line sent to a connection refused because the last free slots are kept for addresses
/// that hold no connection yet, and its address holds one.
pub const RESERVED_LINE: &[u8] = b"BYE too-many The last free slots are kept for new addresses and yours already has a connection; close one and try again.\n";

/// What an `ASK` line waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `ASK PASSWORD`: the server's password, before anything else.
    Password,
    /// `ASK NAME`: a name to join under (asked again after every refused line until joined).
    Name,
}

/// Why a line was refused (`ERR CODE …`); the connection stays up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrCode {
    /// The line was over the limit.
    TooLong,
    /// The line was not UTF-8.
    BadUtf8,
    /// The line held a control character.
    ControlChar,
    /// The name is not a valid name.
    NameInvalid,
    /// The name is in use.
    NameTaken,
    /// No such command.
    UnknownCommand,
    /// Nobody of that name is online.
    NoSuchName,
    /// A command used wrongly.
    Usage,
    /// Over the rate limit.
    Flood,
}

/// Why the server closes a connection (`BYE CODE …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByeCode {
    /// The client asked to leave.
    Quit,
    /// The password was wrong.
    Password,
    /// Too many wrong passwords from this address.
    Throttled,
    /// No free slot.
    Full,
    /// The client's address holds its share of connections (or the table is nearly full and
    /// the last slots are kept for addresses with none).
    TooMany,
    /// No name given in time.
    Timeout,
    /// Kept flooding after a warning.
    Flood,
    /// The connection must be encrypted: plain text on a TLS port, or a plain-text port of a
    /// server that refuses plain text. The text says where TLS is.
    Tls,
}

macro_rules! code_words {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// Return the word used on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            /// Read a word; `None` if this version does not know it.
            pub fn parse(word: &str) -> Option<Self> {
                match word { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}

code_words!(ErrCode {
    TooLong => "too-long", BadUtf8 => "bad-utf8", ControlChar => "control-char",
    NameInvalid => "name-invalid", NameTaken => "name-taken", UnknownCommand => "unknown-command",
    NoSuchName => "no-such-name", Usage => "usage", Flood => "flood",
});

code_words!(ByeCode {
    Quit => "quit", Password => "password", Throttled => "throttled", Full => "full",
    TooMany => "too-many", Timeout => "timeout", Flood => "flood", Tls => "tls",
});

code_words!(EntryKind { Msg => "MSG", Me => "ME" });

/// The code of an `ERR` or `BYE` line as a client reads it: one this version knows, or a word
/// a newer server invented, which a client treats as the general case (an error, a goodbye).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code<'a, C> {
    /// A code this version knows.
    Known(C),
    /// A code word this version does not know, as it was on the wire.
    Other(&'a str),
}

macro_rules! open_code {
    ($($t:ty),*) => {$(
        impl<'a> Code<'a, $t> {
            /// Read a code word; an unknown word is [`Code::Other`], never an error.
            pub fn parse(word: &'a str) -> Self {
                <$t>::parse(word).map_or(Code::Other(word), Code::Known)
            }
            /// Return the word used on the wire.
            pub fn as_str(self) -> &'a str {
                match self { Code::Known(c) => c.as_str(), Code::Other(w) => w }
            }
        }
        impl fmt::Display for Code<'_, $t> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

open_code!(ErrCode, ByeCode);

/// One line from the server, borrowing its text.
///
/// Every `time` is the server's wall clock when the event happened, in whole seconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerLine<'a> {
    /// `HELLO chatd/1 TEXT`: the greeting.
    Hello {
        /// The protocol version, [`VERSION`]; a client may refuse a version it does not speak.
        version: &'a str,
        /// A welcome for people to read.
        text: &'a str,
    },
    /// `ASK PASSWORD|NAME TEXT`: the server waits for this.
    Ask {
        /// What the next line from the client must be.
        what: Ask,
        /// The request, for people to read.
        text: &'a str,
    },
    /// `WELCOME TIME NAME TEXT`: joined.
    Welcome {
        /// When the client joined.
        time: Timestamp,
        /// The name it joined under, as accepted (surrounding blanks removed).
        name: &'a str,
        /// A welcome for people to read.
        text: &'a str,
    },
    /// `WHO TIME COUNT NAMES`: who is online.
    Who {
        /// When the list was taken.
        time: Timestamp,
        /// How many clients are joined, including any left out of `names`.
        count: usize,
        /// Space-separated names, ending in `+N` if `N` did not fit on the line.
        names: &'a str,
    },
    /// `HIST KIND TIME NAME TEXT`: a replayed public message.
    Hist {
        /// Whether it was a message or an action.
        kind: EntryKind,
        /// When it was first said (not when it is replayed).
        time: Timestamp,
        /// Who said it, under the name they had then.
        name: &'a str,
        /// What was said.
        text: &'a str,
    },
    /// `MSG TIME FROM TEXT`: a public message.
    Msg {
        /// When the server received it.
        time: Timestamp,
        /// The sender's current name.
        from: &'a str,
        /// What was said, exactly as sent (spaces kept).
        text: &'a str,
    },
    /// `ME TIME FROM TEXT`: a public action (`/me`).
    Me {
        /// When the server received it.
        time: Timestamp,
        /// The sender's current name.
        from: &'a str,
        /// The action, shown after the name.
        text: &'a str,
    },
    /// `PRIV TIME FROM TO TEXT`: a private message; both ends get it.
    Priv {
        /// When the server received it.
        time: Timestamp,
        /// The sender's current name.
        from: &'a str,
        /// The receiver's name, as the server spells it.
        to: &'a str,
        /// What was said.
        text: &'a str,
    },
    /// `JOIN TIME NAME`: someone joined.
    Join {
        /// When they joined.
        time: Timestamp,
        /// The name they joined under.
        name: &'a str,
    },
    /// `LEAVE TIME NAME REASON`: someone left.
    Leave {
        /// When they left.
        time: Timestamp,
        /// The name they had.
        name: &'a str,
        /// Why: `quit`, `quit: THEIR WORDS`, `connection closed`, `slow consumer`, `flood`, ….
        reason: &'a str,
    },
    /// `NICK TIME OLD NEW`: someone changed name.
    Nick {
        /// When the name changed.
        time: Timestamp,
        /// The name before.
        old: &'a str,
        /// The name from now on.
        new: &'a str,
    },
    /// `INFO TEXT`: a notice (help, replay notes).
    Info {
        /// The notice, for people to read.
        text: &'a str,
    },
    /// `ERR CODE TEXT`: the last line was refused; the connection stays up.
    Err {
        /// Why, for programs; a newer server's unknown code reads as [`Code::Other`].
        code: Code<'a, ErrCode>,
        /// Why, for people to read.
        text: &'a str,
    },
    /// `BYE CODE TEXT`: the server closes this connection.
    Bye {
        /// Why, for programs; a newer server's unknown code reads as [`Code::Other`].
        code: Code<'a, ByeCode>,
        /// Why, for people to read.
        text: &'a str,
    },
    /// `SHUTDOWN TIME TEXT`: the server is going down and closes every connection.
    Shutdown {
        /// When the shutdown began.
        time: Timestamp,
        /// The notice, for people to read.
        text: &'a str,
    },
    /// A line of a kind this version does not know (clients ignore it), whole.
    Unknown(&'a str),
}

/// Why a server line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A known kind is missing a field.
    MissingField,
    /// A time stamp is malformed.
    BadTime,
    /// A field that must be a number or a known word is not.
    BadField,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::MissingField => "a field is missing",
            ParseError::BadTime => "a time stamp is malformed",
            ParseError::BadField => "a field has a bad value",
        })
    }
}

impl core::error::Error for ParseError {}

/// Splits off space-separated fields; the rest is the free text.
struct Fields<'a>(&'a str);

impl<'a> Fields<'a> {
    fn word(&mut self) -> Result<&'a str, ParseError> {
        let (w, rest) = self.0.split_once(' ').unwrap_or((self.0, ""));
        if w.is_empty() {
            return Err(ParseError::MissingField);
        }
        // Names, codes and counts never hold control characters; one that does (say a `\r`
        // ending the last word) would not read back as written.
        if w.chars().any(char::is_control) {
            return Err(ParseError::BadField);
        }
        self.0 = rest;
        Ok(w)
    }
    fn time(&mut self) -> Result<Timestamp, ParseError> {
        Timestamp::parse(self.word()?).map_err(|_| ParseError::BadTime)
    }
    fn rest(self) -> &'a str {
        self.0
    }
}

impl<'a> ServerLine<'a> {
    /// Read one line (without its `\n`; trailing `\r`s are ignored).
    pub fn parse(line: &'a str) -> Result<ServerLine<'a>, ParseError> {
        // All of them, not just one: a text ending in `\r` would not read back as written.
        let line = line.trim_end_matches('\r');
        let mut f = Fields(line);
        let kind = f.word()?;
        Ok(match kind {
            "HELLO" => ServerLine::Hello {
                version: f.word()?,
                text: f.rest(),
            },
            "ASK" => {
                let what = match f.word()? {
                    "PASSWORD" => Ask::Password,
                    "NAME" => Ask::Name,
                    _ => return Err(ParseError::BadField),
                };
                ServerLine::Ask {
                    what,
                    text: f.rest(),
                }
            }
            "WELCOME" => ServerLine::Welcome {
                time: f.time()?,
                name: f.word()?,
                text: f.rest(),
            },
            "WHO" => {
                let time = f.time()?;
                let count = f.word()?.parse().map_err(|_| ParseError::BadField)?;
                ServerLine::Who {
                    time,
                    count,
                    names: f.rest(),
                }
            }
            "HIST" => {
                let kind = EntryKind::parse(f.word()?).ok_or(ParseError::BadField)?;
                ServerLine::Hist {
                    kind,
                    time: f.time()?,
                    name: f.word()?,
                    text: f.rest(),
                }
            }
            "MSG" => ServerLine::Msg {
                time: f.time()?,
                from: f.word()?,
                text: f.rest(),
            },
            "ME" => ServerLine::Me {
                time: f.time()?,
                from: f.word()?,
                text: f.rest(),
            },
            "PRIV" => ServerLine::Priv {
                time: f.time()?,
                from: f.word()?,
                to: f.word()?,
                text: f.rest(),
            },
            "JOIN" => ServerLine::Join {
                time: f.time()?,
                name: f.word()?,
            },
            "LEAVE" => ServerLine::Leave {
                time: f.time()?,
                name: f.word()?,
                reason: f.rest(),
            },
            "NICK" => ServerLine::Nick {
                time: f.time()?,
                old: f.word()?,
                new: f.word()?,
            },
            "INFO" => ServerLine::Info { text: f.rest() },
            "ERR" => ServerLine::Err {
                code: Code::<ErrCode>::parse(f.word()?),
                text: f.rest(),
            },
            "BYE" => ServerLine::Bye {
                code: Code::<ByeCode>::parse(f.word()?),
                text: f.rest(),
            },
            "SHUTDOWN" => ServerLine::Shutdown {
                time: f.time()?,
                text: f.rest(),
            },
            _ => ServerLine::Unknown(line),
        })
    }
}

impl fmt::Display for ServerLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ServerLine::Hello { version, text } => write!(f, "HELLO {version} {text}"),
            ServerLine::Ask { what, text } => {
                let w = match what {
                    Ask::Password => "PASSWORD",
                    Ask::Name => "NAME",
                };
                write!(f, "ASK {w} {text}")
            }
            ServerLine::Welcome { time, name, text } => write!(f, "WELCOME {time} {name} {text}"),
            ServerLine::Who { time, count, names } => write!(f, "WHO {time} {count} {names}"),
            ServerLine::Hist {
                kind,
                time,
                name,
                text,
            } => {
                write!(f, "HIST {} {time} {name} {text}", kind.as_str())
            }
            ServerLine::Msg { time, from, text } => write!(f, "MSG {time} {from} {text}"),
            ServerLine::Me { time, from, text } => write!(f, "ME {time} {from} {text}"),
            ServerLine::Priv {
                time,
                from,
                to,
                text,
            } => write!(f, "PRIV {time} {from} {to} {text}"),
            ServerLine::Join { time, name } => write!(f, "JOIN {time} {name}"),
            ServerLine::Leave { time, name, reason } => write!(f, "LEAVE {time} {name} {reason}"),
            ServerLine::Nick { time, old, new } => write!(f, "NICK {time} {old} {new}"),
            ServerLine::Info { text } => write!(f, "INFO {text}"),
            ServerLine::Err { code, text } => write!(f, "ERR {code} {text}"),
            ServerLine::Bye { code, text } => write!(f, "BYE {code} {text}"),
            ServerLine::Shutdown { time, text } => write!(f, "SHUTDOWN {time} {text}"),
            ServerLine::Unknown(line) => f.write_str(line),
        }
    }
}

/// Return whether `text` holds a control character other than tab, which no line carries.
pub(crate) fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\t')
}

impl Entry {
    /// Return the `HIST` line that replays this entry to newcomers; written out (`Display`,
    /// plus `\n`), it is also the entry's line in the daemon's history file.
    pub fn line(&self) -> ServerLine<'_> {
        ServerLine::Hist {
            kind: self.kind,
            time: self.time,
            name: self.name.as_str(),
            text: &self.text,
        }
    }

    /// Read an entry back from its `HIST` line (as [`Entry::line`] writes it, without `\n`),
    /// checking it as the server checks what a client says: a saved file may have been edited.
    /// Another kind of line, a control character, a bad name or an over-long text is a
    /// [`ParseError::BadField`].
    pub fn parse(line: &str) -> Result<Entry, ParseError> {
        if has_control(line) {
            return Err(ParseError::BadField);
        }
        let ServerLine::Hist {
            kind,
            time,
            name,
            text,
        } = ServerLine::parse(line)?
        else {
            return Err(ParseError::BadField);
        };
        let name = Name::new(name).map_err(|_| ParseError::BadField)?;
        Entry::new(kind, time, name, text).ok_or(ParseError::BadField)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::format;
    use std::string::ToString;

    const T: Timestamp = Timestamp(1_795_961_585);

    fn samples() -> [ServerLine<'static>; 15] {
        [
            ServerLine::Hello {
                version: VERSION,
                text: "Welcome to chatd.",
            },
            ServerLine::Ask {
                what: Ask::Password,
                text: "Send the password.",
            },
            ServerLine::Welcome {
                time: T,
                name: "Ana",
                text: "Welcome, Ana!",
            },
            ServerLine::Who {
                time: T,
                count: 2,
                names: "Ana Bruno",
            },
            ServerLine::Hist {
                kind: EntryKind::Me,
                time: T,
                name: "Ana",
                text: "dança",
            },
            ServerLine::Msg {
                time: T,
                from: "Ana",
                text: "Oi  pessoal ",
            },
            ServerLine::Me {
                time: T,
                from: "Ana",
                text: "acena",
            },
            ServerLine::Priv {
                time: T,
                from: "Ana",
                to: "Bruno",
                text: "psst",
            },
            ServerLine::Join {
                time: T,
                name: "Carla",
            },
            ServerLine::Leave {
                time: T,
                name: "Carla",
                reason: "quit: até",
            },
            ServerLine::Nick {
                time: T,
                old: "Carla",
                new: "Carol",
            },
            ServerLine::Info {
                text: "hello there",
            },
            ServerLine::Err {
                code: Code::Known(ErrCode::NameTaken),
                text: "Ana is taken.",
            },
            ServerLine::Bye {
                code: Code::Known(ByeCode::Quit),
                text: "Goodbye.",
            },
            ServerLine::Shutdown {
                time: T,
                text: "chatd is shutting down.",
            },
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        for line in samples() {
            let s = line.to_string();
            assert_eq!(ServerLine::parse(&s), Ok(line), "{s}");
        }
    }

    #[test]
    fn writes_the_documented_shape() {
        let s = ServerLine::Msg {
            time: T,
            from: "Ana",
            text: "Oi",
        }
        .to_string();
        assert_eq!(s, "MSG 2026-11-29T14:13:05Z Ana Oi");
        let s = ServerLine::Priv {
            time: T,
            from: "Ana",
            to: "Bruno",
            text: "x y",
        }
        .to_string();
        assert_eq!(s, "PRIV 2026-11-29T14:13:05Z Ana Bruno x y");
    }

    #[test]
    fn unknown_kinds_parse_as_unknown_and_bad_fields_are_errors() {
        assert_eq!(
            ServerLine::parse("PING 123"),
            Ok(ServerLine::Unknown("PING 123"))
        );
        assert_eq!(
            ServerLine::parse("MSG yesterday Ana hi"),
            Err(ParseError::BadTime)
        );
        assert_eq!(ServerLine::parse("JOIN"), Err(ParseError::MissingField));
        assert_eq!(
            ServerLine::parse("ASK COFFEE now"),
            Err(ParseError::BadField)
        );
        assert_eq!(ServerLine::parse(""), Err(ParseError::MissingField));
        assert_eq!(
            ServerLine::parse("INFO hi\r"),
            Ok(ServerLine::Info { text: "hi" })
        );
    }

    #[test]
    fn trailing_carriage_returns_do_not_break_the_round_trip() {
        // Found by the server_line_parse fuzz target.
        for s in [
            "INFO hi\r\r",
            "PING\r\r\r",
            "PRIV 2026-11-24T14:03:20Z Bruno Ana x\r\r",
        ] {
            let line = ServerLine::parse(s).unwrap();
            assert_eq!(ServerLine::parse(&line.to_string()), Ok(line), "{s:?}");
        }
        assert_eq!(
            ServerLine::parse("INFO hi\r\r"),
            Ok(ServerLine::Info { text: "hi" })
        );
    }

    #[test]
    fn control_characters_in_a_word_field_are_refused() {
        // Found by the server_line_parse fuzz target: the name `x\r` wrote back as `x`.
        assert_eq!(
            ServerLine::parse("JOIN 2026-11-24T14:03:00Z x\r \r20"),
            Err(ParseError::BadField)
        );
        assert_eq!(
            ServerLine::parse("NICK 2026-11-24T14:03:00Z a b\u{1b}"),
            Err(ParseError::BadField)
        );
        // Free text may hold anything but a trailing CR.
        assert_eq!(
            ServerLine::parse("INFO a\u{1b}b"),
            Ok(ServerLine::Info { text: "a\u{1b}b" })
        );
    }

    #[test]
    fn unknown_codes_from_a_newer_server_still_parse() {
        let line = ServerLine::parse("BYE maintenance Back in five minutes.").unwrap();
        let ServerLine::Bye { code, text } = line else {
            panic!("not a BYE: {line:?}");
        };
        assert_eq!(code, Code::Other("maintenance"));
        assert!(!matches!(code, Code::Known(ByeCode::Quit)));
        assert_eq!(code.to_string(), "maintenance");
        assert_eq!(text, "Back in five minutes.");
        assert_eq!(line.to_string(), "BYE maintenance Back in five minutes.");
        let line = ServerLine::parse("ERR too-shy Say something.").unwrap();
        assert!(matches!(
            line,
            ServerLine::Err {
                code: Code::Other("too-shy"),
                ..
            }
        ));
        let line = ServerLine::parse("BYE quit Goodbye.").unwrap();
        assert!(
            matches!(line, ServerLine::Bye { code, .. } if matches!(code, Code::Known(ByeCode::Quit)))
        );
    }

    #[test]
    fn entries_round_trip_through_their_hist_line() {
        let name = Name::new("Ana").unwrap();
        for (kind, text) in [
            (EntryKind::Msg, " oi  tab\there "),
            (EntryKind::Me, "dança"),
        ] {
            let e = Entry::new(kind, T, name.clone(), text).unwrap();
            let s = e.line().to_string();
            assert!(s.starts_with("HIST "), "{s}");
            assert_eq!(Entry::parse(&s), Ok(e));
        }
    }

    #[test]
    fn bad_history_lines_are_refused() {
        let t = "2026-11-24T14:03:05Z";
        let long = "x".repeat(crate::config::MAX_LINE + 1);
        for bad in [
            format!("HIST MSG {t} Ana a\u{1b}[2J"),
            format!("MSG {t} Ana hi"),
            "garbage".into(),
            format!("HIST MSG {t} /ana hi"),
            format!("HIST ME {t} Ana {long}"),
        ] {
            assert_eq!(Entry::parse(&bad), Err(ParseError::BadField), "{bad}");
        }
        assert_eq!(Entry::parse(""), Err(ParseError::MissingField));
        assert_eq!(
            Entry::parse(&format!("HIST MSG {t}")),
            Err(ParseError::MissingField)
        );
    }

    #[test]
    fn code_words_round_trip() {
        for c in [ErrCode::TooLong, ErrCode::Flood, ErrCode::NoSuchName] {
            assert_eq!(ErrCode::parse(c.as_str()), Some(c));
        }
        for c in [
            ByeCode::Quit,
            ByeCode::Full,
            ByeCode::Throttled,
            ByeCode::TooMany,
            ByeCode::Tls,
        ] {
            assert_eq!(ByeCode::parse(c.as_str()), Some(c));
        }
        for k in [EntryKind::Msg, EntryKind::Me] {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EntryKind::parse("PRIV"), None);
        assert!(FULL_LINE.starts_with(b"BYE full "));
    }
}
