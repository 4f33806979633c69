//! Listen mode (`--listen`): print every line received, one per line, until the server shuts
//! down.
//!
//! # Format
//!
//! Each line is `TIME KIND DETAILS`: `TIME` is the server's UTC stamp (`2026-11-24T14:03:05Z`)
//! when the line carries one, else the time chatc received it; `KIND` is the protocol's kind
//! word; all text is cleaned of control characters. The lines are:
//!
//! ```text
//! TIME HELLO VERSION TEXT
//! TIME WELCOME NAME TEXT
//! TIME WHO COUNT NAME...
//! TIME HIST MSG <NAME> TEXT        (replayed history; not repeated after a reconnection)
//! TIME HIST ME * NAME TEXT
//! TIME MSG <NAME> TEXT
//! TIME ME * NAME TEXT
//! TIME PRIV *FROM* -> TO: TEXT
//! TIME JOIN NAME
//! TIME LEAVE NAME REASON
//! TIME NICK OLD -> NEW
//! TIME INFO TEXT
//! TIME ERR CODE TEXT
//! TIME BYE CODE TEXT
//! TIME SHUTDOWN TEXT
//! ```
//!
//! Lines of kinds chatc does not know are skipped. chatc's own notices (connection lost,
//! reconnected) go to standard error, so standard output holds only what the server said.
//! chatc exits 0 after `SHUTDOWN`, reconnects (with backoff) when the connection drops
//! without one, and exits 1 when the server closes it with `BYE` for another reason.

use std::io::{self, Write};

use chat_core::history::EntryKind;
use chat_core::wire::ErrCode;
use chat_core::{ServerLine, Timestamp};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};

use crate::clock;
use crate::connection::{Asker, Login, NoAsker, Target};
use crate::error::Error;
use crate::link::{farewell, AfterShutdown, Incoming, Link};
use crate::sanitize::clean;
use crate::seen::Seen;
use crate::signals::Signals;
use crate::terminal;

/// Return the listen-mode line for `line`, received at `now`, or `None` to skip it.
pub fn format(line: &ServerLine<'_>, now: Timestamp) -> Option<String> {
    let c = clean;
    let s = match *line {
        ServerLine::Hello { version, text } => format!("{now} HELLO {} {}", c(version), c(text)),
        ServerLine::Welcome { time, name, text } => {
            format!("{time} WELCOME {} {}", c(name), c(text))
        }
        ServerLine::Who { time, count, names } => format!("{time} WHO {count} {}", c(names)),
        ServerLine::Hist {
            kind: EntryKind::Msg,
            time,
            name,
            text,
        } => {
            format!("{time} HIST MSG <{}> {}", c(name), c(text))
        }
        ServerLine::Hist {
            kind: EntryKind::Me,
            time,
            name,
            text,
        } => {
            format!("{time} HIST ME * {} {}", c(name), c(text))
        }
        ServerLine::Msg { time, from, text } => format!("{time} MSG <{}> {}", c(from), c(text)),
        ServerLine::Me { time, from, text } => format!("{time} ME * {} {}", c(from), c(text)),
        ServerLine::Priv {
            time,
            from,
            to,
            text,
        } => {
            format!("{time} PRIV *{}* -> {}: {}", c(from), c(to), c(text))
        }
        ServerLine::Join { time, name } => format!("{time} JOIN {}", c(name)),
        ServerLine::Leave { time, name, reason } => {
            format!("{time} LEAVE {} {}", c(name), c(reason))
        }
        ServerLine::Nick { time, old, new } => format!("{time} NICK {} -> {}", c(old), c(new)),
        ServerLine::Info { text } => format!("{now} INFO {}", c(text)),
        ServerLine::Err { code, text } => format!("{now} ERR {} {}", c(code.as_str()), c(text)),
        ServerLine::Bye { code, text } => format!("{now} BYE {} {}", c(code.as_str()), c(text)),
        ServerLine::Shutdown { time, text } => format!("{time} SHUTDOWN {}", c(text)),
        ServerLine::Ask { .. } | ServerLine::Unknown(_) => return None,
    };
    Some(s.trim_end().to_string())
}

/// Asks for a password on the terminal if stdin is one; never for another name.
struct ListenAsker<'a> {
    signals: &'a Signals,
}

impl Asker for ListenAsker<'_> {
    fn password(&mut self) -> Result<String, Error> {
        if !terminal::stdin_is_tty() {
            return Err(Error::NeedPassword);
        }
        Ok(terminal::prompt("Password: ", false, Some(self.signals))?)
    }
    fn rename(&mut self, name: &str, code: ErrCode, why: &str) -> Result<String, Error> {
        NoAsker.rename(name, code, why)
    }
}

