//! Interactive mode (stdin is a terminal): a chat screen with a line editor at the bottom.
//!
//! Received lines are printed above the line being typed ([`Screen`]). The terminal is in raw
//! mode for as long as a [`RawMode`] guard lives, and it is put back on every way out, and
//! while chatc is stopped by Ctrl-Z. When the connection drops, the [`Link`] rejoins under the
//! same name, and chatc says so.
//!
//! The comforts: Tab completes names and commands ([`Completer`]), Up/Down and Ctrl-R recall
//! what was typed ([`Recall`]), a line for the user is highlighted and rings the bell
//! ([`Alerts`]), and a paste of several lines is sent as separate messages, paced under the
//! flood limit ([`Outbox`]), after a confirmation when it is longer than [`PASTE_CONFIRM`].

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use chat_core::commands::Command;
use chat_core::names::same_name;
use chat_core::wire::ErrCode;
use chat_core::ServerLine;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};

use crate::alert::{self, Alerts};
use crate::clock;
use crate::complete::Completer;
use crate::connection::{quit_line, Asker, Login, Target};
use crate::editor::Action;
use crate::error::Error;
use crate::keys::{Decoder, Key};
use crate::link::{farewell, AfterShutdown, Incoming, Link};
use crate::pacing::{outgoing, Outbox};
use crate::recall::{Recall, Search};
use crate::render::Style;
use crate::roster::Roster;
use crate::sanitize::clean;
use crate::screen::{Mode, Screen};
use crate::seen::Seen;
use crate::signals::Signals;
use crate::terminal::{self, RawMode};

/// How long to wait for `BYE quit` after asking to leave.
const QUIT_TIMEOUT: Duration = Duration::from_secs(3);
/// A paste of more lines than this is sent only after the user confirms it.
pub const PASTE_CONFIRM: usize = 5;

/// Asks on the terminal for a password, and for another name when the first join finds it taken.
struct TtyAsker<'a> {
    signals: &'a Signals,
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

/// What interactive mode looks like and does, beyond the connection.
pub struct Options {
    /// Colours or not.
    pub style: Style,
    /// Alerts for lines addressed to the user.
    pub alerts: Alerts,
}

/// The session: the screen, the link and everything the comforts remember.
struct Session<'a> {
    screen: Screen,
    decoder: Decoder,
    link: Link,
    signals: &'a Signals,
    raw: &'a RawMode,
    seen: Seen,
    roster: Roster,
    completer: Completer,
    recall: Recall,
    alerts: Alerts,
    outbox: Outbox,
}

/// A session result: `Some` when it is time to leave.
type Leave = Option<Result<(), Error>>;

/// Run interactive mode.
pub fn run(
    target: &Target,
    login: Login,
    signals: &Signals,
    options: Options,
) -> Result<(), Error> {
    let link = Link::join(
        target,
        login,
        &mut TtyAsker { signals },
        AfterShutdown::Rejoin,
    )?;
    let raw = RawMode::enter()?;
    let mut s = Session {
        screen: Screen::new(options.style, link.name()),
        decoder: Decoder::default(),
        link,
        signals,
        raw: &raw,
        seen: Seen::default(),
        roster: Roster::default(),
        completer: Completer::default(),
        recall: Recall::default(),
        alerts: options.alerts,
        outbox: Outbox::default(),
    };
    s.screen.redraw()?;
    let result = s.run();
    let _ = s.screen.clear();
    result
}

