//! The command line: options, their defaults and environment variables.

use std::path::PathBuf;

use chat_core::names::Name;
use clap::Parser;

use chat_core::fingerprint::Fingerprint;

use crate::alert::Notifier;
use crate::config::FileConfig;
use crate::connection::{Login, Target};
use crate::error::Error;
use crate::tls::{Security, Trust, DEFAULT_TLS_PORT};

/// chatc: join a chatd LAN chat from a terminal.
///
/// On a terminal chatc is interactive: type a line and press Enter to send it; /help lists the
/// commands, /quit (or Ctrl-D, Ctrl-C) leaves. With standard input from a pipe or file, each
/// line is sent as a message and chatc leaves at the end: `echo "build done" | chatc -n ci`.
/// With --listen it prints what everybody says, one line each, until the server shuts down.
/// Defaults come from ~/.config/chatc/config (see chatc(1)); options override it.
#[derive(Debug, Parser)]
#[command(name = "chatc", version, about, long_about)]
pub struct Args {
    /// Server host name, IPv4 or IPv6 address, or the name a chatd announces on the local network [default: the config file's, else the chatd found on the local network].
    #[arg(short = 'H', long, env = "CHATC_HOST")]
    pub host: Option<String>,

    /// Server TCP port [default: the config file's, else 5000, or 5001 with TLS].
    #[arg(short, long, env = "CHATC_PORT")]
    pub port: Option<u16>,

    /// Name to join under [default: the config file's, else your login name].
    #[arg(short, long)]
    pub name: Option<String>,

    /// Read the server password from the first line of FILE (else $CHATC_PASSWORD, else a prompt).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Print every line received, in a stable plain format, until the server shuts down.
    #[arg(long)]
    pub listen: bool,

    /// Never use colours (also when NO_COLOR is set or the output is not a terminal).
    #[arg(long)]
    pub no_color: bool,

    /// Do not ring the terminal bell when your name is mentioned or a private message comes.
    #[arg(long)]
    pub no_bell: bool,

    /// How to raise a desktop notification when your name is mentioned or a private message
    /// comes [default: the config file's, else off].
    #[arg(long, value_enum, value_name = "HOW")]
    pub notify: Option<Notifier>,

    /// Read the configuration from FILE instead of $XDG_CONFIG_HOME/chatc/config.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// List the chatd servers on the local network, one per line (NAME, ADDRESS, PORT, HOST, TXT, tab-separated), and exit.
    #[arg(long)]
    pub discover: bool,

    /// Encrypt with TLS; the first contact remembers the server's certificate, later ones check it.
    #[arg(long, env = "CHATC_TLS", overrides_with = "no_tls",
          value_parser = clap::builder::BoolishValueParser::new(),
          num_args = 0, default_missing_value = "true")]
    pub tls: Option<bool>,

    /// Plain text, even to a server chatc has spoken TLS to (and over `tls = yes`).
    #[arg(long, overrides_with = "tls")]
    pub no_tls: bool,

    /// Accept only the TLS certificate with this fingerprint (from chatd --fingerprint); implies --tls.
    #[arg(long, value_name = "SHA256:…", value_parser = parse_fingerprint)]
    pub fingerprint: Option<Fingerprint>,

    /// Accept a TLS certificate signed by a CA in FILE (PEM) for the host name; implies --tls.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

/// Read a `--fingerprint` value.
fn parse_fingerprint(s: &str) -> Result<Fingerprint, String> {
    Fingerprint::parse(s)
        .map_err(|e| format!("{e} (e.g. SHA256:AB:CD:…, as chatd --fingerprint prints)"))
}

/// Environment variable holding the password.
const PASSWORD_ENV: &str = "CHATC_PASSWORD";
/// The port when none is given anywhere.
const DEFAULT_PORT: u16 = 5000;

/// What chatc runs with: the command line and environment over the configuration file over
/// the defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server, if given anywhere; `None` means "not said" (see [`Settings::target`]).
    pub host: Option<String>,
    /// The server's port.
    pub port: u16,
    /// The name, if given (else the login name).
    pub name: Option<String>,
    /// Where the password is, if in a file.
    pub password_file: Option<PathBuf>,
    /// Listen mode.
    pub listen: bool,
    /// Colours wanted (still off when the output is not a terminal or NO_COLOR is set).
    pub color: bool,
    /// Ring the bell on a mention or private message.
    pub bell: bool,
    /// How to notify on a mention or private message.
    pub notify: Notifier,
    /// Plain text or TLS.
    pub security: Security,
}

