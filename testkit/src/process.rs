//! Child processes: signals by PID, bounded waits for an exit or a condition, a kill when the
//! test ends.

use std::io::Read as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::WAIT;

/// How often the polling waits below look again.
const POLL: Duration = Duration::from_millis(20);

/// Return whether process `pid` is running: it exists and has not exited. A process that
/// exited stays a zombie until its parent reaps it, which for a daemon (a tmux server) or an
/// orphan is PID 1, maybe much later; that counts as not running.
pub fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S …`: the state follows the last `)` (comm may hold one).
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, None | Some("Z" | "X"))
}

/// Send `sig` to the process `pid`, which must be one the test started.
pub fn signal(pid: u32, sig: Signal) {
    let raw = i32::try_from(pid).unwrap_or_else(|_| panic!("pid {pid} out of range"));
    kill(Pid::from_raw(raw), sig).unwrap_or_else(|e| panic!("kill -{sig} {pid}: {e}"));
}

/// Poll `cond` until it holds; panic naming `what` if it does not within [`WAIT`].
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::sleep(POLL);
    }
}

/// Wait for `child` to exit and return its status; kill it and panic if it runs past [`WAIT`].
pub(crate) fn wait_exit(child: &mut Child) -> ExitStatus {
    let end = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for a child") {
            return status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit in time", child.id());
        }
        thread::sleep(POLL);
    }
}

/// Run `cmd`, with its stderr piped, to its exit; return its exit code and what it wrote to
/// stderr. Kill it and panic if it runs past [`WAIT`] (for a program that must stop by itself,
/// e.g. chatd refusing to start).
pub fn run_to_exit(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    let status = wait_exit(&mut child);
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("its stderr")
        .read_to_string(&mut err)
        .expect("read its stderr");
    (status.code(), err)
}

/// A child process the test started, killed (by its PID, through its `Child`) and reaped when
/// this is dropped, however the test ends.
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_zombie_is_not_running() {
        assert!(running(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited but not reaped: a zombie, still in /proc.
        wait_for("true to exit", || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
        });
        assert!(!running(pid));
        child.wait().unwrap();
        assert!(!running(pid));
    }
}
