//! The two dialects the benchmark speaks: chatd's protocol and IRC (RFC 2812 client subset).
//!
//! Each adapter turns one server line into an [`Event`] and writes any reply the line calls for
//! (a name after `ASK NAME`, `PONG` after `PING`, `JOIN` after IRC's `001`). The workload itself is
//! the same for both: public messages whose text is a benchmark [`Payload`].
//!
//! chatd's lines are parsed here from `docs/PROTOCOL.md`, not with `chat_core::ServerLine`, on
//! purpose: the benchmark is an independent oracle. A bug shared by the core's renderer and its
//! parser (a field written in the wrong place and read back from the same wrong place) would
//! cancel out if the benchmark used the core's parser, and every garbled line would count as a
//! delivery; read from the documented format, it shows up as a loss or a parse error.

use std::io::Write;

/// Which server dialect to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// chatd's line protocol (docs/PROTOCOL.md).
    Chatd,
    /// IRC: NICK/USER, JOIN one channel, PRIVMSG to it.
    Irc,
}

/// What one server line means to the benchmark.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A public message; the text as the sender wrote it.
    Message(&'a [u8]),
    /// The server accepted the client's name (chatd `WELCOME`, IRC `001`).
    Registered,
    /// This many more members are in the room, the client included (chatd `WHO`, IRC `353`).
    Members(u32),
    /// The client is in the room and has the member list (chatd `WHO`, IRC `366`).
    InRoom,
    /// Someone else joined.
    PeerJoined,
    /// Someone left; the whole line, for the report.
    PeerLeft(&'a [u8]),
    /// The server refused a line of ours; the whole line.
    Refused(&'a [u8]),
    /// The server is closing this connection; the whole line.
    Closing(&'a [u8]),
    /// Anything else.
    Other,
}

/// Split off the first space-separated word of `line`.
fn word(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[]),
    }
}

/// Parse a decimal number made only of ASCII digits.
pub fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0'))
    })
}

impl Protocol {
    /// Write what a client says first, right after connecting.
    pub fn hello(self, name: &str, password: Option<&str>, out: &mut Vec<u8>) {
        if self == Protocol::Irc {
            if let Some(p) = password {
                let _ = write!(out, "PASS {p}\r\n");
            }
            let _ = write!(out, "NICK {name}\r\nUSER {name} 0 * :chat-bench\r\n");
        }
    }

    /// Write one public message with `text` into `out`.
    pub fn message(self, channel: &str, text: &[u8], out: &mut Vec<u8>) {
        match self {
            Protocol::Chatd => {
                out.extend_from_slice(text);
                out.push(b'\n');
            }
            Protocol::Irc => {
                out.extend_from_slice(b"PRIVMSG ");
                out.extend_from_slice(channel.as_bytes());
                out.extend_from_slice(b" :");
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Interpret one server line (without its line end), writing any reply into `out`.
    pub fn on_line<'a>(
        self,
        line: &'a [u8],
        name: &str,
        password: Option<&str>,
        channel: &str,
        out: &mut Vec<u8>,
    ) -> Event<'a> {
        match self {
            Protocol::Chatd => chatd_line(line, name, password, out),
            Protocol::Irc => irc_line(line, name, channel, out),
        }
    }
}

fn chatd_line<'a>(
    line: &'a [u8],
    name: &str,
    password: Option<&str>,
    out: &mut Vec<u8>,
) -> Event<'a> {
    let (kind, rest) = word(line);
    match kind {
        b"MSG" => {
            let (_time, rest) = word(rest);
            let (_from, text) = word(rest);
            Event::Message(text)
        }
        b"ASK" => {
            let (what, _) = word(rest);
            match (what, password) {
                (b"NAME", _) => {
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'\n');
                    Event::Other
                }
                (b"PASSWORD", Some(p)) => {
                    out.extend_from_slice(p.as_bytes());
                    out.push(b'\n');
                    Event::Other
                }
                _ => Event::Refused(line),
            }
        }
        b"WELCOME" => Event::Registered,
        b"WHO" => {
            let (_time, rest) = word(rest);
            let (count, _) = word(rest);
            match parse_u64(count) {
                Some(n) => Event::Members(u32::try_from(n).unwrap_or(u32::MAX)),
                None => Event::Other,
            }
        }
        b"JOIN" => Event::PeerJoined,
        b"LEAVE" => Event::PeerLeft(line),
        b"ERR" => Event::Refused(line),
        b"BYE" | b"SHUTDOWN" => Event::Closing(line),
        _ => Event::Other,
    }
}

