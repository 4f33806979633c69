//! The command line, with an environment variable for every option (for systemd units).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chat_core::flood::FloodLimit;
use clap::{Parser, ValueEnum};

use crate::logging::LogRate;
use crate::settings::{ListenOn, Plain, Settings, DEFAULT_STATE_DIR, SLOTS};
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

    /// Accept at most N clients at once (1-256).
    #[arg(short, long, value_name = "N", env = "CHATD_MAX_CLIENTS", default_value_t = 256,
          value_parser = clap::value_parser!(u16).range(1..=SLOTS as i64))]
    pub max_clients: u16,

    /// Read the password from FILE, a regular file (newline stripped; re-read on SIGHUP, which never removes it).
    #[arg(long, value_name = "FILE", env = "CHATD_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,

    /// Keep the message history in DIR (default $STATE_DIRECTORY, else /var/lib/chatd).
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

/// One `--tls-listen` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenArg {
    /// `off`: no listener of this kind.
    Off,
    /// An address to listen on.
    Addr(SocketAddr),
}

/// Read `ADDR:PORT` or `off`.
pub fn parse_listen(s: &str) -> Result<ListenArg, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(ListenArg::Off);
    }
    s.trim().parse().map(ListenArg::Addr).map_err(|_| {
        format!("expected ADDR:PORT (e.g. 0.0.0.0:5001 or [::]:5001) or off, got {s:?}")
    })
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

    /// Turn the command line into settings, resolving defaults that come from the environment.
    pub fn settings(&self) -> Settings {
        Settings {
            listen: self.listen.clone(),
            socket_activation: true,
            max_clients: usize::from(self.max_clients),
            password_file: self.password_file.clone().or_else(credentials_password),
            state_dir: Some(self.state_dir.clone().unwrap_or_else(default_state_dir)),
            flood: self.flood.0,
            join_timeout: Duration::from_secs(self.join_timeout),
            tls_listen: self.tls_listen_on(),
            tls_cert: self
                .tls_cert
                .clone()
                .zip(self.tls_key.clone())
                .or_else(credentials_tls),
            plain: match self.plain {
                PlainArg::Allow => Plain::Allow,
                PlainArg::Refuse => Plain::Refuse,
            },
        }
    }

    /// Return where the TLS listeners go: the default pair unless addresses or `off` were given.
    fn tls_listen_on(&self) -> ListenOn {
        if self.tls_listen.is_empty() {
            return ListenOn::Default;
        }
        let addrs: Vec<SocketAddr> = self
            .tls_listen
            .iter()
            .filter_map(|a| match a {
                ListenArg::Addr(a) => Some(*a),
                ListenArg::Off => None,
            })
            .collect();
        if addrs.is_empty() {
            ListenOn::Off
        } else {
            ListenOn::Addrs(addrs)
        }
    }

    /// Check what clap cannot: `off` alone, and a TLS listener for `--plain refuse`. The error
    /// is one line naming the option.
    pub fn check(&self) -> Result<(), String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err("--tls-cert needs --tls-key too".into()),
            (None, Some(_)) => return Err("--tls-key needs --tls-cert too".into()),
            _ => {}
        }
        let off = self.tls_listen.contains(&ListenArg::Off);
        if off && self.tls_listen.len() > 1 {
            return Err("--tls-listen off cannot be given with addresses".into());
        }
        if off && self.plain == PlainArg::Refuse {
            return Err(
                "--plain refuse needs TLS listeners, but --tls-listen is off: nobody could chat"
                    .into(),
            );
        }
        Ok(())
    }

    /// Return where the TLS certificate comes from, as [`Cli::settings`] would use it.
    pub fn cert_source(&self) -> CertSource {
        let settings = self.settings();
        match (settings.tls_cert, settings.state_dir) {
            (Some((cert, key)), _) => CertSource::Files { cert, key },
            (None, Some(dir)) => CertSource::StateDir(dir),
            (None, None) => CertSource::Ephemeral,
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
    fn defaults() {
        let cli = Cli::try_parse_from(["chatd"]).expect("parse");
        assert_eq!(cli.max_clients, 256);
        assert!(!cli.daemon);
        assert_eq!(cli.log_target(), LogTarget::Stderr);
        assert_eq!(cli.log_rate, LogRateArg(Some(LogRate::default())));
        let cli = Cli::try_parse_from(["chatd", "-d", "-f"]).expect("parse");
        assert!(!cli.daemon);
        let cli = Cli::try_parse_from(["chatd", "-f", "--daemon"]).expect("parse");
        assert_eq!(cli.log_target(), LogTarget::Syslog);
        assert!(Cli::try_parse_from(["chatd", "-m", "0"]).is_err());
        assert!(Cli::try_parse_from(["chatd", "-m", "257"]).is_err());
    }

    #[test]
    fn tls_listeners_default_on_and_turn_off() {
        let parse = |argv: &[&str]| Cli::try_parse_from(argv).expect("parse");
        let cli = parse(&["chatd"]);
        assert_eq!(cli.settings().tls_listen, ListenOn::Default);
        assert_eq!(cli.settings().plain, Plain::Allow);
        assert_eq!(
            parse(&["chatd", "--tls-listen", "off"])
                .settings()
                .tls_listen,
            ListenOn::Off
        );
        assert_eq!(
            parse(&["chatd", "--tls-listen", "127.0.0.1:0,[::1]:7"])
                .settings()
                .tls_listen,
            ListenOn::Addrs(vec![
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
        .check()
        .is_err());
        let refuse = parse(&["chatd", "--plain", "refuse", "--tls-listen", "off"]);
        assert!(refuse.check().unwrap_err().contains("--plain refuse"));
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
