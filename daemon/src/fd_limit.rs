//! The open-file limit: raised to the hard limit at start, as many daemons do, and checked
//! against what `--max-clients` needs.
//!
//! When the limit is still too low, clients past it are told `BYE full` through a spare
//! descriptor the event loop keeps (see `event_loop.rs`), and the start logs a warning.

use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

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