/// Run listen mode until the server shuts down.
pub fn run(target: &Target, login: Login, signals: &Signals) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    let mut seen = Seen::default();
    let mut link = Link::join(
        target,
        login,
        &mut ListenAsker { signals },
        AfterShutdown::Stop,
    )?;
    loop {
        while let Some(incoming) = link.next() {
            match incoming {
                Incoming::Line(raw) => {
                    if let Some(end) = print(&mut out, &raw, &mut seen)? {
                        return end;
                    }
                }
                Incoming::Lost { why, .. } => eprintln!("chatc: {why}; reconnecting"),
                Incoming::Retrying { why, .. } => eprintln!("chatc: {why}; retrying"),
                Incoming::Rejoined => {
                    eprintln!("chatc: reconnected to {} as {}", link.target(), link.name())
                }
                Incoming::NeedPassword => return Err(Error::NeedPassword),
                Incoming::Notice(text) => eprintln!("chatc: {text}"),
                Incoming::Ended => return Ok(()),
            }
        }
        let mut fds = vec![PollFd::new(signals.fd(), PollFlags::POLLIN)];
        if let Some(fd) = link.fd() {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        match nix::poll::poll(&mut fds, clock::poll_timeout(link.timeout())) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::Io(e.into())),
        }
        let readable = fds
            .get(1)
            .and_then(PollFd::revents)
            .is_some_and(|r| !r.is_empty());
        drop(fds);
        if signals.stop_requested() {
            return Ok(());
        }
        link.ready(readable)?;
    }
}

/// Print one raw server line in the listen format, skipping history already printed; return
/// a result when the line ends the session.
fn print(
    out: &mut impl Write,
    raw: &str,
    seen: &mut Seen,
) -> Result<Option<Result<(), Error>>, Error> {
    let Ok(line) = ServerLine::parse(raw) else {
        return Ok(None);
    };
    match line {
        ServerLine::Hist {
            time, name, text, ..
        } => {
            if seen.contains(time, name, text) {
                return Ok(None);
            }
            seen.note(time, name, text);
        }
        ServerLine::Msg { time, from, text } | ServerLine::Me { time, from, text } => {
            seen.note(time, from, text);
        }
        _ => {}
    }
    if let Some(s) = format(&line, clock::wall()) {
        writeln!(out, "{s}")?;
        out.flush()?;
    }
    Ok(farewell(&line))
}

#[cfg(test)]
mod test {
    use super::*;

    const NOW: Timestamp = Timestamp(1_795_961_600);

    fn fmt(line: &str) -> Option<String> {
        format(&ServerLine::parse(line).expect("parses"), NOW)
    }

    #[test]
    fn the_documented_format() {
        let t = "2026-11-29T14:13:05Z";
        let now = "2026-11-29T14:13:20Z";
        let cases = [
            (
                format!("MSG {t} Ana Oi  pessoal"),
                format!("{t} MSG <Ana> Oi  pessoal"),
            ),
            (format!("ME {t} Ana acena"), format!("{t} ME * Ana acena")),
            (
                format!("PRIV {t} Ana Bruno psst"),
                format!("{t} PRIV *Ana* -> Bruno: psst"),
            ),
            (
                format!("HIST MSG {t} Ana velho"),
                format!("{t} HIST MSG <Ana> velho"),
            ),
            (
                format!("HIST ME {t} Ana foi"),
                format!("{t} HIST ME * Ana foi"),
            ),
            (format!("JOIN {t} Carla"), format!("{t} JOIN Carla")),
            (
                format!("LEAVE {t} Carla quit: até"),
                format!("{t} LEAVE Carla quit: até"),
            ),
            (
                format!("NICK {t} Carla Carol"),
                format!("{t} NICK Carla -> Carol"),
            ),
            (
                format!("WHO {t} 2 Ana Bruno"),
                format!("{t} WHO 2 Ana Bruno"),
            ),
            (
                format!("WELCOME {t} logger Welcome!"),
                format!("{t} WELCOME logger Welcome!"),
            ),
            (
                format!("SHUTDOWN {t} going down"),
                format!("{t} SHUTDOWN going down"),
            ),
            ("INFO hello".to_string(), format!("{now} INFO hello")),
            (
                "ERR flood slow down".to_string(),
                format!("{now} ERR flood slow down"),
            ),
            (
                "BYE quit Goodbye.".to_string(),
                format!("{now} BYE quit Goodbye."),
            ),
            (
                "HELLO chatd/1 Welcome".to_string(),
                format!("{now} HELLO chatd/1 Welcome"),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(fmt(&line), Some(want), "{line}");
        }
        assert_eq!(fmt("ASK NAME Send your name."), None);
        assert_eq!(fmt("GOSSIP about things"), None);
    }

    #[test]
    fn every_line_is_one_clean_line() {
        let out =
            fmt("MSG 2026-11-29T14:13:05Z Ana a\x1b[2J\rb\x1b]0;t\x07c\u{9b}1Ad").expect("shown");
        assert_eq!(out, "2026-11-29T14:13:05Z MSG <Ana> abcd");
    }

    #[test]
    fn replayed_history_is_printed_once() {
        let mut seen = Seen::default();
        let mut out = Vec::new();
        let lines = [
            "MSG 2026-11-29T14:13:05Z Ana um",
            "HIST MSG 2026-11-29T14:13:05Z Ana um",
            "HIST MSG 2026-11-29T14:13:06Z Ana dois",
            "HIST MSG 2026-11-29T14:13:06Z Ana dois",
        ];
        for l in lines {
            print(&mut out, l, &mut seen).expect("print");
        }
        let out = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            out,
            "2026-11-29T14:13:05Z MSG <Ana> um\n2026-11-29T14:13:06Z HIST MSG <Ana> dois\n"
        );
    }
}
