//! Real IRC clients for chatd's tests, each driven the way its users drive it: irssi in a
//! terminal (tmux), WeeChat headless through its FIFO, ii through its files, and a python3-irc
//! bot through its stdin. Each runs with a home of its own in a temporary directory, so nothing
//! of this machine's user configuration is read or written; each talks to loopback only and is
//! killed by its PID when the test drops it. They are Debian packages (`irssi`,
//! `weechat-headless` with `weechat-plugins`, `ii`, `python3-irc`) that `.ci/test` installs:
//! without them these tests fail and say which package is missing.
#![allow(dead_code, clippy::unwrap_used)]

pub mod ii;
pub mod irssi;
pub mod pybot;
pub mod weechat;

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chat_testkit::WAIT;
use nix::fcntl::OFlag;

/// Fail the test, naming the package, if `program` (an absolute path) is not installed.
pub fn require(program: &str, package: &str) {
    assert!(
        Path::new(program).is_file(),
        "{program} is needed for this test: apt-get install {package} (bash .ci/test does)"
    );
}

/// A command for `program` with an empty environment but for `PATH`, `HOME` (the test's own
/// directory), `TZ=UTC` (so times on screen and in logs are UTC, as chatd's) and a UTF-8
/// locale: no `IRCNICK`, `IRCSERVER` or other setting of the machine's user reaches it.
pub fn isolated(program: &str, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("TZ", "UTC")
        .env("LANG", "C.UTF-8");
    cmd
}

/// A running client process, killed by its PID (through its `Child`) when dropped.
pub struct Running {
    pub child: Child,
}

impl Running {
    /// Start `cmd` with stdin, stdout and stderr as given.
    pub fn spawn(mut cmd: Command, stdin: Stdio, what: &str) -> Running {
        let child = cmd
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        Running { child }
    }

    /// Wait (bounded) for the process to exit by itself; return whether it did.
    pub fn wait_exit(&mut self) -> bool {
        let end = Instant::now() + WAIT;
        while Instant::now() < end {
            if self.child.try_wait().ok().flatten().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `path` (a file a client writes) until its text satisfies `pred`, bounded by
/// [`WAIT`]; return the text, or fail with what the file held.
pub fn wait_file(path: &Path, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + WAIT;
    let mut text = String::new();
    while Instant::now() < end {
        text = std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if pred(&text) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never showed {what}; it held:\n{text}", path.display());
}

/// Wait (bounded) until `path` exists; return it.
pub fn wait_path(path: PathBuf) -> PathBuf {
    let end = Instant::now() + WAIT;
    while !path.exists() {
        assert!(Instant::now() < end, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    path
}

/// Write `line` and a newline to the FIFO at `path`, which a client reads. Opened without
/// blocking: if the client is gone there is no reader, and the test fails instead of hanging.
pub fn write_fifo(path: &Path, line: &str) {
    let mut f = OpenOptions::new()
        .write(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)
        .unwrap_or_else(|e| panic!("open {} (is its reader alive?): {e}", path.display()));
    f.write_all(format!("{line}\n").as_bytes())
        .unwrap_or_else(|e| panic!("write to {}: {e}", path.display()));
}
