//! The per-client rate limit: a token bucket with a warning before the kick.
//!
//! A client may send [`FloodLimit::burst`] lines at once, then [`FloodLimit::per_sec`] lines a
//! second. A line over the limit is refused: the first with a warning, and after
//! [`FLOOD_STRIKES`] refused lines (counted until the bucket is full again) the client is
//! disconnected. Nobody else waits for a flooder: its lines are simply not relayed.

use crate::time::Instant;

/// Refused lines that get a client disconnected.
pub const FLOOD_STRIKES: u32 = 10;

/// The rate a client may send lines at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodLimit {
    /// Lines that may come at once.
    pub burst: u32,
    /// Lines per second on average.
    pub per_sec: u32,
}

impl Default for FloodLimit {
    fn default() -> Self {
        FloodLimit {
            burst: 20,
            per_sec: 5,
        }
    }
}

/// What to do with a line under the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: handle the line.
    Pass,
    /// First line over the limit: refuse it and warn.
    Warn,
    /// Over the limit again: refuse it quietly.
    Drop,
    /// Too many refused lines: disconnect the client.
    Kick,
}

/// One client's token bucket, in thousandths of a line.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    milli_tokens: u64,
    last: Instant,
    strikes: u32,
}

impl Bucket {
    /// Make a full bucket at `now`.
    pub fn new(limit: &FloodLimit, now: Instant) -> Self {
        Bucket {
            milli_tokens: u64::from(limit.burst) * 1000,
            last: now,
            strikes: 0,
        }
    }

    /// Charge one line at `now` and say what to do with it.
    pub fn take(&mut self, limit: &FloodLimit, now: Instant) -> Verdict {
        let cap = u64::from(limit.burst.max(1)) * 1000;
        let elapsed = now.duration_since(self.last).as_millis();
        // Thousandths of a line: one a second per line of `per_sec`, one a millisecond each.
        let refill =
            u64::try_from(elapsed.saturating_mul(u128::from(limit.per_sec))).unwrap_or(u64::MAX);
        self.last = self.last.max(now);
        self.milli_tokens = self.milli_tokens.saturating_add(refill).min(cap);
        if self.milli_tokens == cap {
            self.strikes = 0;
        }
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            return Verdict::Pass;
        }
        self.strikes = self.strikes.saturating_add(1);
        match self.strikes {
            1 => Verdict::Warn,
            s if s >= FLOOD_STRIKES => Verdict::Kick,
            _ => Verdict::Drop,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::time::Duration;

    const LIMIT: FloodLimit = FloodLimit {
        burst: 3,
        per_sec: 2,
    };

    #[test]
    fn burst_then_warn_then_kick() {
        let t = Instant::from_millis(1000);
        let mut b = Bucket::new(&LIMIT, t);
        for _ in 0..3 {
            assert_eq!(b.take(&LIMIT, t), Verdict::Pass);
        }
        assert_eq!(b.take(&LIMIT, t), Verdict::Warn);
        for _ in 2..FLOOD_STRIKES {
            assert_eq!(b.take(&LIMIT, t), Verdict::Drop);
        }
        assert_eq!(b.take(&LIMIT, t), Verdict::Kick);
    }

    #[test]
    fn refills_at_the_rate() {
        let t = Instant::from_millis(1000);
        let mut b = Bucket::new(&LIMIT, t);
        for _ in 0..3 {
            b.take(&LIMIT, t);
        }
        assert_eq!(
            b.take(&LIMIT, t + Duration::from_millis(499)),
            Verdict::Warn
        );
        assert_eq!(
            b.take(&LIMIT, t + Duration::from_millis(500)),
            Verdict::Pass
        );
        // A steady 2 lines a second never trips.
        let mut now = t + Duration::from_millis(10_000);
        for _ in 0..100 {
            assert_eq!(b.take(&LIMIT, now), Verdict::Pass);
            now += Duration::from_millis(500);
        }
    }

    #[test]
    fn strikes_forgiven_once_bucket_is_full() {
        let t = Instant::from_millis(1000);
        let mut b = Bucket::new(&LIMIT, t);
        for _ in 0..3 {
            b.take(&LIMIT, t);
        }
        assert_eq!(b.take(&LIMIT, t), Verdict::Warn);
        let later = t + Duration::from_millis(1500);
        assert_eq!(b.take(&LIMIT, later), Verdict::Pass);
        for _ in 0..2 {
            b.take(&LIMIT, later);
        }
        assert_eq!(
            b.take(&LIMIT, later),
            Verdict::Warn,
            "warned afresh, not kicked"
        );
    }

    #[test]
    fn clock_going_backwards_does_not_panic_or_refill() {
        let t = Instant::from_millis(10_000);
        let mut b = Bucket::new(&LIMIT, t);
        for _ in 0..3 {
            b.take(&LIMIT, t);
        }
        assert_eq!(b.take(&LIMIT, Instant::from_millis(1000)), Verdict::Warn);
    }
}
