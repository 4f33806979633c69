//! What the daemon runs with, independent of how it was asked for (CLI, environment, tests).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_core::flood::FloodLimit;
use chat_core::IrcConfig;

use crate::mdns::MdnsSettings;

/// The port chatd listens on when no address is given.
pub const DEFAULT_PORT: u16 = 5000;

/// The port chatd listens on for IRC clients when no IRC address is given.
pub const DEFAULT_IRC_PORT: u16 = 6667;

/// Where one kind of listener listens (besides sockets systemd passes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ListenAddrs {
    /// The kind's default: `[::]:PORT` and `0.0.0.0:PORT`, unless systemd passed sockets of
    /// this kind.
    #[default]
    Default,
    /// None: chatd binds no address of this kind itself.
    Off,
    /// These addresses.
    At(Vec<SocketAddr>),
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
    /// Connections one address may hold at once (and with it the reserve of slots for new
    /// addresses); `None` for no per-address rule.
    pub max_per_address: Option<usize>,
    /// Whether and as what to announce chatd with mDNS; off unless asked for.
    pub mdns: MdnsSettings,
    /// Where IRC clients connect.
    pub irc_listen: ListenAddrs,
    /// What IRC clients are told (channel, server and network names, topic) and how often
    /// silent ones are pinged.
    pub irc: IrcConfig,
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
            max_per_address: Some(chat_core::config::DEFAULT_MAX_PER_ADDRESS),
            mdns: MdnsSettings::default(),
            irc_listen: ListenAddrs::Default,
            irc: IrcConfig::default(),
        }
    }
}
