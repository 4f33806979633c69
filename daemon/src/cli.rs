//! The command line, with an environment variable for every option (for systemd units).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chat_core::flood::FloodLimit;
use chat_core::IrcConfig;
use clap::{Parser, ValueEnum};

use crate::logging::LogRate;
use crate::mdns::MdnsSettings;
use crate::settings::{ListenAddrs, Plain, Settings, DEFAULT_STATE_DIR, SLOTS};
use crate::tls::CertSource;

/// chatd: a LAN chat daemon speaking a plain line protocol over TCP (default port 5000).
#[derive(Debug, Parser)]
#[command(name = "chatd", version, about, long_about = None)]
pub struct Cli {
    /// Listen on ADDR:PORT (repeatable; default `[::]:5000` and `0.0.0.0:5000`).
    #[arg(
        help = "Listen on ADDR:PORT (repeatable; default [::]:5000 and 0.0.0.0:5000)",
        short,
        long,
        value_name = "ADDR:PORT",
        env = "CHATD_LISTEN",
        value_delimiter = ','
    )]
    pub listen: Vec<SocketAddr>,

    /// Accept at most N clients at once (1-1024).
    #[arg(short, long, value_name = "N", env = "CHATD_MAX_CLIENTS", default_value_t = SLOTS as u16,
          value_parser = clap::value_parser!(u16).range(1..=SLOTS as i64))]
    pub max_clients: u16,

    /// At most N connections from one address, and the last free slots kept for new addresses (0 or off: neither).
    #[arg(long, value_name = "N|off", env = "CHATD_MAX_PER_ADDRESS", default_value = "8",
          value_parser = parse_max_per_address)]
    pub max_per_address: MaxPerAddress,

    /// Read the password from FILE, a regular file (newline stripped; re-read on SIGHUP, which never removes it).
    #[arg(long, value_name = "FILE", env = "CHATD_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,

    /// Keep the message history and the TLS certificate chatd makes in DIR, made (mode 0700) if missing (default $STATE_DIRECTORY, else /var/lib/chatd).
    #[arg(long, value_name = "DIR", env = "CHATD_STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// Stay in the foreground (the default).
    #[arg(short, long, overrides_with = "daemon")]
    pub foreground: bool,

    /// Detach from the terminal and run in the background.
    #[arg(short, long, env = "CHATD_DAEMON", overrides_with = "foreground",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub daemon: bool,

    /// Write the daemon's process id to FILE, locked while it runs (removed on exit).
    #[arg(long, value_name = "FILE", env = "CHATD_PIDFILE")]
    pub pidfile: Option<PathBuf>,

    /// Where logs go (default stderr in the foreground, syslog with --daemon).
    #[arg(long, value_name = "WHERE", env = "CHATD_LOG")]
    pub log: Option<LogTarget>,

    /// Least severe log level to record.
    #[arg(
        long,
        value_name = "LEVEL",
        env = "CHATD_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: LogLevel,

    /// Log at most BURST lines of each kind (connect, ...) at once, then PER_SEC a second, or off.
    #[arg(long, value_name = "BURST/PER_SEC|off", env = "CHATD_LOG_RATE", default_value = "100/20",
          value_parser = parse_log_rate)]
    pub log_rate: LogRateArg,

    /// The syslog socket to log to.
    #[arg(
        long,
        value_name = "PATH",
        env = "CHATD_SYSLOG_SOCKET",
        default_value = "/dev/log"
    )]
    pub syslog_socket: PathBuf,

    /// Per-client rate limit: BURST lines at once then PER_SEC a second, or off.
    #[arg(long, value_name = "BURST/PER_SEC|off", env = "CHATD_FLOOD", default_value = "20/5",
          value_parser = parse_flood)]
    pub flood: Flood,

    /// Seconds a connection may take to send a valid name.
    #[arg(long, value_name = "SECS", env = "CHATD_JOIN_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub join_timeout: u64,

    /// Listen for IRC clients on ADDR:PORT (repeatable), or off.
    #[arg(
        help = "Listen for IRC clients on ADDR:PORT (repeatable; default [::]:6667 and 0.0.0.0:6667), or off",
        long,
        value_name = "ADDR:PORT|off",
        env = "CHATD_IRC_LISTEN",
        value_delimiter = ',',
        value_parser = parse_listen
    )]
    pub irc_listen: Vec<ListenArg>,

    /// The channel IRC clients are in: the room, under an IRC name.
    #[arg(long, value_name = "#NAME", env = "CHATD_IRC_CHANNEL", default_value = "#chat",
          value_parser = parse_irc_channel)]
    pub irc_channel: String,

    /// The server name IRC clients see.
    #[arg(long, value_name = "NAME", env = "CHATD_IRC_SERVER_NAME", default_value = "chatd",
          value_parser = parse_irc_server_name)]
    pub irc_server_name: String,

    /// The network name IRC clients see (NETWORK in 005).
    #[arg(long, value_name = "NAME", env = "CHATD_IRC_NETWORK", default_value = "chatd",
          value_parser = parse_irc_network)]
    pub irc_network: String,

    /// The channel topic IRC clients see (default none).
    #[arg(long, value_name = "TEXT", env = "CHATD_IRC_TOPIC", value_parser = parse_irc_topic)]
    pub irc_topic: Option<String>,

    /// Seconds an IRC client may stay silent before it is pinged, and then has to answer.
    #[arg(long, value_name = "SECS", env = "CHATD_IRC_PING", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub irc_ping: u64,

    /// Announce chatd on the local network with multicast DNS (UDP port 5353), so that chatc finds it without an address.
    #[arg(long, value_name = "on|off", env = "CHATD_MDNS", default_value = "on")]
    pub mdns: OnOff,

    /// The name chatd is announced under (default: the host name).
    #[arg(long, value_name = "NAME", env = "CHATD_MDNS_NAME")]
    pub mdns_name: Option<String>,

    /// Listen for TLS clients on ADDR:PORT (repeatable), or off (default `[::]:5001` and `0.0.0.0:5001`).
    #[arg(
        help = "Listen for TLS clients on ADDR:PORT (repeatable), or off (default [::]:5001 and 0.0.0.0:5001)",
        long,
        value_name = "ADDR:PORT|off",
        env = "CHATD_TLS_LISTEN",
        value_delimiter = ',',
        value_parser = parse_listen
    )]
    pub tls_listen: Vec<ListenArg>,

    /// Listen for IRC clients over TLS on ADDR:PORT (repeatable), or off.
    #[arg(
        help = "Listen for IRC clients over TLS on ADDR:PORT (repeatable; default [::]:6697 and 0.0.0.0:6697), or off",
        long,
        value_name = "ADDR:PORT|off",
        env = "CHATD_IRC_TLS_LISTEN",
        value_delimiter = ',',
        value_parser = parse_listen
    )]
    pub irc_tls_listen: Vec<ListenArg>,

    /// The TLS certificate chain, PEM (default: one chatd makes in the state directory).
    #[arg(long, value_name = "FILE", env = "CHATD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The TLS private key, PEM, readable by nobody else (re-read with the certificate on SIGHUP).
    #[arg(long, value_name = "FILE", env = "CHATD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Whether plain-text clients may chat: allow, or refuse them with a line naming the TLS port.
    #[arg(
        long,
        value_name = "allow|refuse",
        env = "CHATD_PLAIN",
        default_value = "allow"
    )]
    pub plain: PlainArg,

    /// Print the SHA-256 fingerprint of the TLS certificate and exit.
    #[arg(long)]
    pub fingerprint: bool,
}

