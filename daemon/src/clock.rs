//! The wall clock as the core wants it: milliseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

use chat_core::Instant;

/// Return the current time; a clock before 1970 reads as the epoch.
pub fn now() -> Instant {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Instant(u64::try_from(ms).unwrap_or(u64::MAX))
}