impl Args {
    /// Merge the command line (and environment) with the configuration file.
    pub fn settings(&self, file: FileConfig) -> Settings {
        let ca_file = self.ca_file.clone().or(file.ca_file);
        let security = if self.no_tls && self.fingerprint.is_none() && self.ca_file.is_none() {
            Security::Plain { forced: true }
        } else if let Some(fp) = self.fingerprint {
            Security::Tls(Trust::Pinned(fp))
        } else if let Some(ca) = ca_file {
            Security::Tls(Trust::Ca(ca))
        } else if self.tls.or(file.tls).unwrap_or(false) {
            Security::Tls(Trust::FirstUse)
        } else {
            Security::Plain { forced: false }
        };
        let default_port = match security {
            Security::Tls(_) => DEFAULT_TLS_PORT,
            Security::Plain { .. } => DEFAULT_PORT,
        };
        Settings {
            security,
            host: self.host.clone().or(file.host),
            port: self.port.or(file.port).unwrap_or(default_port),
            name: self.name.clone().or(file.name),
            password_file: self.password_file.clone().or(file.password_file),
            listen: self.listen,
            color: !self.no_color && file.color.unwrap_or(true),
            bell: !self.no_bell && file.bell.unwrap_or(true),
            notify: self.notify.or(file.notify).unwrap_or(Notifier::Off),
        }
    }
}

impl Settings {
    /// Return where to connect if a host was given anywhere; `None` means "find one on the
    /// local network" ([`crate::discover::pick`]).
    pub fn target(&self) -> Option<Target> {
        self.host
            .as_deref()
            .map(|h| Target::new(h, self.port).with_security(self.security.clone()))
    }

    /// Work out the name and the password (if known before connecting).
    pub fn login(&self) -> Result<Login, Error> {
        let name = match &self.name {
            Some(n) => n.clone(),
            None => login_name().ok_or(Error::NoName)?,
        };
        Name::new(&name).map_err(|err| Error::BadName {
            name: name.clone(),
            err,
        })?;
        let password = match &self.password_file {
            Some(path) => Some(read_password(path)?),
            None => std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()),
        };
        Ok(Login { name, password })
    }

    /// Return true if output should be coloured.
    pub fn color(&self, stdout_is_tty: bool) -> bool {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        stdout_is_tty && self.color && !no_color_env
    }
}

/// Return the first line of the password file, without its line ending.
fn read_password(path: &std::path::Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|err| Error::PasswordFile {
        path: path.display().to_string(),
        err,
    })?;
    Ok(text
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string())
}

/// Return the user's login name: $USER, $LOGNAME, or the password database.
fn login_name() -> Option<String> {
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return Some(v);
            }
        }
    }
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
}

#[cfg(test)]
mod test {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn short_and_long_options() {
        let a = Args::try_parse_from([
            "chatc", "-H", "::1", "-p", "6000", "-n", "Bruno", "--listen",
        ])
        .expect("parses");
        let s = a.settings(FileConfig::default());
        assert_eq!(s.target().expect("a host").to_string(), "[::1]:6000");
        assert_eq!(s.name.as_deref(), Some("Bruno"));
        assert!(s.listen && !a.no_color && s.bell);
        assert_eq!(
            s.notify,
            Notifier::Off,
            "notifications are off unless asked for"
        );
        assert!(Args::try_parse_from(["chatc", "-p", "70000"]).is_err());
        assert!(!s.color(false), "no colour when stdout is not a terminal");
    }

