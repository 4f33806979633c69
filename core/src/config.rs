//! Capacities and tunables of the core, in one place.
//!
//! The constants size the fixed buffers; [`Config`] holds what the daemon may change at run time.

use core::fmt;

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
/// Client slots in the daemon's default build: at least 1,000 people (a school, a LAN party,
/// a conference) on one box.
///
/// A slot's memory is touched only when a client first takes it, so an idle daemon costs no
/// more for a larger table; the daemon holds one file descriptor per client, which its
/// systemd unit's `LimitNOFILE=4096` leaves room for. See README.md ("Memory").
pub const DEFAULT_SLOTS: usize = 1024;
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
/// Longest IRC channel name, `#` included: the `CHANNELLEN` of `005 ISUPPORT`.
pub const CHANNELLEN: usize = 32;
/// Longest server name shown to IRC clients (a host name label's limit).
pub const SERVER_NAME_LEN: usize = 63;
/// Longest IRC network name, the `NETWORK` of `005 ISUPPORT`.
pub const NETWORK_LEN: usize = 32;
/// Longest channel topic in bytes, the `TOPICLEN` of `005 ISUPPORT`: a `332` line with the
/// longest server name, nick and channel still fits in 512 bytes.
pub const TOPICLEN: usize = 300;
/// Bytes of the user name an IRC client gives in `USER` that are kept (`USERLEN`); it is shown
/// after a `~`, as `nick!~user@irc`.
pub const USERLEN: usize = 10;
/// How long an IRC client may stay silent before the server sends it `PING`, and then how long
/// it has to answer before it is dropped.
pub const IRC_PING: Duration = Duration::from_secs(120);

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
    /// What IRC clients are told: the channel, server and network names, the topic, and
    /// the keep-alive interval.
    pub irc: IrcConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            password: None,
            max_clients: DEFAULT_SLOTS,
            flood: Some(FloodLimit::default()),
            join_timeout: JOIN_TIMEOUT,
            max_per_address: Some(DEFAULT_MAX_PER_ADDRESS),
            irc: IrcConfig::default(),
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

/// The IRC side of the configuration: names clients see, and the keep-alive interval.
///
/// The names are checked when set, so that every line built from them is a valid IRC line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrcConfig {
    channel: heapless::String<CHANNELLEN>,
    server_name: heapless::String<SERVER_NAME_LEN>,
    network: heapless::String<NETWORK_LEN>,
    topic: heapless::String<TOPICLEN>,
    /// Silence after which the server pings an IRC client, and then the time it has to
    /// answer (at least a second).
    pub ping: Duration,
}

/// Why an IRC setting was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrcConfigError {
    /// The value is empty.
    Empty,
    /// The value is longer than its capacity (the bytes allowed).
    TooLong(usize),
    /// A channel name must start with `#`.
    NoHash,
    /// The value holds a character it may not (for names: other than letters, digits, `-`,
    /// `.` and `_`; for a channel: a space, comma, colon or control character; for a topic:
    /// a control character).
    BadChar,
}

impl fmt::Display for IrcConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrcConfigError::Empty => f.write_str("it is empty"),
            IrcConfigError::TooLong(n) => write!(f, "it is longer than {n} bytes"),
            IrcConfigError::NoHash => f.write_str("a channel name starts with #"),
            IrcConfigError::BadChar => f.write_str("it holds a character it may not"),
        }
    }
}

impl core::error::Error for IrcConfigError {}

impl Default for IrcConfig {
    fn default() -> Self {
        let mut c = IrcConfig {
            channel: heapless::String::new(),
            server_name: heapless::String::new(),
            network: heapless::String::new(),
            topic: heapless::String::new(),
            ping: IRC_PING,
        };
        // Short, valid constants: these cannot fail.
        let _ = c.channel.push_str("#chat");
        let _ = c.server_name.push_str("chatd");
        let _ = c.network.push_str("chatd");
        c
    }
}

/// Copy `s` into a string of capacity `N`, or say it is too long.
fn bounded<const N: usize>(s: &str) -> Result<heapless::String<N>, IrcConfigError> {
    let mut out = heapless::String::new();
    out.push_str(s).map_err(|_| IrcConfigError::TooLong(N))?;
    Ok(out)
}

