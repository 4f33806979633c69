//! Why the daemon could not start or stopped running.

use std::fmt;
use std::io;

use crate::listen::BindError;
use crate::password::PasswordError;
use crate::tls::TlsError;

/// Why the daemon could not start.
#[derive(Debug)]
pub enum StartError {
    /// A listening socket could not be made.
    Bind(BindError),
    /// The password file is unusable.
    Password(PasswordError),
    /// Setting up the loop itself failed.
    Setup(&'static str, io::Error),
    /// The TLS certificate or key is unusable.
    Tls(TlsError),
    /// `--plain refuse` without any TLS listener: nobody could chat.
    NoTls,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Bind(e) => write!(f, "{e}"),
            StartError::Password(e) => write!(f, "{e}"),
            StartError::Setup(what, e) => write!(f, "cannot {what}: {e}"),
            StartError::Tls(e) => write!(f, "{e}"),
            StartError::NoTls => f.write_str(
                "--plain refuse needs a TLS listener, and there is none: nobody could chat",
            ),
        }
    }
}

impl std::error::Error for StartError {}

impl From<BindError> for StartError {
    fn from(e: BindError) -> Self {
        StartError::Bind(e)
    }
}

impl From<TlsError> for StartError {
    fn from(e: TlsError) -> Self {
        StartError::Tls(e)
    }
}

impl From<PasswordError> for StartError {
    fn from(e: PasswordError) -> Self {
        StartError::Password(e)
    }
}

/// Why the loop stopped other than by request.
#[derive(Debug)]
pub struct RunError(pub io::Error);

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event loop failed: {}", self.0)
    }
}

impl std::error::Error for RunError {}
