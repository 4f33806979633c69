//! Why the daemon could not start or stopped running.

use std::fmt;
use std::io;

use crate::listen::BindError;
use crate::password::PasswordError;

/// Why the daemon could not start.
#[derive(Debug)]
pub enum StartError {
    /// A listening socket could not be made.
    Bind(BindError),
    /// The password file is unusable.
    Password(PasswordError),
    /// Setting up the loop itself failed.
    Setup(&'static str, io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Bind(e) => write!(f, "{e}"),
            StartError::Password(e) => write!(f, "{e}"),
            StartError::Setup(what, e) => write!(f, "cannot {what}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<BindError> for StartError {
    fn from(e: BindError) -> Self {
        StartError::Bind(e)
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