    #[test]
    fn options_override_the_file_and_the_file_overrides_the_defaults() {
        let file = FileConfig {
            host: Some("chat.lan".into()),
            port: Some(6000),
            name: Some("Ana".into()),
            color: Some(false),
            bell: Some(false),
            notify: Some(Notifier::Osc9),
            ..FileConfig::default()
        };
        let bare = Args::try_parse_from(["chatc"]).expect("parses");
        let s = bare.settings(file.clone());
        assert_eq!(s.target().expect("a host").to_string(), "chat.lan:6000");
        assert_eq!(s.name.as_deref(), Some("Ana"));
        assert!(!s.color && !s.bell);
        assert_eq!(s.notify, Notifier::Osc9);
        let a = Args::try_parse_from([
            "chatc", "-H", "10.0.0.2", "-p", "7000", "-n", "Bia", "--notify", "off",
        ])
        .expect("parses");
        let s = a.settings(file);
        assert_eq!(s.target().expect("a host").to_string(), "10.0.0.2:7000");
        assert_eq!(s.name.as_deref(), Some("Bia"));
        assert_eq!(s.notify, Notifier::Off);
        let s = bare.settings(FileConfig::default());
        assert_eq!(s.host, None);
        assert!(
            s.target().is_none(),
            "no host given: find one on the network"
        );
        assert!(!bare.discover);
        assert!(
            Args::try_parse_from(["chatc", "--discover"])
                .expect("parses")
                .discover
        );
        assert!(s.bell && s.color);
        let quiet = Args::try_parse_from(["chatc", "--no-bell"]).expect("parses");
        assert!(!quiet.settings(FileConfig::default()).bell);
    }

    #[test]
    fn tls_from_options_environment_or_file_with_its_own_default_port() {
        let s = |argv: &[&str], file: FileConfig| {
            Args::try_parse_from(argv).expect("parses").settings(file)
        };
        let plain = s(&["chatc"], FileConfig::default());
        assert_eq!(plain.security, Security::Plain { forced: false });
        assert_eq!(plain.port, 5000);
        let tls = s(&["chatc", "--tls"], FileConfig::default());
        assert_eq!(tls.security, Security::Tls(Trust::FirstUse));
        assert_eq!(tls.port, 5001, "the TLS port when none is given");
        assert_eq!(
            s(&["chatc", "--tls", "-p", "7"], FileConfig::default()).port,
            7
        );
        let file = FileConfig {
            tls: Some(true),
            ..FileConfig::default()
        };
        assert_eq!(
            s(&["chatc"], file.clone()).security,
            Security::Tls(Trust::FirstUse)
        );
        assert_eq!(
            s(&["chatc", "--no-tls"], file).security,
            Security::Plain { forced: true },
            "--no-tls overrides the file"
        );
        let fp = "SHA256:".to_string() + &["AB"; 32].join(":");
        let pinned = s(&["chatc", "--fingerprint", &fp], FileConfig::default());
        assert!(matches!(pinned.security, Security::Tls(Trust::Pinned(_))));
        assert_eq!(pinned.port, 5001);
        assert!(Args::try_parse_from(["chatc", "--fingerprint", "SHA256:12"]).is_err());
        let ca = s(&["chatc", "--ca-file", "/ca.pem"], FileConfig::default());
        assert_eq!(ca.security, Security::Tls(Trust::Ca("/ca.pem".into())));
        assert_eq!(
            s(&["chatc", "--tls", "--no-tls"], FileConfig::default()).security,
            Security::Plain { forced: true },
            "the last one wins"
        );
    }

    #[test]
    fn bad_names_are_refused_before_connecting() {
        let login = |argv: &[&str]| {
            let a = Args::try_parse_from(argv).expect("parses");
            a.settings(FileConfig::default()).login()
        };
        assert!(matches!(
            login(&["chatc", "-n", "/root"]),
            Err(Error::BadName { .. })
        ));
        assert!(matches!(
            login(&["chatc", "-n", "two words"]),
            Err(Error::BadName { .. })
        ));
    }

    #[test]
    fn password_file_gives_its_first_line() {
        let dir = std::env::temp_dir().join(format!("chatc-pw-{}", std::process::id()));
        std::fs::write(&dir, "sesame\r\nsecond line\n").expect("write");
        let a = Args::try_parse_from(["chatc", "-n", "Ana", "--password-file"])
            .err()
            .map(|_| ());
        assert!(a.is_some(), "--password-file needs a value");
        let path = dir.to_str().expect("utf-8 path");
        let a = Args::try_parse_from(["chatc", "-n", "Ana", "--password-file", path])
            .expect("parses")
            .settings(FileConfig::default());
        assert_eq!(
            a.login().expect("login").password.as_deref(),
            Some("sesame")
        );
        std::fs::remove_file(&dir).expect("remove");
        assert!(matches!(a.login(), Err(Error::PasswordFile { .. })));
    }
}
