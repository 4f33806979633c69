//! A rate limit per kind of log line, so that an accept storm cannot flood the journal.
//!
//! The kind of a line is its first word (`connect`, `refused`, `auth-failure`, …). Each kind
//! has a token bucket: `burst` lines at once, then `per_sec` a second. What the limit holds
//! back is counted per kind and reported as one `log-suppressed` line per kind and
//! [`REPORT_INTERVAL`]. Kinds are few and fixed in the code; past [`KINDS`] of them the rest
//! share one bucket.

use std::time::{Duration, Instant};

/// Distinct kinds with a bucket of their own.
pub const KINDS: usize = 48;
/// Longest kind name kept; longer first words share a bucket with the others.
const KIND_LEN: usize = 32;
/// How often, at most, the held-back lines of one kind are reported.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// A rate limit for one kind of line: `burst` at once, then `per_sec` a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRate {
    /// Lines allowed at once.
    pub burst: u32,
    /// Lines allowed per second after the burst.
    pub per_sec: u32,
}

impl Default for LogRate {
    fn default() -> Self {
        LogRate {
            burst: 100,
            per_sec: 20,
        }
    }
}

/// The bucket of one kind.
#[derive(Debug)]
struct Bucket {
    name: heapless::String<KIND_LEN>,
    /// Thousandths of a line.
    tokens: u64,
    refilled: Instant,
    held_back: u64,
    /// When the first line not yet reported was held back.
    since: Option<Instant>,
}

/// The per-kind limiter.
#[derive(Debug)]
pub struct Limiter {
    rate: Option<LogRate>,
    buckets: heapless::Vec<Bucket, KINDS>,
    other: Option<Bucket>,
}

/// Return the kind of `msg`: its first word.
pub fn kind_of(msg: &str) -> &str {
    msg.split(' ').next().unwrap_or("")
}

impl Bucket {
    fn new(name: &str, rate: LogRate, now: Instant) -> Bucket {
        let mut n = heapless::String::new();
        let _ = n.push_str(name);
        Bucket {
            name: n,
            tokens: u64::from(rate.burst) * 1000,
            refilled: now,
            held_back: 0,
            since: None,
        }
    }

    fn allow(&mut self, rate: LogRate, now: Instant) -> bool {
        let ms = now.saturating_duration_since(self.refilled).as_millis();
        let ms = u64::try_from(ms).unwrap_or(u64::MAX);
        let cap = u64::from(rate.burst) * 1000;
        // `per_sec` lines a second is `per_sec` thousandths of a line a millisecond.
        self.tokens = self
            .tokens
            .saturating_add(ms.saturating_mul(u64::from(rate.per_sec)))
            .min(cap);
        self.refilled = now;
        if self.tokens >= 1000 {
            self.tokens -= 1000;
            true
        } else {
            self.held_back += 1;
            self.since.get_or_insert(now);
            false
        }
    }
}

impl Limiter {
    /// A limiter with `rate` per kind, or none at all.
    pub fn new(rate: Option<LogRate>) -> Limiter {
        Limiter {
            rate,
            buckets: heapless::Vec::new(),
            other: None,
        }
    }

    /// Return whether a line of kind `kind` may be written now; count it if not.
    pub fn allow(&mut self, kind: &str, now: Instant) -> bool {
        let Some(rate) = self.rate else {
            return true;
        };
        if let Some(b) = self.buckets.iter_mut().find(|b| b.name == kind) {
            return b.allow(rate, now);
        }
        if kind.len() <= KIND_LEN && !self.buckets.is_full() {
            let mut b = Bucket::new(kind, rate, now);
            let ok = b.allow(rate, now);
            let _ = self.buckets.push(b);
            return ok;
        }
        self.other
            .get_or_insert_with(|| Bucket::new("other", rate, now))
            .allow(rate, now)
    }

    /// Call `report(kind, lines)` for each kind whose held-back lines are due to be reported,
    /// and forget them.
    pub fn take_reports(&mut self, now: Instant, mut report: impl FnMut(&str, u64)) {
        for b in self.buckets.iter_mut().chain(self.other.as_mut()) {
            if b.since
                .is_some_and(|t| now.saturating_duration_since(t) >= REPORT_INTERVAL)
            {
                report(&b.name, b.held_back);
                b.held_back = 0;
                b.since = None;
            }
        }
    }

    /// Return when the next report is due, if lines are held back.
    pub fn next_report(&self) -> Option<Instant> {
        self.buckets
            .iter()
            .chain(self.other.as_ref())
            .filter_map(|b| b.since)
            .min()
            .map(|t| t + REPORT_INTERVAL)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn each_kind_gets_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut l = Limiter::new(Some(LogRate {
            burst: 3,
            per_sec: 10,
        }));
        let allowed = (0..10).filter(|_| l.allow("connect", t0)).count();
        assert_eq!(allowed, 3);
        // Another kind is not held back by the first.
        assert!(l.allow("auth-failure", t0));
        // 10 a second: one more after 100 ms, not before.
        assert!(!l.allow("connect", t0 + Duration::from_millis(50)));
        assert!(l.allow("connect", t0 + Duration::from_millis(150)));
        assert_eq!(l.next_report(), Some(t0 + REPORT_INTERVAL));
        let mut seen = Vec::new();
        l.take_reports(t0 + Duration::from_millis(500), |k, n| {
            seen.push((k.to_string(), n))
        });
        assert!(seen.is_empty());
        l.take_reports(t0 + REPORT_INTERVAL, |k, n| seen.push((k.to_string(), n)));
        assert_eq!(seen, vec![("connect".to_string(), 8)]);
        assert_eq!(l.next_report(), None);
    }

    #[test]
    fn no_rate_allows_everything_and_many_kinds_share_a_bucket() {
        let t0 = Instant::now();
        let mut off = Limiter::new(None);
        assert!((0..10_000).all(|_| off.allow("connect", t0)));
        let mut l = Limiter::new(Some(LogRate {
            burst: 1,
            per_sec: 1,
        }));
        for k in 0..KINDS {
            assert!(l.allow(&format!("kind{k}"), t0));
        }
        assert!(l.allow("one-too-many", t0));
        assert!(!l.allow("and-another", t0));
        assert_eq!(kind_of("connect peer=1.2.3.4:5 conn=0"), "connect");
    }
}
