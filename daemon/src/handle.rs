//! A handle to a running daemon: stop or reload it from another thread or a signal handler.

use std::io::{self, Write as _};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Asks a running [`crate::Daemon`] to stop or reload, from another thread or a signal handler.
#[derive(Debug, Clone)]
pub struct Handle {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) reload: Arc<AtomicBool>,
    pub(crate) waker: Arc<UnixStream>,
}

impl Handle {
    /// Ask the daemon to shut down gracefully (as SIGTERM does).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Ask the daemon to re-read its password file (as SIGHUP does).
    pub fn reload(&self) {
        self.reload.store(true, Ordering::SeqCst);
        self.wake();
    }

    fn wake(&self) {
        let _ = (&*self.waker).write(&[1]);
    }

    /// Return the flag that asks for shutdown, for signal handlers.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Return the flag that asks for a reload, for signal handlers.
    pub fn reload_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.reload)
    }

    /// Return a new descriptor for the wake-up socket, for signal handlers to write to.
    pub fn waker(&self) -> io::Result<UnixStream> {
        self.waker.try_clone()
    }
}
