//! Everything that can make chatc stop, with the message the user sees.

use std::fmt;
use std::io;

use chat_core::fingerprint::Fingerprint;
use chat_core::names::NameError;
use chat_core::wire::ByeCode;

/// Why chatc stopped (or why one attempt to join failed).
#[derive(Debug)]
pub enum Error {
    /// The host name did not resolve.
    Resolve {
        /// `host:port` as given.
        target: String,
        /// What the resolver said.
        err: io::Error,
    },
    /// No connection could be made.
    Connect {
        /// `host:port` as given.
        target: String,
        /// What the last attempt said.
        err: io::Error,
    },
    /// The connection broke or the server closed it without a word.
    Lost {
        /// `host:port` as given.
        target: String,
    },
    /// The server did not answer in time while joining.
    Timeout {
        /// `host:port` as given.
        target: String,
    },
    /// The server wants a password and none was given (and there is no terminal to ask on).
    NeedPassword,
    /// The password file could not be read.
    PasswordFile {
        /// The path given.
        path: String,
        /// Why it failed.
        err: io::Error,
    },
    /// The server refused the password.
    WrongPassword(String),
    /// The server closed the connection with `BYE CODE TEXT` (other than `quit` and `password`).
    Bye {
        /// The code word.
        code: String,
        /// The server's explanation.
        text: String,
    },
    /// The name is in use (and there is no terminal to ask for another).
    NameTaken(String),
    /// The server refused the name.
    NameInvalid {
        /// The name tried.
        name: String,
        /// The server's explanation.
        text: String,
    },
    /// The name is not a valid chatd name (checked before connecting).
    BadName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        err: NameError,
    },
    /// No name was given and the login name could not be found.
    NoName,
    /// The server shut down.
    Shutdown(String),
    /// Reconnecting failed too many times.
    GaveUp {
        /// `host:port` as given.
        target: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The user cancelled at a prompt.
    Cancelled,
    /// Some lines of a script were refused by the server.
    Refused(usize),
    /// The configuration file is wrong (exit status 2, like a bad command line).
    Config(crate::config::ConfigError),
    /// The terminal or standard input/output failed.
    Io(io::Error),
    /// No host was given and no chatd answered on the local network.
    NoServerFound,
    /// No host was given, several chatd servers answered and there is no terminal to ask
    /// which one (their names).
    SeveralServers(Vec<String>),
    /// Looking for servers on the local network failed (no UDP socket).
    Discover(io::Error),
    /// Plain text to a host chatc has spoken TLS to (no silent downgrade).
    Downgrade {
        /// `host:port` as given.
        target: String,
        /// The host.
        host: String,
    },
    /// The server's certificate is not the one expected (remembered or pinned).
    CertChanged {
        /// `host:port` as given.
        target: String,
        /// The host, for the command that accepts the new certificate.
        host: String,
        /// The fingerprint chatc expected.
        expected: Fingerprint,
        /// The fingerprint the server showed.
        seen: Fingerprint,
        /// Whether the expected one was given with `--fingerprint` (else remembered).
        pinned: bool,
    },
    /// The TLS handshake failed.
    Tls {
        /// `host:port` as given.
        target: String,
        /// What rustls said.
        why: String,
    },
    /// A TLS connection reached a plain-text port.
    NotTls {
        /// `host:port` as given.
        target: String,
    },
    /// The `--ca-file` is unusable.
    CaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
}

impl Error {
    /// Return true if trying again later may work (used when reconnecting).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Resolve { .. }
            | Error::Connect { .. }
            | Error::Lost { .. }
            | Error::Timeout { .. }
            | Error::NameTaken(_)
            | Error::Shutdown(_) => true,
            Error::Bye { code, .. } => matches!(
                ByeCode::parse(code),
                Some(ByeCode::Full | ByeCode::TooMany | ByeCode::Throttled | ByeCode::Timeout)
            ),
            _ => false,
        }
    }
}

