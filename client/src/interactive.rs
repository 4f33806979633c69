//! Interactive mode (stdin is a terminal): a chat screen with a line editor at the bottom.
//!
//! Received lines are printed above the line being typed: the input line is cleared, the
//! message printed, and the prompt and the text typed so far drawn again, so nothing the user
//! types is ever garbled. The terminal is in raw mode for as long as a [`RawMode`] guard lives,
//! and it is put back on every way out. When the connection drops, chatc says so and rejoins
//! under the same name, waiting 1, 2, 4… up to 30 seconds between attempts.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use chat_core::commands::Command;
use chat_core::names::same_name;
use chat_core::wire::ErrCode;
use chat_core::ServerLine;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::attempt::{Attempt, Joined};
use crate::clock;
use crate::connection::{is_quit, join, quit_line, Asker, Backoff, Connection, Login, Target};
use crate::editor::{str_width, Action, Decoder, Editor};
use crate::error::Error;
use crate::render::Style;
use crate::sanitize::clean;
use crate::seen::Seen;
use crate::signals::Signals;
use crate::terminal::{self, RawMode};

/// How long to wait for `BYE quit` after asking to leave.
const QUIT_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks on the terminal for a password, and for another name when the first join finds it taken.
struct TtyAsker<'a> {
    signals: &'a Signals,
    /// True when rejoining: a taken name is then most likely our own old connection, so wait
    /// and retry instead of asking.
    rejoining: bool,
}

impl Asker for TtyAsker<'_> {
    fn password(&mut self) -> Result<String, Error> {
        Ok(terminal::prompt(
            "\r\x1b[KPassword: ",
            false,
            Some(self.signals),
        )?)
    }
    fn rename(&mut self, name: &str, code: ErrCode, why: &str) -> Result<String, Error> {
        if self.rejoining {
            return Err(Error::NameTaken(name.to_string()));
        }
        let why = if code == ErrCode::NameTaken {
            format!("The name {} is taken.", clean(name))
        } else {
            clean(why)
        };
        let q = format!("\r\x1b[K{why} Another name: ");
        Ok(terminal::prompt(&q, true, Some(self.signals))?
            .trim()
            .to_string())
    }
}

/// The screen: the editor, what is drawn, and how.
struct Screen {
    editor: Editor,
    decoder: Decoder,
    style: Style,
    me: String,
    online: bool,
    out: io::Stdout,
}

impl Screen {
    /// Return the prompt shown before the input line.
    fn prompt(&self) -> String {
        let name = clean(&self.me);
        if self.online {
            format!("{name}> ")
        } else {
            format!("(offline) {name}> ")
        }
    }

    /// Return the bytes that draw the input line and put the cursor in place.
    fn input_line(&self) -> String {
        let prompt = self.prompt();
        let pw = str_width(&prompt);
        let room = terminal::width().saturating_sub(pw + 1);
        let (text, col) = self.editor.view(room);
        let mut s = format!("\r\x1b[K{prompt}{text}\r");
        if pw + col > 0 {
            s.push_str(&format!("\x1b[{}C", pw + col));
        }
        s
    }

    /// Draw the input line again.
    fn redraw(&mut self) -> io::Result<()> {
        let s = self.input_line();
        self.out.write_all(s.as_bytes())?;
        self.out.flush()
    }

    /// Print a line above the input line.
    fn show(&mut self, line: &str) -> io::Result<()> {
        let s = format!("\r\x1b[K{line}\r\n{}", self.input_line());
        self.out.write_all(s.as_bytes())?;
        self.out.flush()
    }

    /// Clear the input line (before leaving).
    fn clear(&mut self) -> io::Result<()> {
        self.out.write_all(b"\r\x1b[K")?;
        self.out.flush()
    }
}

/// What a server line asks the loop to do.
enum Next {
    /// Carry on.
    Continue,
    /// The server said goodbye: leave with this result.
    Leave(Result<(), Error>),
}

/// The session: the screen, the connection (if any) and what reconnecting needs.
struct Session<'a> {
    screen: Screen,
    conn: Option<Connection>,
    login: Login,
    target: &'a Target,
    signals: &'a Signals,
    seen: Seen,
    backoff: Backoff,
    next_try: Instant,
    attempt: Option<Attempt>,
}