/// A switch given as `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Turned on.
    On,
    /// Turned off.
    Off,
}

/// One value of a listen option (`--irc-listen`, `--tls-listen`, …): an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenArg {
    /// `off`: no listener of this kind.
    Off,
    /// Listen here.
    At(SocketAddr),
}

/// Read `ADDR:PORT` or `off`.
pub fn parse_listen(s: &str) -> Result<ListenArg, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(ListenArg::Off);
    }
    s.trim().parse().map(ListenArg::At).map_err(|_| {
        format!("expected ADDR:PORT (e.g. 0.0.0.0:6667 or [::1]:6667) or off, got {s:?}")
    })
}

/// Turn the values of a listen option into what to bind: none given is the default, `off`
/// alone is off, and `off` among addresses is a mistake.
pub fn listen_addrs(values: &[ListenArg]) -> Result<ListenAddrs, String> {
    let addrs: Vec<SocketAddr> = values
        .iter()
        .filter_map(|v| match v {
            ListenArg::At(a) => Some(*a),
            ListenArg::Off => None,
        })
        .collect();
    match (values.is_empty(), addrs.len() == values.len()) {
        (true, _) => Ok(ListenAddrs::Default),
        (false, true) => Ok(ListenAddrs::At(addrs)),
        (false, false) if addrs.is_empty() => Ok(ListenAddrs::Off),
        (false, false) => Err("off cannot be given with addresses".to_string()),
    }
}

