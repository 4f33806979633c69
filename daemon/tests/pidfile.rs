//! Two daemons, one pidfile: the second stops with one line; a daemon removes only its own.
#![allow(clippy::unwrap_used)]

use chat_testkit::{chatd_command, run_to_exit, Chatd, TempDir};
use nix::sys::signal::Signal;

#[test]
fn a_second_daemon_with_the_same_pidfile_exits_1_in_one_line() {
    let dir = TempDir::new("pid-two");
    let pidfile = dir.join("chatd.pid");
    let p = pidfile.to_str().unwrap();
    let mut first = Chatd::start_in(dir.path(), &["--pidfile", p]);
    let first_pid = first.pid().to_string();
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap().trim(), first_pid);

    for extra in [&[][..], &["--daemon", "--log", "stderr"][..]] {
        let mut args = vec!["--pidfile", p];
        args.extend_from_slice(extra);
        // A second chatd, run to its exit (bounded).
        let (code, err) = run_to_exit(chatd_command(dir.path()).args(&args));
        assert_eq!(code, Some(1), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(
            err.contains(p) && err.contains(&format!("pid {first_pid}")),
            "{extra:?}: {err}"
        );
        // The first one's pidfile is untouched, and it still serves.
        assert_eq!(std::fs::read_to_string(&pidfile).unwrap().trim(), first_pid);
    }
    first.join("Ana");

    first.signal(Signal::SIGTERM);
    assert_eq!(first.wait_exit().code(), Some(0));
    assert!(!pidfile.exists(), "the pidfile outlived its daemon");
}

#[test]
fn a_pidfile_that_is_no_longer_ours_is_left_alone_on_exit() {
    let dir = TempDir::new("pid-theirs");
    let pidfile = dir.join("chatd.pid");
    let mut s = Chatd::start_in(dir.path(), &["--pidfile", pidfile.to_str().unwrap()]);
    // Someone (another daemon started after this one's file was deleted) owns it now.
    std::fs::remove_file(&pidfile).unwrap();
    std::fs::write(&pidfile, "4242\n").unwrap();
    s.signal(Signal::SIGTERM);
    assert_eq!(s.wait_exit().code(), Some(0));
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap(), "4242\n");
}