fn irc_line<'a>(line: &'a [u8], name: &str, channel: &str, out: &mut Vec<u8>) -> Event<'a> {
    let (prefix, rest) = if line.first() == Some(&b':') {
        word(&line[1..])
    } else {
        (&line[..0], line)
    };
    let (command, params) = word(rest);
    let nick = prefix.split(|&b| b == b'!').next().unwrap_or(prefix);
    match command {
        b"PRIVMSG" => {
            let (_target, rest) = word(params);
            Event::Message(rest.strip_prefix(b":").unwrap_or(rest))
        }
        b"PING" => {
            out.extend_from_slice(b"PONG ");
            out.extend_from_slice(params);
            out.extend_from_slice(b"\r\n");
            Event::Other
        }
        b"001" => {
            let _ = write!(out, "JOIN {channel}\r\n");
            Event::Registered
        }
        b"353" => {
            // :server 353 me = #chan :a b c
            let names = params
                .windows(2)
                .position(|w| w == b" :")
                .map_or(&params[..0], |i| &params[i + 2..]);
            let count = names
                .split(|&b| b == b' ')
                .filter(|n| !n.is_empty())
                .count();
            Event::Members(u32::try_from(count).unwrap_or(u32::MAX))
        }
        b"366" => Event::InRoom,
        b"JOIN" if !nick.eq_ignore_ascii_case(name.as_bytes()) => Event::PeerJoined,
        b"PART" | b"QUIT" | b"KICK" => Event::PeerLeft(line),
        b"ERROR" | b"KILL" => Event::Closing(line),
        // ERR_NOMOTD: a server without a message of the day (chatd) says so; nothing refused.
        b"422" => Event::Other,
        c if c.len() == 3 && (c[0] == b'4' || c[0] == b'5') => Event::Refused(line),
        _ => Event::Other,
    }
}

/// The text of one benchmark message: `cb SENDER SEQ SENT_NS` and optional padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payload {
    /// Index of the sending client.
    pub sender: u32,
    /// Sequence number of the message, from 0.
    pub seq: u32,
    /// When it was sent: nanoseconds since the benchmark's start (its monotonic clock).
    pub sent_ns: u64,
}

impl Payload {
    /// Write the payload text, padded with `x` to at least `len` bytes.
    pub fn write(&self, len: usize, out: &mut Vec<u8>) {
        let start = out.len();
        let _ = write!(out, "cb {} {} {}", self.sender, self.seq, self.sent_ns);
        let used = out.len() - start;
        if used < len {
            out.push(b' ');
            out.resize(start + len, b'x');
        }
    }