/// Check an IRC setting with `set` on a scratch configuration.
fn irc_setting(
    s: &str,
    what: &str,
    set: fn(&mut IrcConfig, &str) -> Result<(), chat_core::config::IrcConfigError>,
) -> Result<String, String> {
    set(&mut IrcConfig::default(), s)
        .map(|()| s.to_string())
        .map_err(|e| format!("not a valid {what}: {e}"))
}

/// Read an IRC channel name: `#` and up to 31 more bytes, no space, comma or colon.
pub fn parse_irc_channel(s: &str) -> Result<String, String> {
    irc_setting(s, "channel name", IrcConfig::set_channel)
}

/// Read a server name: letters, digits, `-`, `.`, `_`, up to 63 bytes.
pub fn parse_irc_server_name(s: &str) -> Result<String, String> {
    irc_setting(s, "server name", IrcConfig::set_server_name)
}

/// Read a network name: letters, digits, `-`, `.`, `_`, up to 32 bytes.
pub fn parse_irc_network(s: &str) -> Result<String, String> {
    irc_setting(s, "network name", IrcConfig::set_network)
}

/// Read a topic: up to 300 bytes without control characters.
pub fn parse_irc_topic(s: &str) -> Result<String, String> {
    irc_setting(s, "topic", IrcConfig::set_topic)
}

/// The `--plain` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlainArg {
    /// Plain-text clients chat as usual.
    Allow,
    /// Plain-text clients get `BYE tls`, naming the TLS port, and are closed.
    Refuse,
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogTarget {
    /// Standard error, one line per event.
    Stderr,
    /// The system log (facility daemon).
    Syslog,
}

/// The least severe level logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Connections, joins, leaves and daemon events.
    Info,
    /// Everything, including each history save.
    Debug,
}

impl LogLevel {
    /// Return the matching `log` filter.
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
        }
    }
}

/// A parsed `--flood` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood(pub Option<FloodLimit>);

/// A parsed `--max-per-address` value: `None` for no per-address rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPerAddress(pub Option<usize>);

/// Read the `--max-per-address` value: a number of connections (1 to the slot count), or
/// `0` or `off` for no per-address rule.
pub fn parse_max_per_address(s: &str) -> Result<MaxPerAddress, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(MaxPerAddress(None));
    }
    match s.trim().parse::<usize>() {
        Ok(0) => Ok(MaxPerAddress(None)),
        Ok(n) if n <= SLOTS => Ok(MaxPerAddress(Some(n))),
        _ => Err(format!(
            "expected a number of connections from 1 to {SLOTS}, or 0 or off, got {s:?}"
        )),
    }
}

/// A parsed `--log-rate` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRateArg(pub Option<LogRate>);

/// Read `BURST/PER_SEC` (both 1..=10000) or `off`, with `example` in the error message.
fn parse_burst_rate(s: &str, example: &str) -> Result<Option<(u32, u32)>, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || format!("expected BURST/PER_SEC (e.g. {example}, each 1-10000) or off, got {s:?}");
    let (b, p) = s.split_once('/').ok_or_else(bad)?;
    let burst: u32 = b.trim().parse().map_err(|_| bad())?;
    let per_sec: u32 = p.trim().parse().map_err(|_| bad())?;
    if !(1..=10_000).contains(&burst) || !(1..=10_000).contains(&per_sec) {
        return Err(bad());
    }
    Ok(Some((burst, per_sec)))
}

