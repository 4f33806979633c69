//! Signals as events: SIGINT, SIGTERM, SIGHUP and SIGQUIT set a flag and wake the poll loop
//! through a self-pipe, so chatc leaves through its normal path and restores the terminal;
//! SIGWINCH (the window was resized) sets another, so the input line is drawn again, and so
//! does SIGCONT (chatc was stopped and is running again), so raw mode is taken back too.
//!
//! SIGTSTP keeps its default action: chatc stops itself with it on Ctrl-Z after giving the
//! terminal back, and a shell without job control (an orphaned process group) makes the kernel
//! ignore it, as it would for any program.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGWINCH};

/// The signals that ask chatc to stop.
const STOP: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// Flags raised by a stop signal, a resize and a continue, and the read end of the pipe that
/// wakes `poll`.
pub struct Signals {
    stop: Arc<AtomicBool>,
    resized: Arc<AtomicBool>,
    continued: Arc<AtomicBool>,
    wake: UnixStream,
}

impl Signals {
    /// Install the handlers.
    pub fn install() -> io::Result<Signals> {
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        for sig in STOP {
            signal_hook::flag::register(sig, Arc::clone(&stop))?;
            signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
        }
        let resized = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(SIGWINCH, Arc::clone(&resized))?;
        signal_hook::low_level::pipe::register(SIGWINCH, write.try_clone()?)?;
        let continued = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(SIGCONT, Arc::clone(&continued))?;
        signal_hook::low_level::pipe::register(SIGCONT, write)?;
        Ok(Signals {
            stop,
            resized,
            continued,
            wake,
        })
    }

    /// Return the descriptor to poll for readability.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Empty the pipe and say whether a stop signal arrived.
    pub fn stop_requested(&self) -> bool {
        let mut buf = [0u8; 64];
        for _ in 0..16 {
            match (&self.wake).read(&mut buf) {
                Ok(n) if n > 0 => continue,
                _ => break,
            }
        }
        self.stop.load(Ordering::SeqCst)
    }
}

impl Signals {
    /// Say whether the window was resized since the last call.
    pub fn take_resize(&self) -> bool {
        self.resized.swap(false, Ordering::SeqCst)
    }

    /// Say whether chatc was continued (after being stopped) since the last call.
    pub fn take_continued(&self) -> bool {
        self.continued.swap(false, Ordering::SeqCst)
    }
}

/// Wait until stdin is readable; return false if a stop signal came first.
pub fn wait_stdin(signals: Option<&Signals>) -> io::Result<bool> {
    let stdin = io::stdin();
    for _ in 0..1_000_000 {
        if signals.is_some_and(Signals::stop_requested) {
            return Ok(false);
        }
        let mut fds = vec![PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        if let Some(s) = signals {
            fds.push(PollFd::new(s.fd(), PollFlags::POLLIN));
        }
        match nix::poll::poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {
                if fds[0].revents().is_some_and(|r| !r.is_empty()) {
                    return Ok(true);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(false)
}
