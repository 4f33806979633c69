//! The command line: options, their defaults and environment variables.

use std::path::PathBuf;

use chat_core::names::Name;
use clap::Parser;

use crate::connection::{Login, Target};
use crate::error::Error;

/// chatc: join a chatd LAN chat from a terminal.
///
/// On a terminal chatc is interactive: type a line and press Enter to send it; /help lists the
/// commands, /quit (or Ctrl-D, Ctrl-C) leaves. With standard input from a pipe or file, each
/// line is sent as a message and chatc leaves at the end: `echo "build done" | chatc -n ci`.
/// With --listen it prints what everybody says, one line each, until the server shuts down.
#[derive(Debug, Parser)]
#[command(name = "chatc", version, about, long_about)]
pub struct Args {
    /// Server host name, IPv4 or IPv6 address.
    #[arg(short = 'H', long, env = "CHATC_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Server TCP port.
    #[arg(short, long, env = "CHATC_PORT", default_value_t = 5000)]
    pub port: u16,

    /// Name to join under [default: your login name].
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
}

/// Environment variable holding the password.
const PASSWORD_ENV: &str = "CHATC_PASSWORD";

impl Args {
    /// Return where to connect.
    pub fn target(&self) -> Target {
        Target::new(&self.host, self.port)
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
        stdout_is_tty && !self.no_color && !no_color_env
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
        assert_eq!(a.target().to_string(), "[::1]:6000");
        assert_eq!(a.name.as_deref(), Some("Bruno"));
        assert!(a.listen && !a.no_color);
        assert!(Args::try_parse_from(["chatc", "-p", "70000"]).is_err());
        assert!(!a.color(false), "no colour when stdout is not a terminal");
    }

    #[test]
    fn bad_names_are_refused_before_connecting() {
        let a = Args::try_parse_from(["chatc", "-n", "/root"]).expect("parses");
        assert!(matches!(a.login(), Err(Error::BadName { .. })));
        let a = Args::try_parse_from(["chatc", "-n", "two words"]).expect("parses");
        assert!(matches!(a.login(), Err(Error::BadName { .. })));
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
        let a =
            Args::try_parse_from(["chatc", "-n", "Ana", "--password-file", path]).expect("parses");
        assert_eq!(
            a.login().expect("login").password.as_deref(),
            Some("sesame")
        );
        std::fs::remove_file(&dir).expect("remove");
        assert!(matches!(a.login(), Err(Error::PasswordFile { .. })));
    }
}
