//! Starting, stopping, restarting and reloading the real binary.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chat_testkit::{chatd_bin, clean_env, Chatd, Launch, TempDir, WAIT};
use nix::sys::signal::Signal;

#[test]
fn sigterm_sends_shutdown_to_everyone_and_exits_zero() {
    let dir = TempDir::new("term");
    let mut s = Chatd::start_in(dir.path(), &[]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    let mut pending = s.connect();
    pending.expect("ASK NAME");
    s.signal(Signal::SIGTERM);
    for c in [&mut ana, &mut bo, &mut pending] {
        let lines = c.read_to_close();
        let last = lines.last().expect("a SHUTDOWN line");
        assert!(
            last.starts_with("SHUTDOWN ") && last.ends_with(" chatd is shutting down."),
            "{lines:?}"
        );
    }
    assert_eq!(s.wait_exit().code(), Some(0));
    assert!(s.log().contains("history-saved"));
}

#[test]
fn sigint_also_stops_gracefully() {
    let dir = TempDir::new("int");
    let mut s = Chatd::start_in(dir.path(), &[]);
    let mut ana = s.join("Ana");
    s.signal(Signal::SIGINT);
    assert!(ana.read_to_close().last().unwrap().starts_with("SHUTDOWN "));
    assert_eq!(s.wait_exit().code(), Some(0));
}

#[test]
fn history_survives_a_restart() {
    let dir = TempDir::new("restart");
    let mut s = Chatd::start_in(dir.path(), &[]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    ana.send("antes do restart");
    ana.send("/me acena");
    bo.expect("MSG ");
    bo.expect("ME ");
    s.signal(Signal::SIGTERM);
    assert_eq!(s.wait_exit().code(), Some(0));
    drop(s);
    let s = Chatd::start_in(dir.path(), &[]);
    let mut cy = s.join("Cy");
    cy.expect("WHO ");
    let h1 = cy.line();
    let h2 = cy.line();
    assert!(
        h1.starts_with("HIST MSG ") && h1.ends_with(" Ana antes do restart"),
        "{h1}"
    );
    assert!(
        h2.starts_with("HIST ME ") && h2.ends_with(" Ana acena"),
        "{h2}"
    );
}

#[test]
fn history_is_saved_while_running_so_a_kill_loses_little() {
    let dir = TempDir::new("kill9");
    let mut s = Chatd::start_in(dir.path(), &[]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    ana.send("salvo");
    bo.expect("MSG ");
    // Saved within about a second, without any shutdown.
    let file = dir.join("history");
    let end = std::time::Instant::now() + WAIT;
    while !std::fs::read_to_string(&file).is_ok_and(|t| t.contains(" Ana salvo")) {
        assert!(std::time::Instant::now() < end, "history not saved in time");
        std::thread::sleep(Duration::from_millis(50));
    }
    s.signal(Signal::SIGKILL);
    let _ = s.wait_exit();
    drop(s);
    let s = Chatd::start_in(dir.path(), &[]);
    let mut cy = s.join("Cy");
    cy.expect("WHO ");
    assert!(cy.line().ends_with(" Ana salvo"));
}

#[test]
fn corrupt_history_is_ignored() {
    let dir = TempDir::new("corrupt");
    std::fs::write(
        dir.join("history"),
        b"\xff\xfe garbage\nHIST MSG not-a-time Ana x\n",
    )
    .unwrap();
    let s = Chatd::start_in(dir.path(), &[]);
    s.wait_log("skipped-bad-lines=2");
    let mut ana = s.join("Ana");
    ana.expect("WHO ");
    assert!(ana.line_within(Duration::from_millis(300)).is_none());
}

fn password_dialog(s: &Chatd, password: &str) -> Vec<String> {
    let mut c = s.connect();
    c.expect("ASK PASSWORD");
    c.send(password);
    let l = c.line();
    if l.starts_with("ASK NAME") {
        return vec![l];
    }
    let mut lines = vec![l];
    lines.extend(c.read_to_close());
    lines
}

#[test]
fn password_from_a_file_right_and_wrong() {
    let dir = TempDir::new("pw");
    let pw = dir.join("pw");
    std::fs::write(&pw, "sesame\r\n").unwrap();
    let s = Chatd::start_in(dir.path(), &["--password-file", pw.to_str().unwrap()]);
    assert!(password_dialog(&s, "sesame")[0].starts_with("ASK NAME"));
    let wrong = password_dialog(&s, "open up");
    assert!(wrong[0].starts_with("BYE password"), "{wrong:?}");
    assert!(s.wait_log("auth-failure").contains("peer=127.0.0.1:"));
}

#[test]
fn password_from_the_credentials_directory() {
    let dir = TempDir::new("cred");
    let creds = TempDir::new("creddir");
    std::fs::write(creds.join("password"), "segredo\n").unwrap();
    let s = Launch::new()
        .state_dir(dir.path())
        .env("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap())
        .start();
    assert!(password_dialog(&s, "segredo")[0].starts_with("ASK NAME"));
    assert!(password_dialog(&s, "sesame")[0].starts_with("BYE password"));
}

#[test]
fn unreadable_password_file_is_fatal_at_start() {
    let dir = TempDir::new("nopw");
    let mut cmd = std::process::Command::new(chatd_bin());
    cmd.args(["--listen", "127.0.0.1:0", "--password-file"])
        .arg(dir.join("missing"))
        .arg("--state-dir")
        .arg(dir.path());
    let out = clean_env(&mut cmd).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("password file") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn sighup_rereads_the_password_and_keeps_it_when_broken() {
    let dir = TempDir::new("hup");
    let pw = dir.join("pw");
    std::fs::write(&pw, "one\n").unwrap();
    let s = Chatd::start_in(dir.path(), &["--password-file", pw.to_str().unwrap()]);
    assert!(password_dialog(&s, "one")[0].starts_with("ASK NAME"));
    std::fs::write(&pw, "two\n").unwrap();
    s.signal(Signal::SIGHUP);
    s.wait_log("password-reloaded");
    assert!(password_dialog(&s, "two")[0].starts_with("ASK NAME"));
    assert!(password_dialog(&s, "one")[0].starts_with("BYE password"));
    // A missing file keeps the old password.
    std::fs::remove_file(&pw).unwrap();
    s.signal(Signal::SIGHUP);
    s.wait_log("password-reload-failed");
    assert!(password_dialog(&s, "two")[0].starts_with("ASK NAME"));
}

#[test]
fn unwritable_state_dir_is_logged_not_fatal() {
    let dir = TempDir::new("rostate");
    let file = dir.join("plain-file");
    std::fs::write(&file, "").unwrap();
    let bad = file.join("state");
    let mut s = Chatd::start_in(&bad, &[]);
    assert!(s.wait_log("state-dir-unwritable").contains("plain-file"));
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    ana.send("ainda funciona");
    assert!(bo.expect("MSG ").ends_with(" Ana ainda funciona"));
    s.signal(Signal::SIGTERM);
    assert_eq!(s.wait_exit().code(), Some(0));
}