/// Read `BURST/PER_SEC` (both 1..=10000) or `off`.
pub fn parse_flood(s: &str) -> Result<Flood, String> {
    let limit = parse_burst_rate(s, "20/5")?;
    Ok(Flood(
        limit.map(|(burst, per_sec)| FloodLimit { burst, per_sec }),
    ))
}

/// Read the `--log-rate` value: `BURST/PER_SEC` (both 1..=10000) or `off`.
pub fn parse_log_rate(s: &str) -> Result<LogRateArg, String> {
    let limit = parse_burst_rate(s, "100/20")?;
    Ok(LogRateArg(
        limit.map(|(burst, per_sec)| LogRate { burst, per_sec }),
    ))
}

impl Cli {
    /// Return where logs go: `--log` if given, else syslog when daemonizing, stderr otherwise.
    pub fn log_target(&self) -> LogTarget {
        self.log.unwrap_or(if self.daemon {
            LogTarget::Syslog
        } else {
            LogTarget::Stderr
        })
    }

    /// Turn the command line into settings, resolving defaults that come from the environment;
    /// fail (as a usage error) on values that contradict each other.
    pub fn settings(&self) -> Result<Settings, clap::Error> {
        let irc_listen = listen_addrs(&self.irc_listen).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ArgumentConflict,
                format!("invalid value for '--irc-listen <ADDR:PORT|off>': {e}\n"),
            )
        })?;
        let tls_listen = listen_addrs(&self.tls_listen).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ArgumentConflict,
                format!("invalid value for '--tls-listen <ADDR:PORT|off>': {e}\n"),
            )
        })?;
        let irc_tls_listen = listen_addrs(&self.irc_tls_listen).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ArgumentConflict,
                format!("invalid value for '--irc-tls-listen <ADDR:PORT|off>': {e}\n"),
            )
        })?;
        let mut irc = IrcConfig::default();
        // Each value was checked when it was parsed.
        let _ = irc.set_channel(&self.irc_channel);
        let _ = irc.set_server_name(&self.irc_server_name);
        let _ = irc.set_network(&self.irc_network);
        let _ = irc.set_topic(self.irc_topic.as_deref().unwrap_or_default());
        irc.ping = Duration::from_secs(self.irc_ping);
        Ok(Settings {
            listen: self.listen.clone(),
            socket_activation: true,
            max_clients: usize::from(self.max_clients),
            password_file: self.password_file.clone().or_else(credentials_password),
            state_dir: Some(self.state_dir.clone().unwrap_or_else(default_state_dir)),
            flood: self.flood.0,
            join_timeout: Duration::from_secs(self.join_timeout),
            max_per_address: self.max_per_address.0,
            irc_listen,
            irc,
            mdns: MdnsSettings {
                enabled: self.mdns == OnOff::On,
                name: self.mdns_name.clone(),
            },

            tls_listen,
            irc_tls_listen,
            tls_cert: self
                .tls_cert
                .clone()
                .zip(self.tls_key.clone())
                .or_else(credentials_tls),
            plain: match self.plain {
                PlainArg::Allow => Plain::Allow,
                PlainArg::Refuse => Plain::Refuse,
            },
        })
    }

    /// Check what clap cannot: a certificate with its key, and a TLS listener for `--plain
    /// refuse`. The error is one line naming the option.
    pub fn check(&self) -> Result<(), String> {
        let tls_off = |v: &[ListenArg]| v.len() == 1 && v[0] == ListenArg::Off;
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err("--tls-cert needs --tls-key too".into()),
            (None, Some(_)) => return Err("--tls-key needs --tls-cert too".into()),
            _ => {}
        }
        if self.plain == PlainArg::Refuse
            && tls_off(&self.tls_listen)
            && tls_off(&self.irc_tls_listen)
        {
            return Err("--plain refuse needs TLS listeners, but --tls-listen and \
                        --irc-tls-listen are off: nobody could chat"
                .into());
        }
        Ok(())
    }

    /// Return where the TLS certificate comes from, as [`Cli::settings`] would use it.
    pub fn cert_source(&self) -> CertSource {
        let files = self
            .tls_cert
            .clone()
            .zip(self.tls_key.clone())
            .or_else(credentials_tls);
        match files {
            Some((cert, key)) => CertSource::Files { cert, key },
            None => CertSource::StateDir(self.state_dir.clone().unwrap_or_else(default_state_dir)),
        }
    }
}

