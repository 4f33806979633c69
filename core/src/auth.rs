//! Password checking: constant-time comparison and slowing down guessers.
//!
//! The comparison takes the same time wherever the first wrong byte is, so a guesser learns
//! nothing from timing. [`Throttle`] remembers recent failures per address: after
//! [`AUTH_FAILURES_ALLOWED`] failures an address is refused for [`AUTH_PENALTY`].

use core::net::IpAddr;

use crate::config::{AUTH_FAILURES_ALLOWED, AUTH_PENALTY, AUTH_TRACKED};
use crate::time::Instant;

/// Compare a guess with the password in time that depends only on their lengths.
pub fn password_matches(expected: &[u8], guess: &[u8]) -> bool {
    let mut diff = u8::from(expected.len() != guess.len());
    for (i, &e) in expected.iter().enumerate() {
        let g = guess.get(i).copied().unwrap_or(0);
        diff |= e ^ g;
    }
    core::hint::black_box(diff) == 0
}

#[derive(Debug, Clone, Copy)]
struct Record {
    addr: IpAddr,
    failures: u8,
    last: Instant,
}

/// Failed-password counts for recently seen addresses, with a fixed capacity.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    records: heapless::Vec<Record, AUTH_TRACKED>,
}

impl Throttle {
    /// Make an empty throttle.
    pub const fn new() -> Self {
        Throttle {
            records: heapless::Vec::new(),
        }
    }

    /// Return whether `addr` must wait before trying again, forgetting stale records.
    pub fn is_blocked(&mut self, now: Instant, addr: IpAddr) -> bool {
        self.records
            .retain(|r| now.duration_since(r.last) < AUTH_PENALTY);
        self.records
            .iter()
            .any(|r| r.addr == addr && r.failures >= AUTH_FAILURES_ALLOWED)
    }

    /// Record a failed password from `addr`; return how many failures it has now.
    pub fn fail(&mut self, now: Instant, addr: IpAddr) -> u8 {
        if let Some(r) = self.records.iter_mut().find(|r| r.addr == addr) {
            r.failures = r.failures.saturating_add(1);
            r.last = now;
            return r.failures;
        }
        let rec = Record {
            addr,
            failures: 1,
            last: now,
        };
        if self.records.push(rec).is_err() {
            // Full: replace the record seen longest ago.
            if let Some(oldest) = self.records.iter_mut().min_by_key(|r| r.last) {
                *oldest = rec;
            }
        }
        1
    }

    /// Forget the failures of `addr` after it gave the right password.
    pub fn succeed(&mut self, addr: IpAddr) {
        self.records.retain(|r| r.addr != addr);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::time::Duration;
    use core::net::Ipv4Addr;

    #[test]
    fn compares_passwords() {
        assert!(password_matches(b"sesame", b"sesame"));
        assert!(!password_matches(b"sesame", b"sesamE"));
        assert!(!password_matches(b"sesame", b"sesam"));
        assert!(!password_matches(b"sesame", b"sesame\0"));
        assert!(!password_matches(b"sesame", b""));
        assert!(password_matches(b"", b""));
    }

    #[test]
    fn blocks_after_repeated_failures_then_forgives() {
        let mut t = Throttle::new();
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
        let t0 = Instant::from_millis(100_000);
        for n in 1..=AUTH_FAILURES_ALLOWED {
            assert!(!t.is_blocked(t0, a));
            assert_eq!(t.fail(t0, a), n);
        }
        assert!(t.is_blocked(t0, a));
        assert!(!t.is_blocked(t0, b), "other addresses are unaffected");
        let ms = Duration::from_millis;
        assert!(t.is_blocked(t0 + (AUTH_PENALTY - ms(1)), a));
        assert!(!t.is_blocked(t0 + AUTH_PENALTY, a));
    }

    #[test]
    fn stays_bounded_under_many_addresses() {
        let mut t = Throttle::new();
        let now = Instant::from_millis(1000);
        for i in 0..1000u32 {
            t.fail(now, IpAddr::V4(Ipv4Addr::from(i)));
        }
        assert_eq!(t.records.len(), AUTH_TRACKED);
        t.succeed(IpAddr::V4(Ipv4Addr::from(999)));
        assert_eq!(t.records.len(), AUTH_TRACKED - 1);
    }
}
