//! Time as the caller gives it: the core never reads a clock.
//!
//! Two clocks, never mixed: a monotonic [`Instant`] (with [`Duration`]) drives every timer and
//! rate limit, so a wall clock that jumps (NTP on a board without a real-time clock) moves no
//! timeout; the wall clock's [`Timestamp`] only stamps lines. [`Now`] carries both.

use core::fmt;

pub use core::time::Duration;

/// A point on the caller's monotonic clock, in milliseconds from an origin of its choosing.
///
/// Only differences between instants mean anything; an instant says nothing about the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);

    /// Make an instant `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// Return the time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;

    /// Return the instant `d` later (whole milliseconds), saturating at the end of time.
    fn add(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

impl core::ops::AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// The time of an event on both clocks, which need not agree: timers read `instant`, lines are
/// stamped with `wall`, and the server never derives one from the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Now {
    /// The monotonic clock, for timeouts and rate limits.
    pub instant: Instant,
    /// The wall clock, for the `TIME` field of the lines this event causes.
    pub wall: Timestamp,
}

/// Whole seconds since the Unix epoch, shown as `2026-11-24T14:03:05Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

/// Why a time stamp could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTimestamp;

impl fmt::Display for BadTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a time stamp of the form 2026-11-24T14:03:05Z")
    }
}

impl core::error::Error for BadTimestamp {}

/// Civil date from days since the epoch (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    // The day of the 400-year era, below 146,097: it fits, and so does all that follows.
    let doe = u32::try_from(z.rem_euclid(146_097)).unwrap_or_default();
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = i64::from(yoe) + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since the epoch from a civil date (the inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Timestamp {
    /// Return (year, month, day, hour, minute, second) in UTC.
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        // Days since the epoch stay below 2^48, so they fit an i64; the rest of a day, a u32.
        let days = i64::try_from(self.0 / 86_400).unwrap_or(i64::MAX);
        let rem = u32::try_from(self.0 % 86_400).unwrap_or_default();
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
    }

    /// Read a time stamp written by [`Timestamp`]'s `Display`.
    pub fn parse(s: &str) -> Result<Timestamp, BadTimestamp> {
        let b = s.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return Err(BadTimestamp);
        }
        let num = |r: core::ops::Range<usize>| -> Result<u32, BadTimestamp> {
            let mut v: u32 = 0;
            for &c in &b[r] {
                if !c.is_ascii_digit() {
                    return Err(BadTimestamp);
                }
                v = v * 10 + u32::from(c - b'0');
            }
            Ok(v)
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if y < 1970
            || !(1..=12).contains(&mo)
            || !(1..=31).contains(&d)
            || h > 23
            || mi > 59
            || se > 60
        {
            return Err(BadTimestamp);
        }
        let days = days_from_civil(i64::from(y), mo, d);
        let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se);
        u64::try_from(secs).map(Timestamp).map_err(|_| BadTimestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::string::ToString;

    #[test]
    fn formats_known_instants() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(Timestamp(1_795_961_585).to_string(), "2026-11-29T14:13:05Z");
        assert_eq!(Timestamp(4_107_542_399).to_string(), "2100-02-28T23:59:59Z");
        // Far beyond any real clock, but it still renders, without wrapping into the past.
        assert!(Timestamp(u64::MAX).civil().0 > 9999);
    }

    #[test]
    fn parse_is_the_inverse_of_display() {
        for secs in [0u64, 59, 86_399, 951_782_400, 1_795_961_585, 4_102_444_800] {
            let s = Timestamp(secs).to_string();
            assert_eq!(Timestamp::parse(&s), Ok(Timestamp(secs)), "{s}");
        }
    }

    #[test]
    fn parse_refuses_garbage() {
        for s in [
            "",
            "2026-11-24 14:03:05Z",
            "2026-13-01T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "abcd-11-24T14:03:05Z",
        ] {
            assert_eq!(Timestamp::parse(s), Err(BadTimestamp), "{s}");
        }
    }

    #[test]
    fn instant_arithmetic_saturates() {
        let t = Instant::from_millis(10_000);
        assert_eq!(
            (t + Duration::from_millis(500)).duration_since(t),
            Duration::from_millis(500)
        );
        assert_eq!(
            t.duration_since(t + Duration::from_millis(1)),
            Duration::ZERO
        );
        assert_eq!(
            Instant(u64::MAX) + Duration::from_millis(1),
            Instant(u64::MAX)
        );
        assert_eq!(t + Duration::MAX, Instant(u64::MAX));
        assert_eq!(
            t + Duration::from_micros(1999),
            Instant::from_millis(10_001)
        );
    }
}
