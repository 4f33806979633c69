//! Script mode (stdin is not a terminal): send each input line, then leave.
//!
//! `echo "build done" | chatc -n ci` joins, sends each line of input as a line of chat (so
//! commands such as `/me` work too), then sends `/quit` and exits 0 once the server answers
//! `BYE quit` — proof that it has taken every line. Lines are cleaned of control characters and
//! long ones are cut at the server's limit. Sending is paced to the server's default flood
//! limit (the core's [`FloodLimit`], with half the burst kept in reserve), so a long log is not
//! refused. Lines the server refuses are reported on stderr and make the exit status 1; losing
//! the connection or a server shutdown is an error, with no retry.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use chat_core::commands::Command;
use chat_core::config::MAX_LINE;
use chat_core::flood::{Bucket, FloodLimit, Verdict};
use chat_core::ServerLine;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::clock;
use crate::connection::{is_quit, join, quit_line, Connection, Login, NoAsker, Target};
use crate::error::Error;
use crate::sanitize::clean;

/// How long the server may take to answer `/quit`.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines read ahead from stdin before waiting for them to be sent.
const READ_AHEAD: usize = 64;

/// Return the lines to send for one line of input: cleaned, and cut into pieces the server
/// accepts; nothing for a blank line.
pub fn outgoing(input: &str) -> Vec<String> {
    let text = clean(input);
    if matches!(Command::parse(&text), Command::Empty) {
        return Vec::new();
    }
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        if piece.len() + c.len_utf8() > MAX_LINE - 1 {
            pieces.push(std::mem::take(&mut piece));
        }
        piece.push(c);
    }
    pieces.push(piece);
    pieces
}

/// The pace chatc keeps: the default limit with half the burst in reserve.
fn pace() -> FloodLimit {
    let d = FloodLimit::default();
    FloodLimit {
        burst: (d.burst / 2).max(1),
        per_sec: d.per_sec.max(1),
    }
}

/// Standard input, read a chunk at a time and cut into lines.
struct Input {
    buf: Vec<u8>,
    eof: bool,
}

impl Input {
    /// Read what is available; queue the complete lines.
    fn read(&mut self, queue: &mut VecDeque<String>) -> Result<(), Error> {
        let mut chunk = [0u8; 8192];
        let n = match nix::unistd::read(io::stdin().as_fd(), &mut chunk) {
            Ok(n) => n,
            Err(Errno::EINTR | Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(Error::Io(e.into())),
        };
        if n == 0 {
            self.eof = true;
            if !self.buf.is_empty() {
                self.buf.push(b'\n');
            }
        }
        self.buf.extend_from_slice(&chunk[..n]);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line[..i]);
            queue.extend(outgoing(line.trim_end_matches('\r')));
        }
        // A line longer than any the server takes: send what we have and carry on.
        if self.buf.len() > 4 * MAX_LINE {
            let line = String::from_utf8_lossy(&self.buf).into_owned();
            self.buf.clear();
            queue.extend(outgoing(&line));
        }
        Ok(())
    }
}

/// Run script mode.
pub fn run(target: &Target, mut login: Login) -> Result<(), Error> {
    let mut conn = Connection::open(target)?;
    join(&mut conn, &mut login, &mut NoAsker)?;
    let limit = pace();
    let mut bucket = Bucket::new(&limit, clock::monotonic());
    let mut input = Input {
        buf: Vec::new(),
        eof: false,
    };
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut refused = 0usize;
    let mut quit_by: Option<Instant> = None;
    let mut err = io::stderr();
    let mut closed = false;
    loop {
        while let Some(raw) = conn.next_line() {
            match ServerLine::parse(&raw) {
                Ok(ServerLine::Err { code, text }) => {
                    refused += 1;
                    let _ = writeln!(
                        err,
                        "chatc: the server refused a line ({}): {}",
                        clean(code.as_str()),
                        clean(text)
                    );
                }
                Ok(ServerLine::Bye { code, .. }) if is_quit(code) => {
                    return if refused == 0 {
                        Ok(())
                    } else {
                        Err(Error::Refused(refused))
                    };
                }
                Ok(ServerLine::Bye { code, text }) => {
                    return Err(Error::Bye {
                        code: clean(code.as_str()),
                        text: clean(text),
                    })
                }
                Ok(ServerLine::Shutdown { text, .. }) => return Err(Error::Shutdown(clean(text))),
                _ => {}
            }
        }
        if closed {
            return Err(conn.lost());
        }
        // Send what the pace allows.
        let mut wait_ms: Option<u16> = None;
        while let Some(line) = queue.front() {
            let mut trial = bucket;
            if trial.take(&limit, clock::monotonic()) != Verdict::Pass {
                wait_ms = Some(u16::try_from(1000 / limit.per_sec).unwrap_or(200));
                break;
            }
            bucket = trial;
            conn.send(line)?;
            queue.pop_front();
        }
        if input.eof && queue.is_empty() && quit_by.is_none() {
            conn.send(&quit_line())?;
            quit_by = Some(Instant::now() + QUIT_TIMEOUT);
        }
        if let Some(by) = quit_by {
            let left = by.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout {
                    target: target.to_string(),
                });
            }
            let ms = u16::try_from(left.as_millis().min(10_000)).unwrap_or(10_000);
            wait_ms = Some(wait_ms.map_or(ms, |w| w.min(ms)));
        }
        let stdin = io::stdin();
        let mut fds = vec![PollFd::new(conn.fd(), PollFlags::POLLIN)];
        let want_input = !input.eof && queue.len() < READ_AHEAD;
        if want_input {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match nix::poll::poll(
            &mut fds,
            wait_ms.map_or(PollTimeout::NONE, PollTimeout::from),
        ) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::Io(e.into())),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(PollFd::revents)
                .is_some_and(|r| !r.is_empty())
        };
        let (conn_ready, input_ready) = (ready(0), want_input && ready(1));
        drop(fds);
        if conn_ready && !conn.fill() {
            closed = true;
        }
        if input_ready {
            input.read(&mut queue)?;
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn lines_are_cleaned_and_blank_ones_dropped() {
        assert_eq!(outgoing("build done"), ["build done"]);
        assert_eq!(outgoing("\x1b[32mok\x1b[0m\ttests"), ["ok tests"]);
        assert_eq!(outgoing("   "), Vec::<String>::new());
        assert_eq!(outgoing("\x1b[0m"), Vec::<String>::new());
        assert_eq!(
            outgoing("/me deploys"),
            ["/me deploys"],
            "commands pass through"
        );
        assert_eq!(outgoing("@sair"), ["@sair"]);
    }

    #[test]
    fn long_lines_are_cut_at_character_boundaries() {
        let long = "é".repeat(1000);
        let pieces = outgoing(&long);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| p.len() < MAX_LINE));
        assert_eq!(pieces.concat(), long);
    }

    #[test]
    fn the_pace_stays_under_the_server_limit() {
        let (p, d) = (pace(), FloodLimit::default());
        assert!(p.burst < d.burst && p.per_sec <= d.per_sec);
    }
}
