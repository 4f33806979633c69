//! Password checking: constant-time comparison, and slowing down guessers, one address at a
//! time and all of them together.
//!
//! The comparison takes the same time wherever the first wrong byte is, so a guesser learns
//! nothing from timing. [`Throttle`] decides, for each guess as it arrives, whether it may be
//! checked at all:
//!
//! - **Per address.** After [`AUTH_FAILURES_ALLOWED`] wrong passwords an address is refused
//!   until [`AUTH_PENALTY`] has passed since its last one, however many connections it holds.
//! - **Across all addresses.** Every wrong password, from anywhere, spends one unit of a
//!   global budget of [`AUTH_BUDGET_BURST`] that earns one back every [`AUTH_BUDGET_REFILL`].
//!   When it is spent, no guess from any address is checked until it has earned one back, so
//!   rotating through many addresses (easy on a LAN, trivial in an IPv6 /64) gets at most a
//!   steady 30 guesses a minute checked instead of three per address.
//!
//! # When the table is full
//!
//! The per-address table has a fixed capacity, [`AUTH_TRACKED`] addresses. An address is in
//! it only while it has a wrong password less than [`AUTH_PENALTY`] old, and the global budget
//! lets at most 36 wrong passwords through in any such window, so the table cannot fill while
//! the budget holds (checked at compile time below). Should it fill anyway, the choice is
//! deliberate: an address that is blocked is **never** evicted; a fresh failure replaces the
//! unblocked address whose last failure is oldest; and if every entry is blocked, the fresh
//! failure is counted in the global budget only (like OpenSSH's `PerSourcePenalties`
//! `overflow=permissive`, but still bounded by the budget).
//!
//! Addresses are compared exactly (IPv4-mapped IPv6 as IPv4): on a LAN every host shares the
//! link's IPv6 /64, so a per-/64 count would let one guesser block everyone; the global
//! budget is what bounds a host that rotates through its own addresses.

use core::net::IpAddr;

use crate::config::{
    AUTH_BUDGET_BURST, AUTH_BUDGET_REFILL, AUTH_FAILURES_ALLOWED, AUTH_PENALTY, AUTH_TRACKED,
};
use crate::time::Instant;

// The table never fills while the budget holds: more entries than failures the budget lets
// through in one penalty window (see the module documentation).
const _: () = assert!(
    AUTH_TRACKED as u128
        > AUTH_BUDGET_BURST as u128 + AUTH_PENALTY.as_millis() / AUTH_BUDGET_REFILL.as_millis() + 1
);

/// Compare a guess with the password in time that depends only on their lengths.
pub fn password_matches(expected: &[u8], guess: &[u8]) -> bool {
    let mut diff = u8::from(expected.len() != guess.len());
    for (i, &e) in expected.iter().enumerate() {
        let g = guess.get(i).copied().unwrap_or(0);
        diff |= e ^ g;
    }
    core::hint::black_box(diff) == 0
}

/// Why a password guess may not be checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// This address gave [`AUTH_FAILURES_ALLOWED`] wrong passwords within [`AUTH_PENALTY`].
    Address,
    /// The server's global budget of wrong passwords is spent, for every address.
    Everyone,
}

impl Hold {
    /// Return the sentence that tells a client why its guess was not checked.
    pub fn text(self) -> &'static str {
        match self {
            Hold::Address => "Too many wrong passwords from your address; wait and try again.",
            Hold::Everyone => {
                "Too many wrong passwords reached this server lately; wait and try again."
            }
        }
    }
}

/// What became of one password guess (see `Server`'s password check, which every protocol's
/// password command goes through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// The password is right: the connection may go on to give a name.
    Right,
    /// The password is wrong; it was counted against the address and the global budget.
    Wrong,
    /// The guess was not checked: the throttle holds, for the reason given.
    Held(Hold),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    addr: IpAddr,
    failures: u8,
    last: Instant,
}

impl Record {
    fn is_blocked(&self) -> bool {
        self.failures >= AUTH_FAILURES_ALLOWED
    }
}

/// The global budget of wrong passwords: a token bucket kept in milliseconds of refill time,
/// so that one wrong password costs [`AUTH_BUDGET_REFILL`] of it.
#[derive(Debug, Clone, Copy)]
struct Budget {
    credit_ms: u64,
    last: Instant,
}

