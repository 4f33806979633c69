//! Signals: SIGTERM and SIGINT stop the daemon gracefully, SIGHUP reloads the password, and
//! SIGPIPE never kills it. Each handler sets a flag and writes a byte to the loop's wake-up
//! socket, so the poll loop sees it at once.

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGPIPE, SIGTERM};
use signal_hook::{flag, low_level::pipe};

use crate::event_loop::Handle;

/// Install the handlers for a daemon reached through `handle`.
pub fn install(handle: &Handle) -> io::Result<()> {
    // SIGPIPE: a handler that does nothing keeps a write to a closed peer from killing us
    // (sends also use MSG_NOSIGNAL; this covers every other write).
    flag::register(SIGPIPE, Arc::new(AtomicBool::new(false)))?;
    for sig in [SIGTERM, SIGINT] {
        // Flag first, then the wake-up: the loop reads the flag after it wakes.
        flag::register(sig, handle.stop_flag())?;
        pipe::register(sig, handle.waker()?)?;
    }
    flag::register(SIGHUP, handle.reload_flag())?;
    pipe::register(SIGHUP, handle.waker()?)?;
    Ok(())
}