/// Check a server or network name: letters, digits, `-`, `.` and `_`, not empty.
fn host_like<const N: usize>(s: &str) -> Result<heapless::String<N>, IrcConfigError> {
    if s.is_empty() {
        return Err(IrcConfigError::Empty);
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Err(IrcConfigError::BadChar);
    }
    bounded(s)
}

impl IrcConfig {
    /// Return the one channel, `#chat` by default.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Return the server name IRC lines come from, `chatd` by default.
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// Return the network name of `005 ISUPPORT`, `chatd` by default.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// Return the channel topic; empty (no topic) by default.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Set the channel name: `#` then up to [`CHANNELLEN`] bytes in all, with no space,
    /// comma, colon or control character (IRC separates with them).
    pub fn set_channel(&mut self, name: &str) -> Result<(), IrcConfigError> {
        let rest = name.strip_prefix('#').ok_or(if name.is_empty() {
            IrcConfigError::Empty
        } else {
            IrcConfigError::NoHash
        })?;
        if rest.is_empty() {
            return Err(IrcConfigError::Empty);
        }
        if rest
            .chars()
            .any(|c| c.is_control() || matches!(c, ' ' | ',' | ':'))
        {
            return Err(IrcConfigError::BadChar);
        }
        self.channel = bounded(name)?;
        Ok(())
    }

    /// Set the server name (a host name, say): letters, digits, `-`, `.`, `_`, up to
    /// [`SERVER_NAME_LEN`] bytes.
    pub fn set_server_name(&mut self, name: &str) -> Result<(), IrcConfigError> {
        self.server_name = host_like(name)?;
        Ok(())
    }

    /// Set the network name: letters, digits, `-`, `.`, `_`, up to [`NETWORK_LEN`] bytes.
    pub fn set_network(&mut self, name: &str) -> Result<(), IrcConfigError> {
        self.network = host_like(name)?;
        Ok(())
    }

    /// Set the topic: up to [`TOPICLEN`] bytes without control characters; empty means none.
    pub fn set_topic(&mut self, topic: &str) -> Result<(), IrcConfigError> {
        if topic.chars().any(char::is_control) {
            return Err(IrcConfigError::BadChar);
        }
        self.topic = bounded(topic)?;
        Ok(())
    }

    /// Return whether `name` is the channel, ignoring ASCII case (IRC's `ascii` mapping).
    pub fn is_channel(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.channel)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn irc_names_are_checked() {
        let mut c = IrcConfig::default();
        assert_eq!(c.channel(), "#chat");
        assert!(c.is_channel("#CHAT"));
        assert_eq!(c.set_channel("#sala"), Ok(()));
        assert_eq!(c.channel(), "#sala");
        assert_eq!(c.set_channel("sala"), Err(IrcConfigError::NoHash));
        assert_eq!(c.set_channel(""), Err(IrcConfigError::Empty));
        assert_eq!(c.set_channel("#"), Err(IrcConfigError::Empty));
        for bad in ["#a b", "#a,b", "#a:b", "#a\u{7}"] {
            assert_eq!(c.set_channel(bad), Err(IrcConfigError::BadChar), "{bad}");
        }
        assert_eq!(
            c.set_channel(&std::format!("#{}", "x".repeat(CHANNELLEN))),
            Err(IrcConfigError::TooLong(CHANNELLEN))
        );
        assert_eq!(c.channel(), "#sala", "a refused value changes nothing");
        assert_eq!(c.set_server_name("irc.lan"), Ok(()));
        assert_eq!(c.set_server_name("a b"), Err(IrcConfigError::BadChar));
        assert_eq!(c.set_server_name("a!b"), Err(IrcConfigError::BadChar));
        assert_eq!(c.set_network(""), Err(IrcConfigError::Empty));
        assert_eq!(c.set_network("Home-LAN"), Ok(()));
        assert_eq!(c.set_topic("Bem-vindos à sala"), Ok(()));
        assert_eq!(c.set_topic("a\u{3}4red"), Err(IrcConfigError::BadChar));
        assert_eq!(
            c.set_topic(&"t".repeat(TOPICLEN + 1)),
            Err(IrcConfigError::TooLong(TOPICLEN))
        );
        assert_eq!(c.topic(), "Bem-vindos à sala");
    }
}
