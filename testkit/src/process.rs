//! Child processes: signals by PID, bounded waits for an exit or a condition.

use std::process::{Child, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::WAIT;

/// How often the polling waits below look again.
const POLL: Duration = Duration::from_millis(20);

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
