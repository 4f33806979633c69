//! Detaching from the terminal, the classic Unix way: fork, setsid, fork again, chdir `/`,
//! umask 022, standard streams to `/dev/null`.
//!
//! The original process waits on a pipe until the daemon says it is ready (exit 0), reports a
//! failure (its message is printed, exit 1) or dies (exit 1), so that `chatd --daemon` only
//! succeeds once the daemon serves. Listeners are bound before, so bind errors reach the
//! terminal directly.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{chdir, dup2_stderr, dup2_stdin, dup2_stdout, fork, pipe, setsid, ForkResult};

/// How long the original process waits for the daemon to become ready.
const READY_WAIT: Duration = Duration::from_secs(30);

/// Why detaching failed (reported in the original process).
#[derive(Debug)]
pub struct DaemonizeError {
    /// The step that failed.
    pub step: &'static str,
    /// What the system said.
    pub source: io::Error,
}

impl fmt::Display for DaemonizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {}: {}", self.step, self.source)
    }
}

impl std::error::Error for DaemonizeError {}

fn err(step: &'static str) -> impl FnOnce(nix::Error) -> DaemonizeError {
    move |e| DaemonizeError {
        step,
        source: e.into(),
    }
}

/// The daemon's end of the readiness pipe.
#[derive(Debug)]
pub struct Readiness(Option<File>);

impl Readiness {
    /// A readiness reporter that reports to nobody (foreground mode).
    pub fn none() -> Self {
        Readiness(None)
    }

    /// Tell the waiting parent about a problem that is not fatal.
    pub fn warn(&mut self, msg: &str) {
        if let Some(f) = &mut self.0 {
            let _ = writeln!(f, "W{}", msg.replace('\n', " "));
        }
    }

    /// Tell the waiting parent that the daemon serves; it exits 0.
    pub fn ready(&mut self) {
        if let Some(mut f) = self.0.take() {
            let _ = f.write_all(b"R\n");
        }
    }

    /// Tell the waiting parent that starting failed; it prints `msg` and exits 1.
    pub fn fail(&mut self, msg: &str) {
        if let Some(mut f) = self.0.take() {
            let _ = writeln!(f, "E{}", msg.replace('\n', " "));
        }
    }
}

/// Detach. Returns in the daemon process only; the original process exits when the daemon
/// is ready or fails.
pub fn daemonize() -> Result<Readiness, DaemonizeError> {
    let (rx, tx) = pipe().map_err(err("create a pipe"))?;
    // SAFETY: chatd is single-threaded here (the setup thread has been joined), so the child
    // may run any code after fork.
    #[allow(unsafe_code)]
    match unsafe { fork() }.map_err(err("fork"))? {
        ForkResult::Parent { .. } => {
            drop(tx);
            std::process::exit(wait_for_child(rx));
        }
        ForkResult::Child => {}
    }
    drop(rx);
    setsid().map_err(err("setsid"))?;
    // SAFETY: as above; the session leader forks once more so it can never reacquire a
    // controlling terminal.
    #[allow(unsafe_code)]
    match unsafe { fork() }.map_err(err("fork"))? {
        ForkResult::Parent { .. } => std::process::exit(0),
        ForkResult::Child => {}
    }
    chdir("/").map_err(err("chdir /"))?;
    umask(Mode::from_bits_truncate(0o022));
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|source| DaemonizeError {
            step: "open /dev/null",
            source,
        })?;
    dup2_stdin(&null).map_err(err("redirect stdin"))?;
    dup2_stdout(&null).map_err(err("redirect stdout"))?;
    dup2_stderr(&null).map_err(err("redirect stderr"))?;
    Ok(Readiness(Some(File::from(tx))))
}

/// Wait for the daemon's word on the pipe; return the exit status for the original process.
fn wait_for_child(rx: OwnedFd) -> i32 {
    let mut f = File::from(rx);
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        // Lines so far: warnings are printed, `R` means ready, `E` is a failure.
        while let Some(pos) = got.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = got.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[1..line.len() - 1]).into_owned();
            match line.first() {
                Some(b'R') => return 0,
                Some(b'E') => {
                    eprintln!("chatd: {text}");
                    return 1;
                }
                _ => eprintln!("chatd: warning: {text}"),
            }
        }
        let left = READY_WAIT.saturating_sub(start.elapsed());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) if left.is_zero() => {
                let secs = READY_WAIT.as_secs();
                eprintln!("chatd: the daemon did not report ready within {secs} s");
                return 1;
            }
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                eprintln!("chatd: cannot hear from the daemon: {e}");
                return 1;
            }
        }
        match f.read(&mut buf) {
            Ok(0) => {
                eprintln!("chatd: the daemon exited before it was ready");
                return 1;
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("chatd: cannot hear from the daemon: {e}");
                return 1;
            }
        }
    }
}