    /// Parse a payload text; `None` if it is not one.
    pub fn parse(text: &[u8]) -> Option<Payload> {
        let rest = text.strip_prefix(b"cb ")?;
        let (sender, rest) = word(rest);
        let (seq, rest) = word(rest);
        let (sent, _) = word(rest);
        Some(Payload {
            sender: u32::try_from(parse_u64(sender)?).ok()?,
            seq: u32::try_from(parse_u64(seq)?).ok()?,
            sent_ns: parse_u64(sent)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(p: Protocol, l: &str) -> (String, String) {
        let mut out = Vec::new();
        let ev = p.on_line(l.as_bytes(), "b7", None, "#bench", &mut out);
        (format!("{ev:?}"), String::from_utf8(out).unwrap())
    }

    #[test]
    fn payload_round_trips_with_padding() {
        let p = Payload {
            sender: 12,
            seq: 345,
            sent_ns: 6_789_000,
        };
        let mut out = Vec::new();
        p.write(40, &mut out);
        assert_eq!(out.len(), 40);
        assert!(out.starts_with(b"cb 12 345 6789000 xx"));
        assert_eq!(Payload::parse(&out), Some(p));
        let mut short = Vec::new();
        p.write(0, &mut short);
        assert_eq!(short, b"cb 12 345 6789000");
        assert_eq!(Payload::parse(b"cb 1 x 3"), None);
        assert_eq!(Payload::parse(b"hello"), None);
        assert_eq!(Payload::parse(b"cb 99999999999 1 1"), None);
    }

    #[test]
    fn chatd_join_and_messages() {
        let c = Protocol::Chatd;
        assert_eq!(line(c, "HELLO chatd/1 hi").0, "Other");
        assert_eq!(
            line(c, "ASK NAME Send your name."),
            ("Other".into(), "b7\n".into())
        );
        assert!(line(c, "ASK PASSWORD Send it.").0.starts_with("Refused"));
        assert_eq!(
            line(c, "WELCOME 2026-11-24T14:03:00Z b7 Welcome").0,
            "Registered"
        );
        assert_eq!(line(c, "WHO 2026-11-24T14:03:00Z 3 a b7 c").0, "Members(3)");
        assert_eq!(line(c, "JOIN 2026-11-24T14:03:00Z z").0, "PeerJoined");
        let mut out = Vec::new();
        let ev = c.on_line(
            b"MSG 2026-11-24T14:03:00Z b1 cb 1 2 3",
            "b7",
            None,
            "",
            &mut out,
        );
        assert_eq!(ev, Event::Message(b"cb 1 2 3"));
        assert!(line(c, "BYE flood too many").0.starts_with("Closing"));
        assert!(line(c, "ERR flood slow down").0.starts_with("Refused"));
        assert!(line(c, "LEAVE 2026-11-24T14:03:00Z z slow consumer")
            .0
            .starts_with("PeerLeft"));
        let mut msg = Vec::new();
        c.message("#x", b"cb 1 2 3", &mut msg);
        assert_eq!(msg, b"cb 1 2 3\n");
    }

    #[test]
    fn irc_join_and_messages() {
        let i = Protocol::Irc;
        let mut hello = Vec::new();
        i.hello("b7", None, &mut hello);
        assert_eq!(hello, b"NICK b7\r\nUSER b7 0 * :chat-bench\r\n");
        assert_eq!(
            line(i, ":bench.local 001 b7 :Welcome"),
            ("Registered".into(), "JOIN #bench\r\n".into())
        );
        assert_eq!(
            line(i, "PING :bench.local"),
            ("Other".into(), "PONG :bench.local\r\n".into())
        );
        assert_eq!(
            line(i, ":bench.local 353 b7 = #bench :@b0 b1 b7").0,
            "Members(3)"
        );
        assert_eq!(
            line(i, ":bench.local 366 b7 #bench :End of NAMES list").0,
            "InRoom"
        );
        assert_eq!(line(i, ":b7!~b7@127.0.0.1 JOIN :#bench").0, "Other");
        assert_eq!(line(i, ":B9!~b9@127.0.0.1 JOIN :#bench").0, "PeerJoined");
        let mut out = Vec::new();
        let ev = i.on_line(
            b":b1!~b1@localhost PRIVMSG #bench :cb 1 2 3",
            "b7",
            None,
            "#bench",
            &mut out,
        );
        assert_eq!(ev, Event::Message(b"cb 1 2 3"));
        assert!(line(i, ":bench.local 433 * b7 :Nickname already in use")
            .0
            .starts_with("Refused"));
        // A server without a message of the day (chatd) says so with a numeric in the 400s.
        assert_eq!(line(i, ":chatd 422 b7 :MOTD File is missing").0, "Other");
        assert!(line(i, "ERROR :Closing connection")
            .0
            .starts_with("Closing"));
        let mut msg = Vec::new();
        i.message("#bench", b"cb 1 2 3", &mut msg);
        assert_eq!(msg, b"PRIVMSG #bench :cb 1 2 3\r\n");
    }
}