/// Milliseconds of credit one wrong password costs.
const COST_MS: u64 =
    AUTH_BUDGET_REFILL.as_secs() * 1000 + AUTH_BUDGET_REFILL.subsec_millis() as u64;
/// Milliseconds of credit the budget holds when full.
const FULL_MS: u64 = AUTH_BUDGET_BURST as u64 * COST_MS;

impl Budget {
    const fn new() -> Self {
        Budget {
            credit_ms: FULL_MS,
            last: Instant::ZERO,
        }
    }

    fn refill(&mut self, now: Instant) {
        let earned = u64::try_from(now.duration_since(self.last).as_millis()).unwrap_or(u64::MAX);
        self.credit_ms = self.credit_ms.saturating_add(earned).min(FULL_MS);
        self.last = self.last.max(now);
    }

    fn can_spend(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.credit_ms >= COST_MS
    }

    fn spend(&mut self, now: Instant) {
        self.refill(now);
        self.credit_ms = self.credit_ms.saturating_sub(COST_MS);
    }
}

/// Recent wrong passwords, per address (a fixed-capacity table) and for the whole server.
#[derive(Debug, Clone)]
pub struct Throttle {
    records: heapless::Vec<Record, AUTH_TRACKED>,
    budget: Budget,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new()
    }
}

impl Throttle {
    /// Make a throttle that remembers no failure and has its whole budget.
    pub const fn new() -> Self {
        Throttle {
            records: heapless::Vec::new(),
            budget: Budget::new(),
        }
    }

    /// Forget addresses whose last failure is at least [`AUTH_PENALTY`] old.
    fn forget_stale(&mut self, now: Instant) {
        self.records
            .retain(|r| now.duration_since(r.last) < AUTH_PENALTY);
    }

    /// Return whether `addr` itself is blocked (the per-address rule alone), forgetting
    /// stale records; for turning a guesser away as it connects.
    pub fn is_blocked(&mut self, now: Instant, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.forget_stale(now);
        self.records
            .iter()
            .any(|r| r.addr == addr && r.is_blocked())
    }

    /// Return whether a guess from `addr` may be checked now: call it for every guess,
    /// before comparing, and refuse the guess unchecked on `Err`.
    pub fn check(&mut self, now: Instant, addr: IpAddr) -> Result<(), Hold> {
        if self.is_blocked(now, addr) {
            return Err(Hold::Address);
        }
        if !self.budget.can_spend(now) {
            return Err(Hold::Everyone);
        }
        Ok(())
    }

    /// Record a wrong password from `addr`, in the global budget and for the address;
    /// return how many wrong passwords the address has now (1 if the table had no room for
    /// it, see the module documentation).
    pub fn fail(&mut self, now: Instant, addr: IpAddr) -> u8 {
        let addr = addr.to_canonical();
        self.budget.spend(now);
        self.forget_stale(now);
        if let Some(r) = self.records.iter_mut().find(|r| r.addr == addr) {
            r.failures = r.failures.saturating_add(1);
            r.last = r.last.max(now);
            return r.failures;
        }
        let rec = Record {
            addr,
            failures: 1,
            last: now,
        };
        if self.records.push(rec).is_err() {
            // Full: replace the unblocked address seen longest ago; blocked ones stay.
            if let Some(oldest) = self
                .records
                .iter_mut()
                .filter(|r| !r.is_blocked())
                .min_by_key(|r| r.last)
            {
                *oldest = rec;
            }
        }
        1
    }

