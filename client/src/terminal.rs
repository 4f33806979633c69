//! The controlling terminal: raw mode with a guard that always restores it, the window width,
//! and reading a password with echo off.
//!
//! [`RawMode`] saves the terminal settings, switches stdin to raw mode, asks the terminal for
//! bracketed paste (so a paste arrives marked as one, see [`crate::keys`]) and puts everything
//! back when dropped — on a normal exit, on an error, and (through a panic hook installed by
//! [`RawMode::enter`]) on a panic. Signals are turned into events by [`crate::signals`], so the
//! loops exit through the guard too. [`RawMode::suspend`] and [`RawMode::resume`] do the same
//! around Ctrl-Z, so the shell gets a sane terminal while chatc is stopped.

use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::sync::{Mutex, Once};

use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

use crate::signals::Signals;

/// Settings to put back if the program panics while the terminal is raw.
static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);
/// Guards the one-time installation of the panic hook.
static HOOK: Once = Once::new();

/// Return true if stdin is a terminal.
pub fn stdin_is_tty() -> bool {
    io::stdin().is_terminal()
}

/// Return true if stdout is a terminal.
pub fn stdout_is_tty() -> bool {
    io::stdout().is_terminal()
}

/// Ask the terminal to mark pastes (bracketed paste mode).
const PASTE_ON: &[u8] = b"\x1b[?2004h";
/// Stop marking pastes.
const PASTE_OFF: &[u8] = b"\x1b[?2004l";

/// Write terminal control bytes to stdout, ignoring errors (the terminal may be gone).
fn control(bytes: &[u8]) {
    let mut out = io::stdout();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Put the saved settings back, if any (used by the panic hook).
fn restore_saved() {
    let saved = match SAVED.lock() {
        Ok(mut g) => g.take(),
        Err(p) => p.into_inner().take(),
    };
    if let Some(t) = saved {
        control(PASTE_OFF);
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSAFLUSH, &Termios::from(t));
    }
}

/// Raw mode on stdin for as long as this value lives.
pub struct RawMode {
    saved: Termios,
    raw: Termios,
}

impl RawMode {
    /// Save the terminal settings and switch stdin to raw mode (output processing stays on).
    pub fn enter() -> nix::Result<RawMode> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        // Keep `\n` → `\r\n` on output, so printing stays simple.
        raw.output_flags = saved.output_flags;
        if let Ok(mut g) = SAVED.lock() {
            *g = Some(libc::termios::from(saved.clone()));
        }
        HOOK.call_once(|| {
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_saved();
                default(info);
            }));
        });
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSAFLUSH, &raw)?;
        control(PASTE_ON);
        Ok(RawMode { saved, raw })
    }

    /// Give the terminal back as it was, for a while (before chatc stops on Ctrl-Z).
    pub fn suspend(&self) {
        control(PASTE_OFF);
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &self.saved);
    }

    /// Stop chatc as Ctrl-Z stops any program, with the terminal given back first; return
    /// once it runs again (`fg`), in raw mode.
    pub fn stop_until_continued(&self) -> nix::Result<()> {
        self.suspend();
        // The default action of SIGTSTP stops the process; the kernel ignores it in a process
        // group no shell controls, and then there is nothing to wait for.
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP);
        self.resume()
    }

    /// Take raw mode again (after `fg`: the shell may have changed the settings meanwhile).
    pub fn resume(&self) -> nix::Result<()> {
        termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &self.raw)?;
        control(PASTE_ON);
        Ok(())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        control(PASTE_OFF);
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSAFLUSH, &self.saved);
        if let Ok(mut g) = SAVED.lock() {
            *g = None;
        }
        let _ = io::stdout().flush();
    }
}

/// Return the width of the terminal on stdout in columns (80 if unknown).
#[allow(unsafe_code)]
pub fn width() -> usize {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which points to a live,
    // properly aligned `winsize` on our stack; fd 1 is only read.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if rc == 0 && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}

/// Why a line could not be read from the terminal.
#[derive(Debug)]
pub enum PromptError {
    /// The user pressed Ctrl-C or Ctrl-D, or a signal asked us to stop.
    Cancelled,
    /// The terminal failed.
    Io(io::Error),
}

impl From<nix::Error> for PromptError {
    fn from(e: nix::Error) -> Self {
        PromptError::Io(io::Error::from(e))
    }
}

/// Ask for a line on the terminal, with or without echo, reading keys one by one.
///
/// The terminal is in non-canonical mode without signals while this runs, so Ctrl-C and Ctrl-D
/// cancel cleanly and the settings are always restored before returning.
pub fn prompt(
    question: &str,
    echo: bool,
    signals: Option<&Signals>,
) -> Result<String, PromptError> {
    let stdin = io::stdin();
    let saved = termios::tcgetattr(stdin.as_fd())?;
    let mut t = saved.clone();
    t.local_flags
        .remove(LocalFlags::ICANON | LocalFlags::ISIG | LocalFlags::ECHO);
    let mut out = io::stderr();
    let _ = write!(out, "{question}");
    let _ = out.flush();
    termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &t)?;
    let result = read_keys(echo, signals);
    let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &saved);
    let _ = writeln!(out);
    result
}

/// Longest answer accepted at a prompt, in bytes.
const MAX_ANSWER: usize = 1024;

/// Read keys until Enter; handle backspace; Ctrl-C or Ctrl-D cancel.
fn read_keys(echo: bool, signals: Option<&Signals>) -> Result<String, PromptError> {
    let mut bytes = Vec::new();
    let mut out = io::stderr();
    loop {
        if !crate::signals::wait_stdin(signals).map_err(PromptError::Io)? {
            return Err(PromptError::Cancelled);
        }
        let mut b = [0u8; 1];
        let n = nix::unistd::read(io::stdin().as_fd(), &mut b)?;
        match (n, b[0]) {
            (0, _) | (_, 3) | (_, 4) => return Err(PromptError::Cancelled),
            (_, b'\r' | b'\n') => break,
            (_, 0x7f | 0x08) => {
                // Drop one whole UTF-8 character.
                while let Some(last) = bytes.pop() {
                    if last & 0xC0 != 0x80 {
                        break;
                    }
                }
                if echo {
                    let _ = write!(out, "\x08 \x08");
                }
            }
            (_, c) if c < 0x20 => {}
            (_, c) => {
                if bytes.len() < MAX_ANSWER {
                    bytes.push(c);
                    if echo {
                        let _ = out.write_all(&[c]);
                    }
                }
            }
        }
        let _ = out.flush();
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
