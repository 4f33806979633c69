//! The configuration file, so that plain `chatc` does the right thing.
//!
//! `$XDG_CONFIG_HOME/chatc/config` (by default `~/.config/chatc/config`), or the file given
//! with `--config`, holds `key = value` lines; blank lines and lines starting with `#` are
//! skipped. Command-line options and environment variables override it. An unknown key or a
//! bad value stops chatc with one line naming the file and line ([`ConfigError`]).
//!
//! Every key is one entry of [`KEYS`]: its name, what it expects, and how it is stored. Adding
//! a key (TLS, say) is adding one entry and one field of [`FileConfig`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use chat_core::names::Name;
use clap::ValueEnum;

use crate::alert::Notifier;

/// What the configuration file says; `None` where it says nothing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// `host`: the server's name or address.
    pub host: Option<String>,
    /// `port`: the server's TCP port.
    pub port: Option<u16>,
    /// `name`: the name to join under.
    pub name: Option<String>,
    /// `password-file`: where the server password is.
    pub password_file: Option<PathBuf>,
    /// `color`: colours on a terminal, or never.
    pub color: Option<bool>,
    /// `bell`: ring the terminal bell when someone writes to you.
    pub bell: Option<bool>,
    /// `notify`: how to raise desktop notifications.
    pub notify: Option<Notifier>,
    /// `tls`: speak TLS to the server.
    pub tls: Option<bool>,
    /// `ca-file`: trust server certificates signed by a CA in this file (implies TLS).
    pub ca_file: Option<PathBuf>,
}

/// One key of the file: its name, what it expects (for error messages and `chatc(1)`), and how
/// to store a value.
struct Key {
    name: &'static str,
    expects: &'static str,
    set: fn(&mut FileConfig, &str) -> Option<()>,
}

/// Every key the file may hold.
const KEYS: &[Key] = &[
    Key {
        name: "host",
        expects: "a host name or address",
        set: |c, v| {
            c.host = Some(v.to_string()).filter(|h| !h.contains(char::is_whitespace));
            c.host.as_ref().map(|_| ())
        },
    },
    Key {
        name: "port",
        expects: "a TCP port number, 1 to 65535",
        set: |c, v| {
            c.port = Some(v.parse().ok().filter(|&p| p > 0)?);
            Some(())
        },
    },
    Key {
        name: "name",
        expects: "a chatd name (no spaces, not starting with / or @)",
        set: |c, v| {
            c.name = Some(Name::new(v).ok()?.as_str().to_string());
            Some(())
        },
    },
    Key {
        name: "password-file",
        expects: "a file name (~/ for your home directory)",
        set: |c, v| {
            c.password_file = Some(expand_home(v)?);
            Some(())
        },
    },
    Key {
        name: "color",
        expects: "yes or no",
        set: |c, v| {
            c.color = Some(boolean(v)?);
            Some(())
        },
    },
    Key {
        name: "bell",
        expects: "yes or no",
        set: |c, v| {
            c.bell = Some(boolean(v)?);
            Some(())
        },
    },
    Key {
        name: "notify",
        expects: "off, auto, osc777, osc9 or notify-send",
        set: |c, v| {
            c.notify = Some(Notifier::from_str(v, true).ok()?);
            Some(())
        },
    },
    Key {
        name: "tls",
        expects: "yes or no",
        set: |c, v| {
            c.tls = Some(boolean(v)?);
            Some(())
        },
    },
    Key {
        name: "ca-file",
        expects: "a file name (~/ for your home directory)",
        set: |c, v| {
            c.ca_file = Some(expand_home(v)?);
            Some(())
        },
    },
];

