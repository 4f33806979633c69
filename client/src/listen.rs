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
use std::time::Duration;

use chat_core::history::EntryKind;
use chat_core::wire::ErrCode;
use chat_core::{ServerLine, Timestamp};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::clock;
use crate::connection::{join, Asker, Backoff, Connection, Login, NoAsker, Target};
use crate::error::Error;
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

/// How one connection ended.
enum End {
    /// The server said `SHUTDOWN` and closed.
    Shutdown,
    /// The connection dropped without a word.
    Lost,
    /// A stop signal arrived.
    Stopped,
}

/// Run listen mode until the server shuts down.
pub fn run(target: &Target, mut login: Login, signals: &Signals) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    let mut seen = Seen::default();
    let mut conn = Connection::open(target)?;
    let shown = join(&mut conn, &mut login, &mut ListenAsker { signals })?;
    for raw in shown {
        print(&mut out, &raw, &mut seen)?;
    }
    loop {
        match follow(&mut conn, &mut out, &mut seen, signals)? {
            End::Shutdown | End::Stopped => return Ok(()),
            End::Lost => {
                eprintln!("chatc: {}; reconnecting", conn.lost());
                match reconnect(target, &mut login, signals)? {
                    Some((c, shown)) => {
                        conn = c;
                        eprintln!("chatc: reconnected to {target} as {}", login.name);
                        for raw in shown {
                            print(&mut out, &raw, &mut seen)?;
                        }
                    }
                    None => return Ok(()),
                }
            }
        }
    }
}

/// Print one raw server line in the listen format, skipping history already printed.
fn print(out: &mut impl Write, raw: &str, seen: &mut Seen) -> Result<(), Error> {
    let Ok(line) = ServerLine::parse(raw) else {
        return Ok(());
    };
    match line {
        ServerLine::Hist {
            time, name, text, ..
        } => {
            if seen.contains(time, name, text) {
                return Ok(());
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
    Ok(())
}

/// Print lines until the connection ends.
fn follow(
    conn: &mut Connection,
    out: &mut impl Write,
    seen: &mut Seen,
    signals: &Signals,
) -> Result<End, Error> {
    let mut shutdown = false;
    loop {
        while let Some(raw) = conn.next_line() {
            print(out, &raw, seen)?;
            match ServerLine::parse(&raw) {
                Ok(ServerLine::Shutdown { .. }) => shutdown = true,
                Ok(ServerLine::Bye { code, text }) => {
                    return Err(Error::Bye {
                        code: clean(code.as_str()),
                        text: clean(text),
                    })
                }
                _ => {}
            }
        }
        let mut fds = [
            PollFd::new(conn.fd(), PollFlags::POLLIN),
            PollFd::new(signals.fd(), PollFlags::POLLIN),
        ];
        match nix::poll::poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::Io(e.into())),
        }
        if signals.stop_requested() {
            return Ok(End::Stopped);
        }
        if fds[0].revents().is_some_and(|r| !r.is_empty()) && !conn.fill() {
            while let Some(raw) = conn.next_line() {
                print(out, &raw, seen)?;
                shutdown |= matches!(ServerLine::parse(&raw), Ok(ServerLine::Shutdown { .. }));
            }
            return Ok(if shutdown { End::Shutdown } else { End::Lost });
        }
    }
}

/// Try to connect and join again, waiting 1, 2, 4… seconds between attempts.
///
/// Return `None` if a stop signal arrived while waiting.
fn reconnect(
    target: &Target,
    login: &mut Login,
    signals: &Signals,
) -> Result<Option<(Connection, Vec<String>)>, Error> {
    let mut backoff = Backoff::default();
    while let Some(delay) = backoff.next_delay() {
        if !sleep(delay, signals) {
            return Ok(None);
        }
        let attempt = Connection::open(target).and_then(|mut c| {
            let shown = join(&mut c, login, &mut NoAsker)?;
            Ok((c, shown))
        });
        match attempt {
            Ok(joined) => return Ok(Some(joined)),
            Err(e) if e.is_retryable() => eprintln!("chatc: {e}; retrying"),
            Err(e) => return Err(e),
        }
    }
    Err(Error::GaveUp {
        target: target.to_string(),
        attempts: backoff.attempts(),
    })
}

/// Wait `delay` unless a stop signal comes first (then return false).
fn sleep(delay: Duration, signals: &Signals) -> bool {
    let end = std::time::Instant::now() + delay;
    for _ in 0..10_000 {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        let ms = u16::try_from(left.as_millis().min(10_000)).unwrap_or(10_000);
        let mut fds = [PollFd::new(signals.fd(), PollFlags::POLLIN)];
        let _ = nix::poll::poll(&mut fds, PollTimeout::from(ms));
        if signals.stop_requested() {
            return false;
        }
    }
    true
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
