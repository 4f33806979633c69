//! The password file: read at start (fatal if unreadable) and again on SIGHUP.
//!
//! A reload fails closed: a file that cannot be read, is not a regular file, is too big or
//! holds more than one line keeps the password in force, and so does an empty file. Only a
//! restart with an empty file (or none) opens the chat; see [`reload`].

use std::fmt;
use std::path::{Path, PathBuf};

use chat_core::config::MAX_PASSWORD;
use log::{info, warn};

use crate::files::{self, FileError, Links};

/// The most bytes read from a password file; a bigger file is refused unread.
pub const MAX_PASSWORD_FILE: u64 = 4096;

/// A password as the core keeps it; `None` means an open server.
pub type Password = Option<heapless::Vec<u8, MAX_PASSWORD>>;

/// Why the password file could not be used.
#[derive(Debug)]
pub enum PasswordError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: FileError,
    },
    /// The password is longer than the protocol allows.
    TooLong {
        /// The file.
        path: PathBuf,
    },
    /// The password holds a newline inside it, which no client could send.
    Newline {
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordError::Read { path, source } => {
                write!(f, "cannot read password file {}: {source}", path.display())
            }
            PasswordError::TooLong { path } => {
                write!(
                    f,
                    "password in {} is longer than {MAX_PASSWORD} bytes",
                    path.display()
                )
            }
            PasswordError::Newline { path } => {
                write!(f, "password in {} spans more than one line", path.display())
            }
        }
    }
}

impl std::error::Error for PasswordError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PasswordError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Return the password in `bytes`, without one trailing `\n` or `\r\n`; empty means none.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Password, PasswordError> {
    let b = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let b = if bytes.ends_with(b"\n") {
        b.strip_suffix(b"\r").unwrap_or(b)
    } else {
        b
    };
    if b.contains(&b'\n') {
        return Err(PasswordError::Newline {
            path: path.to_path_buf(),
        });
    }
    if b.is_empty() {
        return Ok(None);
    }
    heapless::Vec::from_slice(b)
        .map(Some)
        .map_err(|_| PasswordError::TooLong {
            path: path.to_path_buf(),
        })
}

/// Read the password file at `path` (a regular file of at most [`MAX_PASSWORD_FILE`] bytes,
/// opened without blocking).
pub fn load(path: &Path) -> Result<Password, PasswordError> {
    let bytes = files::read_capped(path, Links::Follow, MAX_PASSWORD_FILE).map_err(|source| {
        PasswordError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    parse(path, &bytes)
}

/// Re-read the password file after SIGHUP, log the outcome, and return the password to use
/// from now on, or `None` to keep the one in force (`has_password` says if there is one).
///
/// A reload never turns a password off: an empty file then keeps the old password and logs
/// a warning (an editor half-way through saving, a full disk and a truncation all look like
/// that). Running without a password takes a restart with an empty file or none.
pub fn reload(path: &Path, has_password: bool) -> Option<Password> {
    match load(path) {
        Ok(Some(p)) => {
            info!(target: "chatd", "password-reloaded file={} password=on", path.display());
            Some(Some(p))
        }
        Ok(None) if !has_password => {
            info!(target: "chatd", "password-reloaded file={} password=off", path.display());
            None
        }
        Ok(None) => {
            warn!(
                target: "chatd",
                "password-reload-refused file={} reason=\"the file is empty\"; keeping the old password (a reload never removes it: restart chatd to run without one)",
                path.display()
            );
            None
        }
        Err(e) => {
            warn!(target: "chatd", "password-reload-failed error=\"{e}\"; keeping the old password");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn p(b: &[u8]) -> Option<Vec<u8>> {
        parse(Path::new("x"), b).expect("valid").map(|v| v.to_vec())
    }

    #[test]
    fn strips_one_line_ending() {
        assert_eq!(p(b"sesame\n"), Some(b"sesame".to_vec()));
        assert_eq!(p(b"sesame\r\n"), Some(b"sesame".to_vec()));
        assert_eq!(p(b"sesame"), Some(b"sesame".to_vec()));
        assert_eq!(p(b" s p \n"), Some(b" s p ".to_vec()));
        assert_eq!(p(b"\n"), None);
        assert_eq!(p(b""), None);
    }

    #[test]
    fn refuses_long_or_multi_line() {
        assert!(matches!(
            parse(Path::new("x"), &[b'a'; 129]),
            Err(PasswordError::TooLong { .. })
        ));
        assert!(parse(Path::new("x"), &[b'a'; 128]).is_ok());
        assert!(matches!(
            parse(Path::new("x"), b"a\nb\n"),
            Err(PasswordError::Newline { .. })
        ));
    }
}
