//! Script mode (stdin is not a terminal): send each input line, then leave.
//!
//! `echo "build done" | chatc -n ci` joins, sends each line of input as a line of chat (so
//! commands such as `/me` work too), then sends `/quit` and exits 0 once the server answers
//! `BYE quit` — proof that it has taken every line. Lines are cleaned of control characters and
//! long ones are cut at the server's limit. Sending is paced to the server's default flood
//! limit (see [`crate::pacing`]), so a long log is not refused. Lines the server refuses are
//! reported on stderr and make the exit status 1; losing the connection or a server shutdown
//! is an error, with no retry.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use chat_core::config::MAX_LINE;
use chat_core::ServerLine;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::connection::{join, quit_line, Connection, Login, NoAsker, Target};
use crate::error::Error;
use crate::lines::LineBuffer;
use crate::link::farewell;
use crate::pacing::{outgoing, Outbox};
use crate::sanitize::clean;

/// How long the server may take to answer `/quit`.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines read ahead from stdin before waiting for them to be sent.
const READ_AHEAD: usize = 64;
/// An input line longer than this (bytes) is sent in pieces as it comes, not held whole.
const LONGEST_INPUT: usize = 4 * MAX_LINE;

/// Standard input, read a chunk at a time and cut into lines.
struct Input {
    lines: LineBuffer,
    eof: bool,
}

impl Input {
    /// Read what is available; queue the complete lines.
    fn read(&mut self, outbox: &mut Outbox) -> Result<(), Error> {
        let mut chunk = [0u8; 8192];
        let n = match nix::unistd::read(io::stdin().as_fd(), &mut chunk) {
            Ok(n) => n,
            Err(Errno::EINTR | Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(Error::Io(e.into())),
        };
        self.lines.push(&chunk[..n]);
        self.eof = n == 0;
        let next = |l: &mut LineBuffer| if n == 0 { l.finish() } else { l.next_line() };
        while let Some(line) = next(&mut self.lines) {
            for piece in outgoing(&line) {
                outbox.push(piece);
            }
        }
        Ok(())
    }
}

/// Run script mode.
pub fn run(target: &Target, mut login: Login) -> Result<(), Error> {
    let mut conn = Connection::open(target)?;
    if let Some(text) = conn.take_notice() {
        eprintln!("chatc: {text}");
    }
    join(&mut conn, &mut login, &mut NoAsker)?;
    let mut input = Input {
        lines: LineBuffer::new(LONGEST_INPUT),
        eof: false,
    };
    let mut outbox = Outbox::default();
    let mut refused = 0usize;
    let mut quit_by: Option<Instant> = None;
    let mut err = io::stderr();
    let mut closed = false;
    loop {
        while let Some(raw) = conn.next_line() {
            let Ok(line) = ServerLine::parse(&raw) else {
                continue;
            };
            if let Some(end) = farewell(&line) {
                return match end {
                    Ok(()) if refused > 0 => Err(Error::Refused(refused)),
                    end => end,
                };
            }
            match line {
                ServerLine::Err { code, text } => {
                    refused += 1;
                    let _ = writeln!(
                        err,
                        "chatc: the server refused a line ({}): {}",
                        clean(code.as_str()),
                        clean(text)
                    );
                }
                ServerLine::Shutdown { text, .. } => return Err(Error::Shutdown(clean(text))),
                _ => {}
            }
        }
        if closed {
            return Err(conn.lost());
        }
        // Send what the pace allows.
        while let Some(line) = outbox.pop_ready() {
            conn.send(&line)?;
        }
        let mut wait_ms = outbox
            .wait()
            .map(|w| u16::try_from(w.as_millis()).unwrap_or(u16::MAX));
        if input.eof && outbox.is_empty() && quit_by.is_none() {
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
        let want_input = !input.eof && outbox.len() < READ_AHEAD;
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
            input.read(&mut outbox)?;
        }
    }
}
