//! The password file: read at start (fatal if unreadable) and again on SIGHUP (kept if broken).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use chat_core::config::MAX_PASSWORD;

/// A password as the core keeps it; `None` means an open server.
pub type Password = Option<heapless::Vec<u8, MAX_PASSWORD>>;

/// Why the password file could not be used.
#[derive(Debug)]
pub enum PasswordError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
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

/// Read the password file at `path`.
pub fn load(path: &Path) -> Result<Password, PasswordError> {
    let bytes = std::fs::read(path).map_err(|source| PasswordError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &bytes)
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
