//! Capacities and tunables of the core, in one place.
//!
//! The constants size the fixed buffers; [`Config`] holds what the daemon may change at run time.

use crate::flood::FloodLimit;
use crate::time::Duration;

/// Largest client line in bytes, including its `\n` terminator.
pub const MAX_LINE: usize = 1024;
/// Largest name in bytes.
pub const MAX_NAME: usize = 32;
/// Largest password in bytes.
pub const MAX_PASSWORD: usize = 128;
/// Public messages kept for newcomers.
pub const HISTORY_LEN: usize = 10;
/// Bytes of lines for one connection alone (welcome, history replay, private messages,
/// errors) it may have queued before it counts as a slow consumer.
///
/// Lines for everyone go through the shared broadcast ring instead, so this queue only needs
/// to hold the join burst and a few private lines. 4 KiB keeps 256 slots at 1.3 MiB; see
/// README.md ("Memory").
pub const OUT_QUEUE: usize = 4 * 1024;
/// Bytes of the broadcast ring: how far behind the newest public line a client may fall
/// before it counts as a slow consumer.
pub const RING_BYTES: usize = 256 * 1024;
/// Lines the broadcast ring holds at most.
pub const RING_RECORDS: usize = 4096;
/// Client slots in the daemon's default build.
pub const DEFAULT_SLOTS: usize = 256;
/// Largest line the server ever writes: a client's text plus kind, time and two names.
pub const MAX_SERVER_LINE: usize = MAX_LINE + 2 * MAX_NAME + 64;
/// How long a connection may take from connect to a valid name.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Failed passwords from one address before further attempts are refused for a while.
pub const AUTH_FAILURES_ALLOWED: u8 = 3;
/// How long an address that failed too often is refused, from its last failure.
pub const AUTH_PENALTY: Duration = Duration::from_secs(30);
/// Wrong passwords the whole server checks at once, from all addresses together, before
/// every further guess waits for the budget to refill (see [`crate::auth`]).
pub const AUTH_BUDGET_BURST: u32 = 20;
/// How long the global budget takes to earn back one wrong password: 2 s, so guessing from
/// ever new addresses gets at most 30 guesses a minute checked, server-wide.
pub const AUTH_BUDGET_REFILL: Duration = Duration::from_secs(2);
/// Addresses whose failed passwords are remembered at once.
///
/// Every remembered address failed within the last [`AUTH_PENALTY`], and the global budget
/// lets at most `AUTH_BUDGET_BURST + AUTH_PENALTY / AUTH_BUDGET_REFILL + 1` (36) failures
/// through in any such window, so the table never fills; `crate::auth` checks this at
/// compile time.
pub const AUTH_TRACKED: usize = 64;
/// Connections one address may hold at once by default (any phase, joined or not), like
/// ngircd's `MaxConnectionsIP`; `None` in [`Config::max_per_address`] lifts the cap.
pub const DEFAULT_MAX_PER_ADDRESS: usize = 8;
/// One slot in this many (rounded up) is kept for addresses that hold no connection yet.
///
/// When fewer free slots than that remain, an address that already has a connection is
/// refused: a few hogs can fill the rest of the table but never lock out a newcomer. See
/// [`reserved_slots`].
pub const RESERVE_DIVISOR: usize = 16;

/// Return how many of `max_clients` slots are kept for addresses with no connection yet:
/// one in [`RESERVE_DIVISOR`], rounded up (16 of 256; 1 of 2 to 16).
pub const fn reserved_slots(max_clients: usize) -> usize {
    max_clients.div_ceil(RESERVE_DIVISOR)
}

/// Run-time settings of a [`crate::Server`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The password a client must send first, or `None` for an open server.
    pub password: Option<heapless::Vec<u8, MAX_PASSWORD>>,
    /// How many clients may be connected at once (at most the compiled slot count).
    pub max_clients: usize,
    /// The per-client rate limit, or `None` to turn flood control off (for benchmarks).
    pub flood: Option<FloodLimit>,
    /// How long a connection may take to join before it is dropped.
    pub join_timeout: Duration,
    /// Connections one address may hold at once (IPv6 counted per full address), and with
    /// it the reserve of [`reserved_slots`]; `None` turns both per-address rules off.
    pub max_per_address: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            password: None,
            max_clients: DEFAULT_SLOTS,
            flood: Some(FloodLimit::default()),
            join_timeout: JOIN_TIMEOUT,
            max_per_address: Some(DEFAULT_MAX_PER_ADDRESS),
        }
    }
}

/// Why a password could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordTooLong;

impl core::fmt::Display for PasswordTooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "password is longer than {MAX_PASSWORD} bytes")
    }
}

impl core::error::Error for PasswordTooLong {}

impl Config {
    /// Set the password from raw bytes; an empty slice means no password.
    pub fn set_password(&mut self, password: &[u8]) -> Result<(), PasswordTooLong> {
        if password.is_empty() {
            self.password = None;
            return Ok(());
        }
        let v = heapless::Vec::from_slice(password).map_err(|_| PasswordTooLong)?;
        self.password = Some(v);
        Ok(())
    }
}
