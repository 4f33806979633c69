//! The pidfile: locked for the life of the daemon, so two daemons can never share one.
//!
//! [`Pidfile::lock`] opens the file in place (never through a symbolic link, never a FIFO or
//! a device) and takes an exclusive `flock`; a second chatd with the same `--pidfile` finds
//! it locked and stops before it binds anything. The lock is taken before detaching and the
//! locked descriptor survives the forks, so the process id written afterwards by
//! [`Pidfile::write_pid`] is the daemon's. On exit the file is removed only if the name still
//! leads to the file this daemon locked.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

/// How many times to retry when the file is replaced between opening and locking it.
const LOCK_ATTEMPTS: usize = 5;

/// Why the pidfile could not be taken.
#[derive(Debug)]
pub enum PidfileError {
    /// Opening, locking or writing it failed.
    Io {
        /// The pidfile.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Something other than a plain file with one name is there (a link, a FIFO, …).
    NotRegular {
        /// The pidfile.
        path: PathBuf,
    },
    /// Another process holds the lock: another chatd runs with this pidfile.
    Locked {
        /// The pidfile.
        path: PathBuf,
        /// The process id written in it, if it could be read.
        pid: Option<u32>,
    },
}

impl fmt::Display for PidfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PidfileError::Io { path, source } => {
                write!(f, "cannot write pidfile {}: {source}", path.display())
            }
            PidfileError::NotRegular { path } => write!(
                f,
                "cannot write pidfile {}: it is not a regular file with a single name",
                path.display()
            ),
            PidfileError::Locked {
                path,
                pid: Some(pid),
            } => write!(
                f,
                "pidfile {} is locked: another chatd (pid {pid}) is running with it",
                path.display()
            ),
            PidfileError::Locked { path, pid: None } => write!(
                f,
                "pidfile {} is locked: another chatd is running with it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for PidfileError {}

/// A locked pidfile, unlocked (and removed if still ours) when dropped.
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
    file: Flock<File>,
    dev: u64,
    ino: u64,
}

impl Pidfile {
    /// Open or create the pidfile at `path` and lock it; fail if another process holds it.
    pub fn lock(path: &Path) -> Result<Pidfile, PidfileError> {
        let path = std::path::absolute(path).map_err(|source| PidfileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let io_err = |source: io::Error| PidfileError::Io {
            path: path.clone(),
            source,
        };
        for _ in 0..LOCK_ATTEMPTS {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
                .open(&path)
                .map_err(|e| {
                    if e.raw_os_error() == Some(Errno::ELOOP as i32) {
                        PidfileError::NotRegular { path: path.clone() }
                    } else {
                        io_err(e)
                    }
                })?;
            let meta = file.metadata().map_err(io_err)?;
            // A hard link would make chatd truncate some other file it can write.
            if !meta.file_type().is_file() || meta.nlink() != 1 {
                return Err(PidfileError::NotRegular { path: path.clone() });
            }
            let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(f) => f,
                Err((mut f, Errno::EWOULDBLOCK)) => {
                    return Err(PidfileError::Locked {
                        pid: read_pid(&mut f),
                        path: path.clone(),
                    })
                }
                Err((_, e)) => return Err(io_err(e.into())),
            };
            // The previous owner may have removed the file between our open and our lock:
            // then the name leads elsewhere (or nowhere) and this lock guards nothing.
            let same = std::fs::symlink_metadata(&path)
                .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino());
            if same {
                let _ = clear_nonblock(&mut file);
                return Ok(Pidfile {
                    path,
                    file,
                    dev: meta.dev(),
                    ino: meta.ino(),
                });
            }
        }
        Err(io_err(io::Error::other(
            "it keeps being replaced while chatd locks it",
        )))
    }

    /// Write this process's id into the pidfile (call it after detaching).
    pub fn write_pid(&mut self) -> Result<(), PidfileError> {
        let pid = std::process::id();
        let f: &mut File = &mut self.file;
        (|| {
            f.set_len(0)?;
            let mut w = &*f;
            std::io::Seek::rewind(&mut w)?;
            writeln!(w, "{pid}")?;
            f.sync_all()
        })()
        .map_err(|source| PidfileError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Return the pidfile's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        // Still ours if the name leads to the file we locked; the lock goes with the
        // descriptor, after the name is gone, so no other chatd can take a file we remove.
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Return the process id written in a locked pidfile, if it holds one.
fn read_pid(f: &mut File) -> Option<u32> {
    let mut buf = [0u8; 32];
    let n = f.read(&mut buf).ok()?;
    std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()
}

/// Make writes to the pidfile ordinary blocking ones again (it was opened non-blocking only so
/// that a FIFO planted there could not hang the open).
fn clear_nonblock(f: &mut File) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg};
    let flags = OFlag::from_bits_truncate(fcntl(&*f, FcntlArg::F_GETFL)?);
    fcntl(&*f, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("chatd-pidfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_second_lock_fails_and_names_the_holder() {
        let d = dir("twice");
        let p = d.join("chatd.pid");
        let mut first = Pidfile::lock(&p).unwrap();
        first.write_pid().unwrap();
        let e = Pidfile::lock(&p).unwrap_err();
        let me = std::process::id();
        assert!(
            matches!(e, PidfileError::Locked { pid: Some(pid), .. } if pid == me),
            "{e}"
        );
        assert!(e.to_string().contains(&format!("pid {me}")), "{e}");
        drop(first);
        assert!(!p.exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_replaced_pidfile_is_left_alone_on_exit() {
        let d = dir("replaced");
        let p = d.join("chatd.pid");
        let mut mine = Pidfile::lock(&p).unwrap();
        mine.write_pid().unwrap();
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, "4242\n").unwrap();
        drop(mine);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "4242\n");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn links_and_fifos_are_refused() {
        let d = dir("odd");
        std::fs::write(d.join("victim"), "keep").unwrap();
        std::os::unix::fs::symlink(d.join("victim"), d.join("link.pid")).unwrap();
        assert!(matches!(
            Pidfile::lock(&d.join("link.pid")),
            Err(PidfileError::NotRegular { .. })
        ));
        std::fs::hard_link(d.join("victim"), d.join("hard.pid")).unwrap();
        assert!(matches!(
            Pidfile::lock(&d.join("hard.pid")),
            Err(PidfileError::NotRegular { .. })
        ));
        assert_eq!(std::fs::read_to_string(d.join("victim")).unwrap(), "keep");
        nix::unistd::mkfifo(
            &d.join("fifo.pid"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        assert!(matches!(
            Pidfile::lock(&d.join("fifo.pid")),
            Err(PidfileError::NotRegular { .. })
        ));
        let _ = std::fs::remove_dir_all(&d);
    }
}
