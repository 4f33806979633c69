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

/// The port of the native TLS listeners when `--tls-listen` gives no address: next to the
/// plain-text port, so that "5000 plain, 5001 encrypted" is easy to remember.
pub const DEFAULT_TLS_PORT: u16 = 5001;

/// The port of the IRC TLS listeners when `--irc-tls-listen` gives no address: IRC's own.
pub const DEFAULT_IRC_TLS_PORT: u16 = 6697;

/// What the plain-text listeners do with a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Plain {
    /// Chat in plain text, as always.
    #[default]
    Allow,
    /// Answer one line naming the TLS port (`BYE tls`, or an IRC `ERROR`), then close:
    /// encrypted chat only.
    Refuse,
}

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
    /// Where the native TLS listeners are; off by default here (tests), on from the command
    /// line (see `Cli::settings`).
    pub tls_listen: ListenAddrs,
    /// Where the IRC TLS listeners are; off by default here, on from the command line.
    pub irc_tls_listen: ListenAddrs,
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
            max_per_address: Some(chat_core::config::DEFAULT_MAX_PER_ADDRESS),
            mdns: MdnsSettings::default(),
            irc_listen: ListenAddrs::Default,
            irc: IrcConfig::default(),
            tls_listen: ListenAddrs::Off,
            irc_tls_listen: ListenAddrs::Off,
            tls_cert: None,
            plain: Plain::Allow,
        }
    }
}