/// Run interactive mode.
pub fn run(
    target: &Target,
    mut login: Login,
    signals: &Signals,
    style: Style,
) -> Result<(), Error> {
    let mut conn = Connection::open(target)?;
    let shown = join(
        &mut conn,
        &mut login,
        &mut TtyAsker {
            signals,
            rejoining: false,
        },
    )?;
    let _raw = RawMode::enter()?;
    let screen = Screen {
        editor: Editor::default(),
        decoder: Decoder::default(),
        style,
        me: login.name.clone(),
        online: true,
        out: io::stdout(),
    };
    let mut s = Session {
        screen,
        conn: Some(conn),
        login,
        target,
        signals,
        seen: Seen::default(),
        backoff: Backoff::default(),
        next_try: Instant::now(),
        attempt: None,
    };
    for raw in shown {
        s.server_line(&raw)?;
    }
    s.screen.redraw()?;
    let result = s.run();
    let _ = s.screen.clear();
    result
}

impl Session<'_> {
    /// The main loop.
    fn run(&mut self) -> Result<(), Error> {
        loop {
            if let Some(conn) = self.conn.as_mut() {
                let mut lines = Vec::new();
                while let Some(raw) = conn.next_line() {
                    lines.push(raw);
                }
                for raw in lines {
                    if let Next::Leave(r) = self.server_line(&raw)? {
                        return r;
                    }
                }
            }
            let (stdin_ready, conn_ready) = self.wait()?;
            if self.signals.stop_requested() {
                return Ok(());
            }
            if self.signals.take_resize() {
                self.screen.redraw()?;
            }
            if stdin_ready {
                let mut buf = [0u8; 1024];
                let n = match nix::unistd::read(io::stdin().as_fd(), &mut buf) {
                    Ok(n) => n,
                    Err(Errno::EINTR | Errno::EAGAIN) => continue,
                    Err(e) => return Err(Error::Io(e.into())),
                };
                if n == 0 {
                    return self.quit(&quit_line());
                }
                for key in self.screen.decoder.feed(&buf[..n]) {
                    match self.screen.editor.key(key) {
                        Action::Redraw => self.screen.redraw()?,
                        Action::Quit => return self.quit(&quit_line()),
                        Action::Submit(text) => {
                            if let Some(r) = self.submit(&text)? {
                                return r;
                            }
                        }
                    }
                }
            }
            if conn_ready {
                if let Some(conn) = self.conn.as_mut() {
                    if !conn.fill() {
                        self.lost()?;
                    }
                }
            }
            if let Some(outcome) = self.attempt.as_ref().and_then(|a| a.outcome(self.target)) {
                self.attempt = None;
                self.rejoined(outcome)?;
            }
            if self.conn.is_none() && self.attempt.is_none() && Instant::now() >= self.next_try {
                self.attempt = Some(Attempt::start(self.target, &self.login)?);
            }
        }
    }

    /// Wait for the keyboard, the server, a signal or the next reconnection attempt.
    fn wait(&self) -> Result<(bool, bool), Error> {
        let stdin = io::stdin();
        let mut fds = vec![
            PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.signals.fd(), PollFlags::POLLIN),
        ];
        if let Some(c) = &self.conn {
            fds.push(PollFd::new(c.fd(), PollFlags::POLLIN));
        } else if let Some(a) = &self.attempt {
            fds.push(PollFd::new(a.fd(), PollFlags::POLLIN));
        }
        let timeout = if self.conn.is_some() || self.attempt.is_some() {
            PollTimeout::NONE
        } else {
            let left = self.next_try.saturating_duration_since(Instant::now());
            PollTimeout::from(u16::try_from(left.as_millis().min(10_000)).unwrap_or(10_000))
        };
        match nix::poll::poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::Io(e.into())),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(PollFd::revents)
                .is_some_and(|r| !r.is_empty())
        };
        Ok((ready(0), self.conn.is_some() && ready(2)))
    }

    /// Show one server line and follow what it means for the session.
    fn server_line(&mut self, raw: &str) -> Result<Next, Error> {
        let Ok(line) = ServerLine::parse(raw) else {
            return Ok(Next::Continue);
        };
        if let ServerLine::Hist {
            time, name, text, ..
        } = line
        {
            if self.seen.contains(time, name, text) {
                return Ok(Next::Continue);
            }
        }
        // Draw first: a NICK line is worded from the old name's point of view.
        if let Some(s) = self.screen.style.server_line(&line, &self.screen.me) {
            self.screen.show(&s)?;
        }
        let mut next = Next::Continue;
        match line {
            ServerLine::Welcome { name, .. } => {
                self.screen.me = name.to_string();
                self.screen.redraw()?;
            }
            ServerLine::Nick { old, new, .. } if same_name(old, &self.screen.me) => {
                self.screen.me = new.to_string();
                self.login.name = new.to_string();
                self.screen.redraw()?;
            }
            ServerLine::Hist {
                time, name, text, ..
            } => self.seen.note(time, name, text),
            ServerLine::Msg { time, from, text } | ServerLine::Me { time, from, text } => {
                self.seen.note(time, from, text);
            }
            ServerLine::Bye { code, .. } if is_quit(code) => next = Next::Leave(Ok(())),
            ServerLine::Bye { code, text } => {
                next = Next::Leave(Err(Error::Bye {
                    code: clean(code.as_str()),
                    text: clean(text),
                }));
            }
            _ => {}
        }
        Ok(next)
    }

    /// Handle a line the user entered; return a result when it is time to leave.
    fn submit(&mut self, text: &str) -> Result<Option<Result<(), Error>>, Error> {
        let cmd = Command::parse(text);
        match cmd {
            Command::Empty => return Ok(None),
            Command::Quit(_) => return Ok(Some(self.quit(text))),
            _ => {}
        }
        let Some(conn) = self.conn.as_mut() else {
            let msg = self
                .screen
                .style
                .error("not connected; your line is kept, press Enter again once reconnected");
            self.screen.editor.set(text);
            self.screen.show(&msg)?;
            return Ok(None);
        };
        if conn.send(text).is_err() {
            self.screen.editor.set(text);
            self.lost()?;
            return Ok(None);
        }
        let now = clock::wall();
        if let Some(s) = self.screen.style.own(&cmd, &self.screen.me, now) {
            if let Command::Say(t) | Command::Me(t) = cmd {
                self.seen.note(now, &self.screen.me, t);
            }
            self.screen.show(&s)?;
        }
        Ok(None)
    }

    /// Leave: send `line` (a quit command) and wait briefly for `BYE quit`.
    fn quit(&mut self, line: &str) -> Result<(), Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        if conn.send(line).is_err() {
            return Ok(());
        }
        let deadline = Instant::now() + QUIT_TIMEOUT;
        for _ in 0..1000 {
            let Some(conn) = self.conn.as_mut() else {
                break;
            };
            match conn.read_line(deadline) {
                Ok(Some(raw)) => {
                    if let Next::Leave(r) = self.server_line(&raw)? {
                        return r.or(Ok(()));
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        Ok(())
    }

    /// The connection broke: say so and plan the first attempt to rejoin.
    fn lost(&mut self) -> Result<(), Error> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        let mut rest = Vec::new();
        while let Some(raw) = conn.next_line() {
            rest.push(raw);
        }
        for raw in rest {
            self.server_line(&raw)?;
        }
        self.screen.online = false;
        self.backoff = Backoff::default();
        self.schedule(&format!("{}", conn.lost()))
    }

    /// Plan the next attempt, or give up.
    fn schedule(&mut self, why: &str) -> Result<(), Error> {
        let Some(delay) = self.backoff.next_delay() else {
            return Err(Error::GaveUp {
                target: self.target.to_string(),
                attempts: self.backoff.attempts(),
            });
        };
        self.next_try = Instant::now() + delay;
        let msg = format!(
            "{why}; reconnecting in {} s (Ctrl-C to quit)",
            delay.as_secs()
        );
        let msg = self.screen.style.error(&msg);
        self.screen.show(&msg)?;
        Ok(())
    }

    /// Take the outcome of an attempt to rejoin: go online, ask for a password, try again
    /// later, or give up.
    fn rejoined(&mut self, outcome: Result<Joined, Error>) -> Result<(), Error> {
        match outcome {
            Ok(Joined { conn, shown, login }) => {
                self.conn = Some(conn);
                self.login = login;
                self.screen.online = true;
                let msg = self
                    .screen
                    .style
                    .notice(&format!("reconnected to {}", self.target));
                self.screen.show(&msg)?;
                for raw in shown {
                    self.server_line(&raw)?;
                }
                Ok(())
            }
            Err(Error::NeedPassword) => {
                let mut asker = TtyAsker {
                    signals: self.signals,
                    rejoining: true,
                };
                self.login.password = Some(asker.password()?);
                self.next_try = Instant::now();
                self.screen.redraw()?;
                Ok(())
            }
            Err(e) if e.is_retryable() => self.schedule(&e.brief()),
            Err(e) => Err(e),
        }
    }
}