    /// Forget the failures of `addr` after it gave the right password (the global budget
    /// keeps what was spent).
    pub fn succeed(&mut self, addr: IpAddr) {
        let addr = addr.to_canonical();
        self.records.retain(|r| r.addr != addr);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::time::Duration;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn v4(n: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x7f00_0000 + u32::try_from(n).unwrap()))
    }

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
        let (a, b) = (v4(2), v4(3));
        let t0 = Instant::from_millis(100_000);
        for n in 1..=AUTH_FAILURES_ALLOWED {
            assert_eq!(t.check(t0, a), Ok(()));
            assert_eq!(t.fail(t0, a), n);
        }
        assert!(t.is_blocked(t0, a));
        assert_eq!(t.check(t0, a), Err(Hold::Address));
        assert_eq!(t.check(t0, b), Ok(()), "other addresses are unaffected");
        let ms = Duration::from_millis;
        assert!(t.is_blocked(t0 + (AUTH_PENALTY - ms(1)), a));
        assert!(!t.is_blocked(t0 + AUTH_PENALTY, a));
    }

    #[test]
    fn an_ipv4_mapped_address_is_the_same_address() {
        let mut t = Throttle::new();
        let now = Instant::from_millis(1000);
        let mapped = IpAddr::V6(Ipv4Addr::new(127, 0, 0, 2).to_ipv6_mapped());
        for _ in 0..AUTH_FAILURES_ALLOWED {
            t.fail(now, mapped);
        }
        assert!(t.is_blocked(now, v4(2)));
        // A neighbour in the same IPv6 /64 is another address.
        let a = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
        let b = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
        for _ in 0..AUTH_FAILURES_ALLOWED {
            t.fail(now, a);
        }
        assert!(t.is_blocked(now, a));
        assert!(!t.is_blocked(now, b));
    }

    #[test]
    fn blocked_addresses_are_never_evicted_by_fresh_failures() {
        // Issue 10.3: with the old table, 32 other addresses failing once unblocked `a`.
        let mut t = Throttle::new();
        let now = Instant::from_millis(1000);
        let a = v4(1);
        for _ in 0..AUTH_FAILURES_ALLOWED {
            t.fail(now, a);
        }
        // Record failures directly (the budget would stop a real run long before).
        for i in 0..1000 {
            t.fail(now, v4(100 + i));
            assert!(t.records.len() <= AUTH_TRACKED);
        }
        assert!(t.is_blocked(now, a), "a blocked address was evicted");
        // A table full of blocked addresses keeps all of them.
        let mut t = Throttle::new();
        for i in 0..AUTH_TRACKED {
            for _ in 0..AUTH_FAILURES_ALLOWED {
                t.fail(now, v4(i));
            }
        }
        assert_eq!(t.fail(now, v4(5000)), 1);
        assert!((0..AUTH_TRACKED).all(|i| t.is_blocked(now, v4(i))));
        assert!(!t.is_blocked(now, v4(5000)));
    }

    #[test]
    fn the_global_budget_slows_addresses_taking_turns() {
        // Issue 10.3: 40 addresses guessing in turn were never throttled.
        let mut t = Throttle::new();
        let t0 = Instant::from_millis(50_000);
        let mut checked = 0u32;
        let mut held = 0u32;
        for round in 0..3 {
            for i in 0..40 {
                match t.check(t0, v4(i)) {
                    Ok(()) => {
                        checked += 1;
                        t.fail(t0, v4(i));
                    }
                    Err(h) => {
                        held += 1;
                        assert_eq!(h, Hold::Everyone, "round {round}, address {i}");
                    }
                }
            }
        }
        assert_eq!(checked, AUTH_BUDGET_BURST);
        assert_eq!(held, 120 - AUTH_BUDGET_BURST);
        // The budget earns one guess back per refill period, for any address.
        assert_eq!(t.check(t0 + AUTH_BUDGET_REFILL, v4(77)), Ok(()));
        t.fail(t0 + AUTH_BUDGET_REFILL, v4(77));
        assert_eq!(
            t.check(t0 + AUTH_BUDGET_REFILL, v4(78)),
            Err(Hold::Everyone)
        );
        // A right password costs nothing and clears its address.
        t.succeed(v4(77));
        assert!(!t.is_blocked(t0 + AUTH_BUDGET_REFILL, v4(77)));
    }

    #[test]
    fn the_table_never_fills_while_the_budget_holds() {
        // Every guess from a new address, as fast as the budget lets them through, for ten
        // penalty windows: the table stays within the bound the module documents.
        let mut t = Throttle::new();
        let bound = AUTH_BUDGET_BURST as usize
            + (AUTH_PENALTY.as_millis() / AUTH_BUDGET_REFILL.as_millis()) as usize
            + 1;
        let mut now = Instant::from_millis(10_000);
        let mut next = 0usize;
        let mut most = 0;
        for _ in 0..3000 {
            now += Duration::from_millis(100);
            for _ in 0..5 {
                if t.check(now, v4(next)).is_ok() {
                    t.fail(now, v4(next));
                }
                next += 1;
            }
            most = most.max(t.records.len());
        }
        assert!(most <= bound, "{most} addresses tracked at once");
        assert!(most < AUTH_TRACKED);
        assert!(
            most >= AUTH_BUDGET_BURST as usize,
            "the test must fill the budget"
        );
    }
}
