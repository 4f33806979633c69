//! `--daemon`: detaching, the pidfile, and failures reaching the terminal.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use chat_testkit::{chatd_bin, clean_env, Client, TempDir, WAIT};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Kills the daemon (by the pid it wrote) if the test ends early.
struct Reaper(Option<Pid>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = kill(pid, Signal::SIGKILL);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `pid` still runs (a zombie waiting for init to reap it counts as gone).
fn alive(pid: Pid) -> bool {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false);
    kill(pid, None).is_ok() && !zombie
}

#[test]
fn detaches_writes_the_pidfile_and_removes_it_on_sigterm() {
    let dir = TempDir::new("daemon");
    let pidfile = dir.join("chatd.pid");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(chatd_bin());
    cmd.args([
        "--daemon",
        "--log",
        "stderr",
        "--listen",
        &listen,
        "--pidfile",
    ])
    .arg(&pidfile)
    .arg("--state-dir")
    .arg(dir.path());
    let out = clean_env(&mut cmd).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The parent has exited and the daemon already serves.
    let text = std::fs::read_to_string(&pidfile).expect("pidfile written before the parent exits");
    let pid = Pid::from_raw(text.trim().parse().unwrap());
    let _reaper = Reaper(Some(pid));
    assert!(alive(pid));
    let mut c = Client::connect(format!("127.0.0.1:{port}").parse().unwrap());
    assert!(c.line().starts_with("HELLO chatd/1 "));
    // It is in its own session, not ours.
    assert_ne!(
        nix::unistd::getsid(Some(pid)).unwrap(),
        nix::unistd::getsid(None).unwrap()
    );

    kill(pid, Signal::SIGTERM).unwrap();
    assert!(c.read_to_close().last().unwrap().starts_with("SHUTDOWN "));
    let end = Instant::now() + WAIT;
    while alive(pid) || pidfile.exists() {
        assert!(
            Instant::now() < end,
            "daemon did not stop or left its pidfile"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn failure_to_bind_makes_the_parent_fail() {
    let dir = TempDir::new("daemon-fail");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let pidfile = dir.join("chatd.pid");
    let mut cmd = Command::new(chatd_bin());
    cmd.args(["--daemon", "--listen", &listen, "--pidfile"])
        .arg(&pidfile)
        .arg("--state-dir")
        .arg(dir.path());
    let out = clean_env(&mut cmd).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&listen) && err.lines().count() == 1, "{err}");
    assert!(!pidfile.exists());
}
