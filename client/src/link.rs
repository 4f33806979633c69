//! Staying joined: the connection of interactive and listen mode, and joining again when it
//! drops.
//!
//! A [`Link`] hands out, in order, the lines the server sends and what happens to the
//! connection ([`Incoming`]): lost, retrying, rejoined, ended. Rejoining runs on an
//! [`Attempt`] thread so that the caller's `poll` loop never blocks; the waits between attempts
//! come from [`Backoff`]. What a line means for the session ([`farewell`]) is decided here
//! too, once for every mode.

use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use chat_core::ServerLine;

use crate::attempt::{Attempt, Joined};
use crate::connection::{is_quit, join, Asker, Backoff, Connection, Login, Target};
use crate::error::Error;
use crate::sanitize::clean;

/// Return how a server line ends the session, if it does: `BYE quit` (we asked to leave) is a
/// clean end, any other `BYE` an error.
pub fn farewell(line: &ServerLine<'_>) -> Option<Result<(), Error>> {
    match *line {
        ServerLine::Bye { code, .. } if is_quit(code) => Some(Ok(())),
        ServerLine::Bye { code, text } => Some(Err(Error::Bye {
            code: clean(code.as_str()),
            text: clean(text),
        })),
        _ => None,
    }
}

/// What a link does when the server shuts down and closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterShutdown {
    /// Join again once it is back (interactive mode).
    Rejoin,
    /// Stop: [`Incoming::Ended`] (listen mode).
    Stop,
}

/// The next thing that came from the link.
#[derive(Debug)]
pub enum Incoming {
    /// A line from the server, as received.
    Line(String),
    /// The connection dropped (`why`); the next attempt to rejoin is in `retry_in`.
    Lost {
        /// What happened.
        why: Error,
        /// The wait before the first attempt.
        retry_in: Duration,
    },
    /// An attempt to rejoin failed (`why`); the next one is in `retry_in`.
    Retrying {
        /// Why the attempt failed.
        why: Error,
        /// The wait before the next attempt.
        retry_in: Duration,
    },
    /// Joined again; the handshake lines follow as [`Incoming::Line`]s.
    Rejoined,
    /// Something to tell the user about the connection: a first TLS contact's fingerprint.
    Notice(String),
    /// Rejoining needs a password the link lacks: give one with [`Link::set_password`].
    NeedPassword,
    /// The server shut down and closed the connection, and the link does not rejoin.
    Ended,
}

/// The connection to the server, or the plan to get it back.
pub struct Link {
    target: Target,
    login: Login,
    conn: Option<Connection>,
    attempt: Option<Attempt>,
    backoff: Backoff,
    next_try: Instant,
    /// What to hand out before the current connection's lines.
    queue: VecDeque<Incoming>,
    /// The server said `SHUTDOWN` on this connection.
    shutdown_seen: bool,
    /// No attempts until the caller acts: a password is needed, or the link ended.
    halted: bool,
    after_shutdown: AfterShutdown,
}

impl Link {
    /// Connect and join (asking `asker` for what is missing); the handshake lines worth showing
    /// come first out of [`Link::next`].
    ///
    /// This is where a session's first connection is opened: TLS and discovery give it a
    /// different [`Target`] or [`Connection`], the rest of the session is unchanged.
    pub fn join(
        target: &Target,
        mut login: Login,
        asker: &mut dyn Asker,
        after_shutdown: AfterShutdown,
    ) -> Result<Link, Error> {
        let mut conn = Connection::open(target)?;
        let notice = conn.take_notice().map(Incoming::Notice);
        let shown = join(&mut conn, &mut login, asker)?;
        Ok(Link {
            target: target.clone(),
            login,
            conn: Some(conn),
            attempt: None,
            backoff: Backoff::default(),
            next_try: Instant::now(),
            queue: notice
                .into_iter()
                .chain(shown.into_iter().map(Incoming::Line))
                .collect(),
            shutdown_seen: false,
            halted: false,
            after_shutdown,
        })
    }

    /// Return where the link connects.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Return the name joined under (or to rejoin under).
    pub fn name(&self) -> &str {
        &self.login.name
    }

    /// Remember a new name (after the server confirmed a rename), for rejoining.
    pub fn set_name(&mut self, name: &str) {
        self.login.name = name.to_string();
    }

    /// Give the password asked for by [`Incoming::NeedPassword`]; the next attempt starts now.
    pub fn set_password(&mut self, password: String) {
        self.login.password = Some(password);
        self.next_try = Instant::now();
        self.halted = false;
    }

    /// Return true while connected and joined.
    pub fn online(&self) -> bool {
        self.conn.is_some()
    }

