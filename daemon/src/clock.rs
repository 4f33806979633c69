//! The two clocks the core wants: a monotonic one for every timer, the wall clock for stamps.
//!
//! Timers read `CLOCK_MONOTONIC` (through [`std::time::Instant`]), so a wall clock that jumps —
//! a board without a real-time clock that boots in 1970 and meets NTP later — fires no timeout
//! early and holds none back. The wall clock only stamps lines and log records.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use chat_core::{Instant, Now, Timestamp};

/// Return the time on both clocks.
pub fn now() -> Now {
    Now {
        instant: monotonic(),
        wall: wall(),
    }
}

/// Return the monotonic clock, in milliseconds since its first reading in this process.
pub fn monotonic() -> Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(std::time::Instant::now);
    Instant::from_millis(u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX))
}

/// Return the wall clock in whole seconds; a clock before 1970 reads as the epoch.
pub fn wall() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_clocks_read_sensibly() {
        let a = monotonic();
        let b = monotonic();
        assert!(b >= a, "the monotonic clock never goes back");
        assert!(
            wall() > Timestamp(1_700_000_000),
            "the wall clock is in this century"
        );
    }
}
