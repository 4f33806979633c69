//! The two clocks the core wants: `CLOCK_MONOTONIC` (through [`std::time::Instant`]) for every
//! timer, so a wall-clock jump moves none; the wall clock only for stamps and log records.

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