    /// Return the next line or event, in the order they happened.
    pub fn next(&mut self) -> Option<Incoming> {
        let next = self
            .queue
            .pop_front()
            .or_else(|| self.conn.as_mut()?.next_line().map(Incoming::Line));
        if let Some(Incoming::Line(raw)) = &next {
            if matches!(ServerLine::parse(raw), Ok(ServerLine::Shutdown { .. })) {
                self.shutdown_seen = true;
            }
        }
        next
    }

    /// Send one line; when that fails the connection counts as lost (see [`Link::next`]).
    pub fn send(&mut self, line: &str) -> Result<(), Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(Error::Lost {
                target: self.target.to_string(),
            });
        };
        let sent = conn.send(line);
        if sent.is_err() {
            self.lost();
        }
        sent
    }

    /// Wait for the next line until `deadline` (used while leaving); `None` when the
    /// connection is gone, closed or silent.
    pub fn read_line(&mut self, deadline: Instant) -> Option<String> {
        if matches!(self.queue.front(), Some(Incoming::Line(_))) {
            if let Some(Incoming::Line(l)) = self.queue.pop_front() {
                return Some(l);
            }
        }
        self.conn.as_mut()?.read_line(deadline).ok().flatten()
    }

    /// Return the descriptor to poll for readability: the socket, or the attempt in progress.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        match (&self.conn, &self.attempt) {
            (Some(c), _) => Some(c.fd()),
            (None, Some(a)) => Some(a.fd()),
            (None, None) => None,
        }
    }

    /// Return how long the caller may wait before calling [`Link::ready`] again (`None`:
    /// until [`Link::fd`] is readable).
    pub fn timeout(&self) -> Option<Duration> {
        if self.conn.is_some() || self.attempt.is_some() || self.halted {
            return None;
        }
        Some(self.next_try.saturating_duration_since(Instant::now()))
    }

    /// Do what is due after `poll`: read the socket if `readable`, take an attempt's outcome,
    /// start the next attempt. Fail only when rejoining is hopeless.
    pub fn ready(&mut self, readable: bool) -> Result<(), Error> {
        if readable {
            if let Some(conn) = self.conn.as_mut() {
                if !conn.fill() {
                    self.lost();
                }
            }
        }
        if let Some(outcome) = self.attempt.as_ref().and_then(|a| a.outcome(&self.target)) {
            self.attempt = None;
            self.rejoined(outcome)?;
        }
        let idle = self.conn.is_none() && self.attempt.is_none() && !self.halted;
        if idle && Instant::now() >= self.next_try {
            self.attempt = Some(Attempt::start(&self.target, &self.login)?);
        }
        Ok(())
    }

    /// The connection closed: queue its last lines, then what happens next.
    fn lost(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let mut shutdown = self.shutdown_seen;
        while let Some(raw) = conn.next_line() {
            shutdown |= matches!(ServerLine::parse(&raw), Ok(ServerLine::Shutdown { .. }));
            self.queue.push_back(Incoming::Line(raw));
        }
        self.shutdown_seen = false;
        if shutdown && self.after_shutdown == AfterShutdown::Stop {
            self.queue.push_back(Incoming::Ended);
            self.halted = true;
            return;
        }
        self.backoff = Backoff::default();
        let why = conn.lost();
        if let Some(retry_in) = self.schedule() {
            self.queue.push_back(Incoming::Lost { why, retry_in });
        }
    }

    /// Plan the next attempt and return the wait, or `None` once the attempts are used up.
    fn schedule(&mut self) -> Option<Duration> {
        let delay = self.backoff.next_delay()?;
        self.next_try = Instant::now() + delay;
        Some(delay)
    }

    /// Take the outcome of an attempt to rejoin.
    fn rejoined(&mut self, outcome: Result<Joined, Error>) -> Result<(), Error> {
        match outcome {
            Ok(Joined {
                mut conn,
                shown,
                login,
            }) => {
                let notice = conn.take_notice().map(Incoming::Notice);
                self.conn = Some(conn);
                self.login = login;
                self.queue.push_back(Incoming::Rejoined);
                self.queue.extend(notice);
                self.queue.extend(shown.into_iter().map(Incoming::Line));
                Ok(())
            }
            Err(Error::NeedPassword) => {
                self.queue.push_back(Incoming::NeedPassword);
                self.halted = true;
                Ok(())
            }
            Err(why) if why.is_retryable() => match self.schedule() {
                Some(retry_in) => {
                    self.queue.push_back(Incoming::Retrying { why, retry_in });
                    Ok(())
                }
                None => Err(self.gave_up()),
            },
            Err(e) => Err(e),
        }
    }

    /// Return the error for attempts used up.
    fn gave_up(&self) -> Error {
        Error::GaveUp {
            target: self.target.to_string(),
            attempts: self.backoff.attempts(),
        }
    }
}