/// Read a yes/no value.
fn boolean(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "on" | "true" | "1" => Some(true),
        "no" | "off" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Return `v` with a leading `~/` replaced by the home directory.
fn expand_home(v: &str) -> Option<PathBuf> {
    match v.strip_prefix("~/") {
        Some(rest) => Some(PathBuf::from(std::env::var_os("HOME")?).join(rest)),
        None if v.is_empty() => None,
        None => Some(PathBuf::from(v)),
    }
}

/// What is wrong with the configuration file.
#[derive(Debug)]
pub enum Problem {
    /// The file could not be read.
    Read(io::Error),
    /// A line is not `key = value`.
    NotKeyValue,
    /// The key is not one chatc knows.
    UnknownKey(String),
    /// The value does not fit the key.
    BadValue {
        /// The key.
        key: &'static str,
        /// The value given.
        value: String,
        /// What the key expects.
        expects: &'static str,
    },
}

/// A problem in the configuration file, with where it is.
#[derive(Debug)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line (from 1; 0 when the file could not be read at all).
    pub line: usize,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.problem {
            Problem::Read(err) => write!(f, "cannot read the configuration file {path}: {err}"),
            Problem::NotKeyValue => write!(f, "{path}:{}: expected `key = value`", self.line),
            Problem::UnknownKey(key) => {
                let known: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
                write!(
                    f,
                    "{path}:{}: unknown key {key:?} (the keys are {})",
                    self.line,
                    known.join(", ")
                )
            }
            Problem::BadValue {
                key,
                value,
                expects,
            } => write!(
                f,
                "{path}:{}: bad value {value:?} for {key}: expected {expects}",
                self.line
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Return where the configuration file is looked for when `--config` is not given.
pub fn default_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.or_else(|| Some(PathBuf::from(std::env::var_os("HOME")?).join(".config")))?;
    Some(base.join("chatc").join("config"))
}

/// Read the configuration: from `explicit` (which must exist), else from [`default_path`] if
/// that file exists.
pub fn load(explicit: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let Some(path) = explicit.map(Path::to_path_buf).or_else(default_path) else {
        return Ok(FileConfig::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound && explicit.is_none() => {
            return Ok(FileConfig::default())
        }
        Err(e) => {
            return Err(ConfigError {
                path,
                line: 0,
                problem: Problem::Read(e),
            })
        }
    };
    parse(&text).map_err(|(line, problem)| ConfigError {
        path,
        line,
        problem,
    })
}

/// Read the text of a configuration file; on error, return the line number and the problem.
pub fn parse(text: &str) -> Result<FileConfig, (usize, Problem)> {
    let mut config = FileConfig::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err((i + 1, Problem::NotKeyValue));
        };
        let (key, value) = (key.trim(), value.trim());
        let Some(k) = KEYS.iter().find(|k| k.name == key) else {
            return Err((i + 1, Problem::UnknownKey(key.to_string())));
        };
        if (k.set)(&mut config, value).is_none() {
            return Err((
                i + 1,
                Problem::BadValue {
                    key: k.name,
                    value: value.to_string(),
                    expects: k.expects,
                },
            ));
        }
    }
    Ok(config)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn every_key_with_comments_and_blank_lines() {
        let text = "# my chat\n\nhost = chat.lan\nport=6000\n  name = Bruno  \n\
                    color = no\nbell = off\nnotify = OSC777\npassword-file = /etc/pw\n\
                    tls = yes\nca-file = /etc/ca.pem\n";
        let c = parse(text).expect("parses");
        assert_eq!(
            c,
            FileConfig {
                host: Some("chat.lan".into()),
                port: Some(6000),
                name: Some("Bruno".into()),
                password_file: Some("/etc/pw".into()),
                color: Some(false),
                bell: Some(false),
                notify: Some(Notifier::Osc777),
                tls: Some(true),
                ca_file: Some("/etc/ca.pem".into()),
            }
        );
        assert_eq!(parse("").expect("empty"), FileConfig::default());
    }

    #[test]
    fn problems_say_which_line_and_what_was_expected() {
        let err = |t: &str| parse(t).expect_err("refused");
        assert!(
            matches!(err("host = a\ncolour = yes"), (2, Problem::UnknownKey(k)) if k == "colour")
        );
        assert!(matches!(
            err("port = 0"),
            (1, Problem::BadValue { key: "port", .. })
        ));
        assert!(matches!(err("port = 70000"), (1, Problem::BadValue { .. })));
        assert!(matches!(
            err("\n\nname = /root"),
            (3, Problem::BadValue { key: "name", .. })
        ));
        assert!(matches!(
            err("bell = maybe"),
            (1, Problem::BadValue { key: "bell", .. })
        ));
        assert!(matches!(
            err("notify = loud"),
            (1, Problem::BadValue { .. })
        ));
        assert!(matches!(
            err("host = two words"),
            (1, Problem::BadValue { .. })
        ));
        assert!(matches!(err("just words"), (1, Problem::NotKeyValue)));
        let e = ConfigError {
            path: "/home/ana/.config/chatc/config".into(),
            line: 2,
            problem: err("host = a\ncolour = yes").1,
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("/home/ana/.config/chatc/config:2: unknown key \"colour\""),
            "{msg}"
        );
        assert!(msg.contains("color"), "lists the keys: {msg}");
    }

    #[test]
    fn a_missing_default_file_is_no_configuration_but_a_missing_given_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("chatc-config-{}", std::process::id()));
        let missing = dir.join("nope");
        let e = load(Some(&missing)).expect_err("--config names a missing file");
        assert!(matches!(e.problem, Problem::Read(_)) && e.line == 0);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("config");
        std::fs::write(&file, "port = 7000\n").expect("write");
        assert_eq!(load(Some(&file)).expect("loads").port, Some(7000));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn every_key_is_in_the_manual() {
        let man = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../man/chatc.1"));
        for k in KEYS {
            let roff = format!(".BI {} \" = ", k.name.replace('-', "\\-"));
            assert!(man.contains(&roff), "chatc(1) lacks {roff}");
        }
    }

    #[test]
    fn keys_are_unique() {
        for (i, k) in KEYS.iter().enumerate() {
            assert!(KEYS[i + 1..].iter().all(|o| o.name != k.name), "{}", k.name);
        }
    }
}
