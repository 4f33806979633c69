//! The clocks, and local time for display.
//!
//! The core never reads a clock; chatc does it here: [`wall`] stamps what the user says,
//! [`monotonic`] paces a script, and [`local_hour_minute`] turns a server time stamp (UTC) into
//! the user's local time of day through the C library's `localtime_r`.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use chat_core::{Instant, Timestamp};

/// Return the wall clock in whole seconds; a clock before 1970 reads as the epoch.
pub fn wall() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// Return the monotonic clock, in milliseconds since its first reading in this process.
pub fn monotonic() -> Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(std::time::Instant::now);
    Instant::from_millis(u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX))
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
    fn now_is_after_the_protocol_was_written() {
        assert!(wall() > Timestamp(1_700_000_000));
    }
}
