//! Opening the files chatd reads and writes so that no file can hang or trick the daemon.
//!
//! Every file is opened with `O_NONBLOCK` (a FIFO or a device answers at once instead of
//! waiting for a writer), then checked with `fstat` and refused unless it is a regular file,
//! and read with a size cap, so a FIFO, `/dev/zero` or a 512 MiB file costs nothing. Files in
//! the state directory are opened with `O_NOFOLLOW`; new files are created with
//! `O_CREAT | O_EXCL | O_NOFOLLOW`, so a symbolic link planted at their name is never
//! followed (a stale file or link left there is removed first).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;

/// Whether a symbolic link at the file's own name may be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it (a file the operator names, such as the password file).
    Follow,
    /// Refuse it (files in chatd's own directories).
    Refuse,
}

/// Why a file could not be read.
#[derive(Debug)]
pub enum FileError {
    /// Opening it failed (missing, no permission, …).
    Open(io::Error),
    /// It is not a regular file; the payload says what it is ("a FIFO", …).
    NotRegular(&'static str),
    /// It is bigger than the cap.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The most chatd reads.
        limit: u64,
    },
    /// Reading it failed.
    Read(io::Error),
}

impl FileError {
    /// Return whether the file simply does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Open(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Open(e) | FileError::Read(e) => write!(f, "{e}"),
            FileError::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
            FileError::TooLarge { size, limit } => {
                write!(f, "it is {size} bytes long, more than the {limit} allowed")
            }
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Open(e) | FileError::Read(e) => Some(e),
            _ => None,
        }
    }
}

/// Describe a file type that is not a regular file, for [`FileError::NotRegular`].
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a plain file"
    }
}

/// Open `path` for reading without blocking and return it with its size, if it is a
/// regular file.
pub fn open_regular(path: &Path, links: Links) -> Result<(File, u64), FileError> {
    let mut flags = OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    if links == Links::Refuse {
        flags |= OFlag::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(|e| {
            if links == Links::Refuse && e.raw_os_error() == Some(Errno::ELOOP as i32) {
                FileError::NotRegular("a symbolic link")
            } else {
                FileError::Open(e)
            }
        })?;
    let meta = file.metadata().map_err(FileError::Open)?;
    if !meta.file_type().is_file() {
        return Err(FileError::NotRegular(kind_of(meta.file_type())));
    }
    Ok((file, meta.len()))
}

/// Read the whole of `path`, a regular file of at most `limit` bytes.
pub fn read_capped(path: &Path, links: Links, limit: u64) -> Result<Vec<u8>, FileError> {
    let (file, size) = open_regular(path, links)?;
    if size > limit {
        return Err(FileError::TooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // One byte more than allowed tells a file that grew since `fstat` from one that did not.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileError::Read)?;
    let got = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if got > limit {
        return Err(FileError::TooLarge { size: got, limit });
    }
    Ok(bytes)
}

/// Read at most the last `limit` bytes of `path` (a regular file) into `buf`, replacing what
/// it held; return how many leading bytes were left unread.
pub fn read_tail(
    path: &Path,
    links: Links,
    limit: u64,
    buf: &mut Vec<u8>,
) -> Result<u64, FileError> {
    let (mut file, size) = open_regular(path, links)?;
    let skipped = size.saturating_sub(limit);
    if skipped > 0 {
        file.seek(SeekFrom::Start(skipped))
            .map_err(FileError::Read)?;
    }
    buf.clear();
    file.take(limit).read_to_end(buf).map_err(FileError::Read)?;
    Ok(skipped)
}

/// Create `path` as a new file for writing with permissions `mode` (less the umask), never
/// following a link there; a file or link left at that name (say by a crash) is removed first.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NOCTTY).bits())
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // `unlink` removes a link itself, never what it points to.
            std::fs::remove_file(path)?;
            open()
        }
        other => other,
    }
}

/// Open the directory `path` (for `fsync`), refusing anything that is not a directory.
pub fn open_dir(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_DIRECTORY | OFlag::O_NONBLOCK).bits())
        .open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;
    use std::os::unix::fs::symlink;

    fn dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("chatd-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let d = dir("fifo");
        let p = d.join("fifo");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = read_capped(&p, Links::Follow, 10).unwrap_err();
        assert!(matches!(e, FileError::NotRegular("a FIFO")), "{e}");
        assert_eq!(e.to_string(), "it is a FIFO, not a regular file");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn reads_are_capped_and_tails_are_read() {
        let d = dir("cap");
        let p = d.join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_capped(&p, Links::Refuse, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read_capped(&p, Links::Refuse, 9),
            Err(FileError::TooLarge { size: 10, limit: 9 })
        ));
        let mut buf = Vec::new();
        assert_eq!(read_tail(&p, Links::Refuse, 4, &mut buf).unwrap(), 6);
        assert_eq!(buf, b"6789");
        assert_eq!(read_tail(&p, Links::Refuse, 40, &mut buf).unwrap(), 0);
        assert_eq!(buf, b"0123456789");
        assert!(read_capped(&d.join("none"), Links::Refuse, 9)
            .unwrap_err()
            .is_not_found());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn links_are_refused_or_followed_as_asked() {
        let d = dir("link");
        std::fs::write(d.join("target"), b"x").unwrap();
        symlink(d.join("target"), d.join("link")).unwrap();
        assert_eq!(
            read_capped(&d.join("link"), Links::Follow, 9).unwrap(),
            b"x"
        );
        assert!(matches!(
            read_capped(&d.join("link"), Links::Refuse, 9),
            Err(FileError::NotRegular("a symbolic link"))
        ));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn create_new_replaces_a_planted_link_and_leaves_its_target_alone() {
        use std::io::Write as _;
        let d = dir("create");
        std::fs::write(d.join("precious"), b"keep me").unwrap();
        symlink(d.join("precious"), d.join("tmp")).unwrap();
        let mut f = create_new(&d.join("tmp"), 0o600).unwrap();
        f.write_all(b"new").unwrap();
        assert_eq!(std::fs::read(d.join("precious")).unwrap(), b"keep me");
        assert_eq!(std::fs::read(d.join("tmp")).unwrap(), b"new");
        // A stale regular file is replaced too.
        drop(f);
        create_new(&d.join("tmp"), 0o600).unwrap();
        assert_eq!(std::fs::read(d.join("tmp")).unwrap(), b"");
        let _ = std::fs::remove_dir_all(&d);
    }
}
