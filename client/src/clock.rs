//! The wall clock, and local time for display.
//!
//! The core never reads a clock; chatc does it here: [`now`] stamps what the user says, and
//! [`local_hour_minute`] turns a server time stamp (UTC) into the user's local time of day
//! through the C library's `localtime_r`, which knows the time zone.

use std::time::{SystemTime, UNIX_EPOCH};

use chat_core::{Instant, Timestamp};

/// Return the current time as an [`Instant`].
pub fn now() -> Instant {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Instant::from_millis(ms)
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
        assert!(now().timestamp() > Timestamp(1_700_000_000));
    }
}