impl Session<'_> {
    /// The main loop.
    fn run(&mut self) -> Result<(), Error> {
        loop {
            while let Some(incoming) = self.link.next() {
                if let Some(r) = self.incoming(incoming)? {
                    return r;
                }
            }
            if let Some(r) = self.send_ready()? {
                return r;
            }
            let (stdin_ready, link_ready) = self.wait()?;
            if self.signals.stop_requested() {
                return Ok(());
            }
            if self.signals.take_continued() {
                self.raw.resume()?;
                self.screen.redraw()?;
            }
            if self.signals.take_resize() {
                self.screen.redraw()?;
            }
            if stdin_ready {
                let mut buf = [0u8; 4096];
                let n = match nix::unistd::read(io::stdin().as_fd(), &mut buf) {
                    Ok(n) => n,
                    Err(Errno::EINTR | Errno::EAGAIN) => continue,
                    Err(e) => return Err(Error::Io(e.into())),
                };
                if n == 0 {
                    return self.quit(&quit_line());
                }
                for key in self.decoder.feed(&buf[..n]) {
                    if let Some(r) = self.key(key)? {
                        return r;
                    }
                }
            }
            self.link.ready(link_ready)?;
        }
    }

    /// Wait for the keyboard, the server, a signal, the next line's turn to be sent or the
    /// next reconnection attempt; say whether stdin and the link are ready.
    fn wait(&self) -> Result<(bool, bool), Error> {
        let stdin = io::stdin();
        let mut fds = vec![
            PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.signals.fd(), PollFlags::POLLIN),
        ];
        if let Some(fd) = self.link.fd() {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        let pacing = self.outbox.wait().filter(|_| self.link.online());
        let timeout = match (self.link.timeout(), pacing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match nix::poll::poll(&mut fds, clock::poll_timeout(timeout)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::Io(e.into())),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(PollFd::revents)
                .is_some_and(|r| !r.is_empty())
        };
        Ok((ready(0), ready(2)))
    }

    /// Follow what came from the link.
    fn incoming(&mut self, incoming: Incoming) -> Result<Leave, Error> {
        match incoming {
            Incoming::Line(raw) => return self.server_line(&raw),
            Incoming::Lost { why, retry_in } => {
                self.screen.online = false;
                self.retry_notice(&why.to_string(), retry_in)?;
            }
            Incoming::Retrying { why, retry_in } => self.retry_notice(&why.brief(), retry_in)?,
            Incoming::Rejoined => {
                self.screen.online = true;
                let msg = format!("reconnected to {}", self.link.target());
                let msg = self.screen.style.notice(&msg);
                self.screen.show(&msg)?;
            }
            Incoming::NeedPassword => {
                let mut asker = TtyAsker {
                    signals: self.signals,
                };
                self.link.set_password(asker.password()?);
                self.screen.redraw()?;
            }
            Incoming::Notice(text) => {
                let msg = self.screen.style.notice(&text);
                self.screen.show(&msg)?;
            }
            Incoming::Ended => return Ok(Some(Ok(()))),
        }
        Ok(None)
    }

    /// Say that chatc will try again in `retry_in`.
    fn retry_notice(&mut self, why: &str, retry_in: Duration) -> Result<(), Error> {
        let msg = format!(
            "{why}; reconnecting in {} s (Ctrl-C to quit)",
            retry_in.as_secs()
        );
        let msg = self.screen.style.error(&msg);
        self.screen.show(&msg)?;
        Ok(())
    }

    /// Show one server line and follow what it means for the session.
    fn server_line(&mut self, raw: &str) -> Result<Leave, Error> {
        let Ok(line) = ServerLine::parse(raw) else {
            return Ok(None);
        };
        let replayed = matches!(line, ServerLine::Hist { .. });
        if let ServerLine::Hist {
            time, name, text, ..
        } = line
        {
            if self.seen.contains(time, name, text) {
                return Ok(None);
            }
        }
        self.roster.follow(&line);
        // Draw first: a NICK line is worded from the old name's point of view.
        let me = self.screen.me.clone();
        let for_me = alert::for_me(&line, &me);
        let style = self.screen.style;
        let shown = match for_me {
            Some(_) => style.highlight(&line, &me),
            None => style.server_line(&line, &me),
        };
        if let Some(s) = shown {
            let extra = match (&for_me, replayed) {
                (Some((title, text)), false) => self.alerts.raise(title, text),
                _ => String::new(),
            };
            self.screen.show_with(&s, &extra)?;
        }
        match line {
            ServerLine::Welcome { name, .. } => {
                self.screen.me = name.to_string();
                self.screen.redraw()?;
            }
            ServerLine::Nick { old, new, .. } if same_name(old, &self.screen.me) => {
                self.screen.me = new.to_string();
                self.link.set_name(new);
                self.screen.redraw()?;
            }
            ServerLine::Hist {
                time, name, text, ..
            } => self.seen.note(time, name, text),
            ServerLine::Msg { time, from, text } | ServerLine::Me { time, from, text } => {
                self.seen.note(time, from, text);
            }
            _ => {}
        }
        Ok(farewell(&line))
    }

    /// Handle one key.
    fn key(&mut self, key: Key) -> Result<Leave, Error> {
        if key == Key::Suspend {
            self.screen.clear()?;
            self.raw.stop_until_continued()?;
            self.screen.redraw()?;
            return Ok(None);
        }
        match std::mem::take(&mut self.screen.mode) {
            Mode::Edit => self.edit_key(key),
            Mode::Search(search) => self.search_key(search, key),
            Mode::ConfirmPaste(lines) => {
                match key {
                    Key::Char('y' | 'Y') => self.send_lines(lines)?,
                    Key::Char('n' | 'N') | Key::Interrupt | Key::Cancel => {
                        let msg = format!("{} pasted lines not sent", lines.len());
                        let msg = self.screen.style.notice(&msg);
                        self.screen.show(&msg)?;
                    }
                    _ => self.screen.mode = Mode::ConfirmPaste(lines),
                }
                self.screen.redraw()?;
                Ok(None)
            }
        }
    }

    /// Handle a key while editing.
    fn edit_key(&mut self, key: Key) -> Result<Leave, Error> {
        if key != Key::Tab {
            self.completer.reset();
        }
        let editor = &mut self.screen.editor;
        match key {
            Key::Tab => {
                self.completer.tab(editor, &self.roster, &self.screen.me);
            }
            Key::Up => {
                if let Some(line) = self.recall.up(&editor.text()) {
                    editor.set(line);
                }
            }
            Key::Down => {
                if let Some(line) = self.recall.down() {
                    editor.set(line);
                }
            }
            Key::SearchBack => {
                self.screen.mode = Mode::Search(Search::new(editor.text()));
            }
            Key::Paste { text, cut } => self.paste(&text, cut)?,
            key => match editor.key(key) {
                Action::Redraw | Action::Other(_) => {}
                Action::Quit => return Ok(Some(self.quit(&quit_line()))),
                Action::Submit(text) => return self.submit(&text),
            },
        }
        self.screen.redraw()?;
        Ok(None)
    }

    /// Handle a key during a Ctrl-R search: typing refines it, Ctrl-R goes further back,
    /// Enter sends the match, Ctrl-G or Ctrl-C cancel, any other key keeps the match to edit.
    fn search_key(&mut self, mut search: Search, key: Key) -> Result<Leave, Error> {
        match key {
            Key::Char(c) => {
                search.query.push(c);
                search.refresh(&self.recall);
            }
            Key::Backspace => {
                search.query.pop();
                search.refresh(&self.recall);
            }
            Key::SearchBack => search.older(&self.recall),
            Key::Cancel | Key::Interrupt => {
                self.screen.editor.set(&search.original);
                self.screen.redraw()?;
                return Ok(None);
            }
            Key::Enter => {
                let Some((_, text)) = search.found else {
                    self.screen.editor.set(&search.original);
                    self.screen.redraw()?;
                    return Ok(None);
                };
                return self.submit(&text);
            }
            _ => {
                let text = search.found.map_or(search.original, |(_, t)| t);
                self.screen.editor.set(&text);
                self.screen.redraw()?;
                return Ok(None);
            }
        }
        self.screen.mode = Mode::Search(search);
        self.screen.redraw()?;
        Ok(None)
    }

    /// Take a paste: one line goes into the editor; several are sent as separate messages
    /// (after a confirmation when there are many), and a last unfinished one stays to edit.
    fn paste(&mut self, text: &str, cut: bool) -> Result<(), Error> {
        if cut {
            let msg = self
                .screen
                .style
                .error("the paste was too long; its end was dropped");
            self.screen.show(&msg)?;
        }
        if !text.contains('\n') {
            self.screen.editor.insert(text);
            return Ok(());
        }
        let editor = &mut self.screen.editor;
        let whole = editor.text();
        let (before, after) = whole.split_at(
            whole
                .char_indices()
                .nth(editor.cursor())
                .map_or(whole.len(), |(i, _)| i),
        );
        let joined = format!("{before}{text}{after}");
        let mut lines: Vec<String> = joined.split('\n').map(String::from).collect();
        let last = lines.pop().unwrap_or_default();
        editor.set(&last);
        lines.retain(|l| !l.trim().is_empty());
        if lines.len() > PASTE_CONFIRM {
            self.screen.mode = Mode::ConfirmPaste(lines);
            return Ok(());
        }
        self.send_lines(lines)
    }

    /// Queue lines to be sent, paced, saying so when it will take a while.
    fn send_lines(&mut self, lines: Vec<String>) -> Result<(), Error> {
        let n = lines.len();
        for line in lines {
            for piece in outgoing(&line) {
                self.outbox.push(piece);
            }
        }
        if self.outbox.len() > PASTE_CONFIRM || !self.link.online() {
            let when = if self.link.online() {
                ""
            } else {
                " once reconnected"
            };
            let msg = format!("sending {n} lines{when}, paced to the server's limit");
            let msg = self.screen.style.notice(&msg);
            self.screen.show(&msg)?;
        }
        Ok(())
    }

    /// Handle a line the user entered.
    fn submit(&mut self, text: &str) -> Result<Leave, Error> {
        self.recall.push(text);
        match Command::parse(text) {
            Command::Empty => return Ok(None),
            Command::Quit(_) => return Ok(Some(self.quit(text))),
            _ => {}
        }
        if !self.link.online() {
            let msg = self
                .screen
                .style
                .error("not connected; your line is kept, press Enter again once reconnected");
            self.screen.editor.set(text);
            self.screen.show(&msg)?;
            return Ok(None);
        }
        for piece in outgoing(text) {
            self.outbox.push(piece);
        }
        self.screen.redraw()?;
        Ok(None)
    }

    /// Send the lines whose turn has come; show the user's own messages as they go.
    fn send_ready(&mut self) -> Result<Leave, Error> {
        while self.link.online() {
            let Some(line) = self.outbox.pop_ready() else {
                break;
            };
            let cmd = Command::parse(&line);
            if let Command::Quit(_) = cmd {
                return Ok(Some(self.quit(&line)));
            }
            if self.link.send(&line).is_err() {
                // The link reports the loss; the line waits for the next connection.
                self.outbox.unpop(line);
                break;
            }
            let now = clock::wall();
            if let Some(s) = self.screen.style.own(&cmd, &self.screen.me, now) {
                if let Command::Say(t) | Command::Me(t) = cmd {
                    self.seen.note(now, &self.screen.me, t);
                }
                self.screen.show(&s)?;
            }
        }
        Ok(None)
    }

    /// Leave: send `line` (a quit command) and wait briefly for `BYE quit`.
    fn quit(&mut self, line: &str) -> Result<(), Error> {
        let dropped = self.outbox.clear();
        if dropped > 0 {
            let msg = format!("{dropped} lines not sent");
            let msg = self.screen.style.notice(&msg);
            self.screen.show(&msg)?;
        }
        if self.link.send(line).is_err() {
            return Ok(());
        }
        let deadline = Instant::now() + QUIT_TIMEOUT;
        for _ in 0..1000 {
            let Some(raw) = self.link.read_line(deadline) else {
                break;
            };
            if let Some(r) = self.server_line(&raw)? {
                return r.or(Ok(()));
            }
        }
        Ok(())
    }
}