/// Return `$CREDENTIALS_DIRECTORY/tls-cert` and `tls-key` if systemd passed both credentials.
fn credentials_tls() -> Option<(PathBuf, PathBuf)> {
    let dir = PathBuf::from(std::env::var_os("CREDENTIALS_DIRECTORY")?);
    let (cert, key) = (dir.join("tls-cert"), dir.join("tls-key"));
    (cert.exists() && key.exists()).then_some((cert, key))
}

/// Return `$CREDENTIALS_DIRECTORY/password` if systemd passed such a credential.
fn credentials_password() -> Option<PathBuf> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
    let p = Path::new(&dir).join("password");
    p.exists().then_some(p)
}

/// Return the first of `$STATE_DIRECTORY` (systemd may list several, colon-separated), else
/// [`DEFAULT_STATE_DIR`].
fn default_state_dir() -> PathBuf {
    std::env::var("STATE_DIRECTORY")
        .ok()
        .and_then(|v| {
            v.split(':')
                .next()
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    #[test]
    fn flood_values() {
        assert_eq!(parse_flood("off"), Ok(Flood(None)));
        assert_eq!(
            parse_flood("20/5"),
            Ok(Flood(Some(FloodLimit {
                burst: 20,
                per_sec: 5
            })))
        );
        assert!(parse_flood("20").is_err());
        assert!(parse_flood("0/5").is_err());
        assert!(parse_flood("a/b").is_err());
        assert_eq!(parse_log_rate("off"), Ok(LogRateArg(None)));
        assert_eq!(
            parse_log_rate("100/20"),
            Ok(LogRateArg(Some(LogRate::default())))
        );
        assert!(parse_log_rate("0/1").is_err());
    }

    #[test]
    fn max_per_address_values() {
        assert_eq!(parse_max_per_address("8"), Ok(MaxPerAddress(Some(8))));
        assert_eq!(parse_max_per_address("256"), Ok(MaxPerAddress(Some(256))));
        assert_eq!(parse_max_per_address("off"), Ok(MaxPerAddress(None)));
        assert_eq!(parse_max_per_address("0"), Ok(MaxPerAddress(None)));
        for bad in ["1025", "-1", "eight", ""] {
            assert!(parse_max_per_address(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from(["chatd"]).expect("parse");
        assert_eq!(cli.settings().expect("settings").max_per_address, Some(8));
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["chatd"]).expect("parse");
        assert_eq!(usize::from(cli.max_clients), SLOTS);
        assert_eq!(SLOTS, 1024, "the help text and chatd(8) say 1-1024");
        assert!(Cli::try_parse_from(["chatd", "-m", "1024"]).is_ok());
        assert!(Cli::try_parse_from(["chatd", "-m", "1025"]).is_err());
        assert!(!cli.daemon);
        assert_eq!(cli.log_target(), LogTarget::Stderr);
        assert_eq!(cli.log_rate, LogRateArg(Some(LogRate::default())));
        let cli = Cli::try_parse_from(["chatd", "-d", "-f"]).expect("parse");
        assert!(!cli.daemon);
        let cli = Cli::try_parse_from(["chatd", "-f", "--daemon"]).expect("parse");
        assert_eq!(cli.log_target(), LogTarget::Syslog);
        let cli = Cli::try_parse_from(["chatd"]).expect("parse");
        assert!(
            cli.settings().unwrap().mdns.enabled,
            "mDNS is on unless turned off"
        );
        let cli =
            Cli::try_parse_from(["chatd", "--mdns", "off", "--mdns-name", "Sala"]).expect("parse");
        let mdns = cli.settings().unwrap().mdns;
        assert!(!mdns.enabled);
        assert_eq!(mdns.name.as_deref(), Some("Sala"));
        assert!(Cli::try_parse_from(["chatd", "--mdns", "maybe"]).is_err());
        assert!(Cli::try_parse_from(["chatd", "-m", "0"]).is_err());
    }

    #[test]
    fn irc_options() {
        let s = Cli::try_parse_from(["chatd"]).unwrap().settings().unwrap();
        assert_eq!(s.irc_listen, ListenAddrs::Default);
        assert_eq!(s.irc.channel(), "#chat");
        assert_eq!(s.irc.server_name(), "chatd");
        assert_eq!(s.irc.topic(), "");
        assert_eq!(s.irc.ping, Duration::from_secs(120));
        let cli = Cli::try_parse_from([
            "chatd",
            "--irc-listen",
            "127.0.0.1:6000,[::1]:6000",
            "--irc-channel",
            "#sala",
            "--irc-server-name",
            "irc.lan",
            "--irc-network",
            "Casa",
            "--irc-topic",
            "Bem-vindos",
            "--irc-ping",
            "30",
        ])
        .unwrap();
        let s = cli.settings().unwrap();
        let want = vec![
            "127.0.0.1:6000".parse().unwrap(),
            "[::1]:6000".parse().unwrap(),
        ];
        assert_eq!(s.irc_listen, ListenAddrs::At(want));
        assert_eq!(
            (
                s.irc.channel(),
                s.irc.server_name(),
                s.irc.network(),
                s.irc.topic()
            ),
            ("#sala", "irc.lan", "Casa", "Bem-vindos")
        );
        assert_eq!(s.irc.ping, Duration::from_secs(30));
        let off = Cli::try_parse_from(["chatd", "--irc-listen", "OFF"]).unwrap();
        assert_eq!(off.settings().unwrap().irc_listen, ListenAddrs::Off);
        let both = Cli::try_parse_from(["chatd", "--irc-listen", "off,127.0.0.1:1"]).unwrap();
        assert!(both.settings().is_err());
        for bad in [
            ["--irc-listen", "nowhere"],
            ["--irc-channel", "chat"],
            ["--irc-channel", "#a b"],
            ["--irc-server-name", "a!b"],
            ["--irc-network", ""],
            ["--irc-ping", "0"],
        ] {
            assert!(
                Cli::try_parse_from(["chatd", bad[0], bad[1]]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn tls_listeners_default_on_and_turn_off() {
        let parse = |argv: &[&str]| Cli::try_parse_from(argv).expect("parse");
        let cli = parse(&["chatd"]);
        assert_eq!(cli.settings().unwrap().tls_listen, ListenAddrs::Default);
        assert_eq!(cli.settings().unwrap().plain, Plain::Allow);
        assert_eq!(
            parse(&["chatd", "--tls-listen", "off"])
                .settings()
                .unwrap()
                .tls_listen,
            ListenAddrs::Off
        );
        assert_eq!(
            parse(&["chatd", "--tls-listen", "127.0.0.1:0,[::1]:7"])
                .settings()
                .unwrap()
                .tls_listen,
            ListenAddrs::At(vec![
                "127.0.0.1:0".parse().unwrap(),
                "[::1]:7".parse().unwrap()
            ])
        );
        assert!(Cli::try_parse_from(["chatd", "--tls-listen", "nowhere"]).is_err());
        assert!(parse(&[
            "chatd",
            "--tls-listen",
            "off",
            "--tls-listen",
            "127.0.0.1:1"
        ])
        .settings()
        .is_err());
        let refuse = parse(&[
            "chatd",
            "--plain",
            "refuse",
            "--tls-listen",
            "off",
            "--irc-tls-listen",
            "off",
        ]);
        assert!(refuse.check().unwrap_err().contains("--plain refuse"));
        let irc_only = parse(&["chatd", "--plain", "refuse", "--tls-listen", "off"]);
        assert!(irc_only.check().is_ok(), "IRC over TLS is still there");
        assert_eq!(
            parse(&["chatd"]).settings().unwrap().irc_tls_listen,
            ListenAddrs::Default
        );
        assert!(parse(&["chatd", "--plain", "refuse"]).check().is_ok());
        assert!(
            parse(&["chatd", "--tls-cert", "c.pem"]).check().is_err(),
            "a certificate without its key"
        );
        let files = parse(&["chatd", "--tls-cert", "c.pem", "--tls-key", "k.pem"]);
        assert_eq!(
            files.cert_source(),
            CertSource::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            }
        );
        assert_eq!(
            parse(&["chatd", "--state-dir", "/x"]).cert_source(),
            CertSource::StateDir("/x".into())
        );
    }
}