/// Return an I/O error's message without the "(os error N)" tail.
fn describe(err: &io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl Error {
    /// Return a short form of the message, for repeated notices while reconnecting.
    pub fn brief(&self) -> String {
        match self {
            Error::Connect { target, err } => {
                format!("cannot connect to {target}: {}", describe(err))
            }
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Resolve { target, err } => {
                write!(
                    f,
                    "cannot find host {target}: {} (is the name or address right?)",
                    describe(err)
                )
            }
            Error::Connect { target, err } => write!(
                f,
                "cannot connect to {target}: {} (is chatd running there, is the address right, \
                 is the port blocked by a firewall?)",
                describe(err)
            ),
            Error::Lost { target } => write!(f, "lost the connection to {target}"),
            Error::Timeout { target } => {
                write!(f, "{target} did not answer in time (is it chatd?)")
            }
            Error::NeedPassword => f.write_str(
                "the server wants a password: use --password-file FILE or set CHATC_PASSWORD",
            ),
            Error::PasswordFile { path, err } => {
                write!(f, "cannot read password file {path}: {err}")
            }
            Error::WrongPassword(text) => write!(f, "wrong password: {text}"),
            Error::Bye { code, text } => {
                write!(f, "the server closed the connection ({code}): {text}")
            }
            Error::NameTaken(name) => {
                write!(f, "the name {name} is taken; choose another with -n NAME")
            }
            Error::NameInvalid { name, text } => {
                write!(f, "the server refused the name {name}: {text}")
            }
            Error::BadName { name, err } => write!(f, "{name:?} is not a valid name: {err}"),
            Error::NoName => f.write_str("cannot tell your login name; give one with -n NAME"),
            Error::Shutdown(text) => write!(f, "the server shut down: {text}"),
            Error::GaveUp { target, attempts } => {
                write!(
                    f,
                    "gave up reconnecting to {target} after {attempts} attempts"
                )
            }
            Error::Cancelled => f.write_str("cancelled"),
            Error::Refused(n) => {
                write!(f, "the server refused {n} line(s); see the messages above")
            }
            Error::Config(err) => write!(f, "{err}"),
            Error::Io(err) => write!(f, "{err}"),
            Error::NoServerFound => f.write_str(
                "no chatd server found on the local network; give its address with -H HOST \
                 (-H 127.0.0.1 for one on this machine)",
            ),
            Error::SeveralServers(names) => write!(
                f,
                "{} chatd servers on the local network ({}): pick one with -H NAME",
                names.len(),
                names.join(", ")
            ),
            Error::Discover(err) => write!(
                f,
                "cannot look for servers on the local network: {}; give an address with -H HOST",
                describe(err)
            ),
            Error::Downgrade { target, host } => write!(
                f,
                "chatc has spoken TLS to {host} before and will not send plain text to \
                 {target} (someone may be removing the encryption); connect with --tls, or \
                 give --no-tls to send plain text anyway"
            ),
            Error::CertChanged {
                target,
                host,
                expected,
                seen,
                pinned,
            } => {
                let port = target.rsplit(':').next().unwrap_or("5001");
                let was = if *pinned {
                    "given with --fingerprint"
                } else {
                    "remembered from an earlier contact"
                };
                write!(
                    f,
                    "the TLS certificate of {target} has changed: expected {expected} ({was}), \
                     but the server showed {seen}. Someone may be intercepting the connection, \
                     or the server has a new certificate. If the server's admin confirms {seen} \
                     (chatd --fingerprint), accept it with: \
                     chatc --tls -H {host} -p {port} --fingerprint {seen}"
                )
            }
            Error::Tls { target, why } => write!(f, "TLS with {target} failed: {why}"),
            Error::NotTls { target } => write!(
                f,
                "{target} answered in plain text, not TLS: it is a plain-text port (chatd's TLS \
                 port is 5001 unless set otherwise; give it with -p)"
            ),
            Error::CaFile { path, why } => write!(f, "cannot use the CA file {path}: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

impl From<crate::config::ConfigError> for Error {
    fn from(err: crate::config::ConfigError) -> Self {
        Error::Config(err)
    }
}

impl From<nix::Error> for Error {
    fn from(err: nix::Error) -> Self {
        Error::Io(io::Error::from(err))
    }
}

impl From<crate::terminal::PromptError> for Error {
    fn from(e: crate::terminal::PromptError) -> Self {
        match e {
            crate::terminal::PromptError::Cancelled => Error::Cancelled,
            crate::terminal::PromptError::Io(err) => Error::Io(err),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn bye(code: &str) -> Error {
        Error::Bye {
            code: code.to_string(),
            text: "…".to_string(),
        }
    }

    #[test]
    fn a_server_out_of_room_is_tried_again_a_flood_is_not() {
        for code in ["full", "too-many", "throttled", "timeout"] {
            assert!(bye(code).is_retryable(), "{code}");
        }
        for code in ["flood", "a-code-from-the-future"] {
            assert!(!bye(code).is_retryable(), "{code}");
        }
    }
}
