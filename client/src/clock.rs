//! chatc's clocks, in one place: the wall clock for what is shown, a monotonic one for pacing.
//!
//! The core never reads a clock. chatc reads the wall clock only to stamp what the user says
//! ([`wall`]) and turns server time stamps (UTC) into the user's local time of day
//! ([`local_hour_minute`], through the C library's `localtime_r`, which knows the time zone).
//! Pacing what it sends needs only intervals, so [`pace_now`] counts from a monotonic origin
//! and a wall-clock jump cannot stall or rush it.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chat_core::{Instant, Timestamp};
use nix::poll::PollTimeout;

/// Return the current wall-clock time in whole seconds (the epoch if the clock is before it).
pub fn wall() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// Return a monotonic [`Instant`] for the core's flood bucket: time since chatc first asked.
pub fn pace_now() -> Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    let since = ORIGIN.get_or_init(std::time::Instant::now).elapsed();
    Instant::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// Return a `poll` timeout for waiting `wait` (`None`: no limit), at most ten seconds at a
/// time so that a long wait is simply polled again.
pub fn poll_timeout(wait: Option<Duration>) -> PollTimeout {
    wait.map_or(PollTimeout::NONE, |w| {
        PollTimeout::from(u16::try_from(w.as_millis().min(10_000)).unwrap_or(10_000))
    })
}

/// Return the hour and minute of `t` in the local time zone (UTC if it cannot be known).
#[allow(unsafe_code)]
pub fn local_hour_minute(t: Timestamp) -> (u32, u32) {
    let utc = || {
        let (_, _, _, h, m, _) = t.civil();
        (h, m)
    };
    let Ok(secs) = libc::time_t::try_from(t.0) else {
        return utc();
    };
    // SAFETY: `tm` is plain old data, so all-zero is a valid value; `localtime_r` reads one
    // `time_t` and writes one `tm`, both live locals, and is thread-safe.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::localtime_r(&secs, &mut tm) };
    if r.is_null() {
        return utc();
    }
    match (u32::try_from(tm.tm_hour), u32::try_from(tm.tm_min)) {
        (Ok(h), Ok(m)) => (h, m),
        _ => utc(),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn local_time_is_a_time_of_day() {
        let (h, m) = local_hour_minute(Timestamp(1_795_961_585));
        assert!(h < 24 && m < 60);
        // Time zones differ from UTC by whole quarter hours, so the minute agrees mod 15.
        assert_eq!(m % 15, 13);
    }

    #[test]
    fn the_wall_clock_is_after_the_protocol_was_written() {
        assert!(wall() > Timestamp(1_700_000_000));
    }

    #[test]
    fn the_pacing_clock_never_goes_back() {
        let a = pace_now();
        let b = pace_now();
        assert!(b >= a);
    }
}
