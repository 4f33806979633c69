//! What the daemon runs with, independent of how it was asked for (CLI, environment, tests).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_core::flood::FloodLimit;

/// The port chatd listens on when no address is given.
pub const DEFAULT_PORT: u16 = 5000;

/// The port of the native TLS listeners when `--tls-listen` gives no address: next to the
/// plain-text port, so that "5000 plain, 5001 encrypted" is easy to remember.
pub const DEFAULT_TLS_PORT: u16 = 5001;

/// Where one kind of listener listens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ListenOn {
    /// The kind's default addresses (`[::]` and `0.0.0.0` on its port), unless systemd passed
    /// sockets of that kind.
    #[default]
    Default,
    /// None of this kind (sockets systemd passes for it are still served).
    Off,
    /// These addresses (and any sockets systemd passes for the kind).
    Addrs(Vec<SocketAddr>),
}

/// What the plain-text listeners do with a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Plain {
    /// Chat in plain text, as always.
    #[default]
    Allow,
    /// Answer one `BYE tls` line naming the TLS port, then close: encrypted chat only.
    Refuse,
}

/// Client slots compiled into the daemon; `--max-clients` may only lower it.
pub const SLOTS: usize = chat_core::config::DEFAULT_SLOTS;

/// Where the history is kept when neither `--state-dir` nor `$STATE_DIRECTORY` says.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/chatd";

/// Settings of one daemon instance.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Addresses to listen on; empty means `[::]:5000` and `0.0.0.0:5000`.
    pub listen: Vec<SocketAddr>,
    /// Whether to take listening sockets from systemd (`LISTEN_FDS`); only the binary sets it.
    pub socket_activation: bool,
    /// How many clients may be connected at once (1..=[`SLOTS`]).
    pub max_clients: usize,
    /// The file holding the password, re-read on SIGHUP; `None` for an open server.
    pub password_file: Option<PathBuf>,
    /// Where the history is saved; `None` keeps it in memory only.
    pub state_dir: Option<PathBuf>,
    /// The per-client rate limit, or `None` for none.
    pub flood: Option<FloodLimit>,
    /// How long a connection may take to join.
    pub join_timeout: Duration,
    /// Where the native TLS listeners are; off by default here (tests), on from the command
    /// line (see `Cli::settings`).
    pub tls_listen: ListenOn,
    /// The operator's certificate and key files; `None` makes one in the state directory.
    pub tls_cert: Option<(PathBuf, PathBuf)>,
    /// Whether plain-text clients may chat.
    pub plain: Plain,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: Vec::new(),
            socket_activation: false,
            max_clients: SLOTS,
            password_file: None,
            state_dir: None,
            flood: Some(FloodLimit::default()),
            join_timeout: chat_core::config::JOIN_TIMEOUT,
            tls_listen: ListenOn::Off,
            tls_cert: None,
            plain: Plain::Allow,
        }
    }
}
