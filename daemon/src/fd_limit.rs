//! The open-file limit: raised to the hard limit at start, as many daemons do, and checked
//! against what `--max-clients` needs.
//!
//! When the limit is still too low, the start logs a warning, and clients past it are told
//! `BYE full` through a [`Spare`] descriptor the event loop keeps, instead of nothing.

use std::fs::File;
use std::io::{self, IoSlice};
use std::net::{SocketAddr, TcpListener};

use log::{info, Level};
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

use crate::socket;

/// Descriptors chatd uses besides one per client: the standard streams, epoll, the wake-up
/// socket and its copies for the signal handlers, the log sink, the spare descriptor, the
/// pidfile and the two files of a history save, with room to spare. Listeners come on top.
pub const RESERVED: u64 = 16;

/// The highest soft limit chatd asks for when the hard limit is unlimited.
const CEILING: u64 = 1 << 20;

/// The limit chatd runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit before chatd raised it.
    pub was: u64,
    /// The soft limit now in force.
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
    /// Why raising failed, if it did (a seccomp filter, say).
    pub error: Option<Errno>,
}

/// Raise the soft open-file limit to the hard one (at most 2^20); report what is in force.
pub fn raise() -> FdLimit {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((0, 0));
    let want = if hard == RLIM_INFINITY {
        CEILING.max(soft)
    } else {
        hard
    };
    let mut limit = FdLimit {
        was: soft,
        soft,
        hard,
        error: None,
    };
    if want > soft {
        match setrlimit(Resource::RLIMIT_NOFILE, want, hard) {
            Ok(()) => limit.soft = want,
            Err(e) => limit.error = Some(e),
        }
    }
    limit
}

/// Return the open-file limit that `max_clients` clients on `listeners` sockets need.
pub fn needed(max_clients: usize, listeners: usize) -> u64 {
    let n = u64::try_from(max_clients.saturating_add(listeners)).unwrap_or(u64::MAX);
    n.saturating_add(RESERVED)
}

/// Raise the limit for `max_clients` clients on `listeners` sockets; return what to log at
/// start: a warning if the limit is still too low.
pub fn raise_for(max_clients: usize, listeners: usize) -> Option<(Level, String)> {
    let fds = raise();
    let needed = needed(max_clients, listeners);
    if fds.soft < needed {
        let why = fds
            .error
            .map_or(String::new(), |e| format!(" raise-error=\"{e}\""));
        Some((
            Level::Warn,
            format!(
                "fd-limit soft={} hard={} needed={needed} max-clients={max_clients}{why}; clients past the limit get BYE full (raise LimitNOFILE= or ulimit -n)",
                fds.soft, fds.hard
            ),
        ))
    } else if fds.soft > fds.was {
        Some((
            Level::Debug,
            format!("fd-limit raised-from={} soft={}", fds.was, fds.soft),
        ))
    } else {
        None
    }
}

/// Return whether an `accept` failed for want of file descriptors.
pub fn out_of_fds(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(Errno::EMFILE | Errno::ENFILE)
    )
}

/// A descriptor held in reserve (`/dev/null`): when the process is out of descriptors it is
/// freed for just long enough to accept one client, tell it why and close it.
#[derive(Debug)]
pub struct Spare(Option<File>);

impl Spare {
    /// Take the spare descriptor.
    pub fn new() -> Spare {
        Spare(File::open("/dev/null").ok())
    }

    /// Return whether the spare is there to use.
    pub fn is_ready(&self) -> bool {
        self.0.is_some()
    }

    /// Out of descriptors: free the spare, accept the next client from `listener`, send it
    /// `line` (`BYE full`), close it and take the spare back. Return whether a client was
    /// refused and the spare is back, so that accepting may go on.
    pub fn refuse_one(&mut self, listener: &TcpListener, line: &[u8]) -> bool {
        drop(self.0.take());
        let refused = match listener.accept() {
            Ok((stream, peer)) => {
                let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                if stream.set_nonblocking(true).is_ok() {
                    let _ = socket::send_vectored(&stream, &[IoSlice::new(line)]);
                    socket::drain(&stream);
                }
                info!(target: "chatd", "refused peer={peer} reason=fd-limit");
                true
            }
            Err(_) => false,
        };
        *self = Spare::new();
        refused && self.is_ready()
    }
}

impl Default for Spare {
    fn default() -> Self {
        Spare::new()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn raises_to_the_hard_limit() {
        let l = raise();
        assert!(l.soft >= l.was);
        if l.error.is_none() && l.hard != RLIM_INFINITY {
            assert_eq!(l.soft, l.hard);
        }
        assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap().0, l.soft);
        assert_eq!(needed(256, 2), 274);
    }
}
