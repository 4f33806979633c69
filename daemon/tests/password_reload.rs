//! A reload fails closed: SIGHUP never turns a password off; only a restart does.
#![allow(clippy::unwrap_used)]

use chat_testkit::{wait_for, Chatd, Launch, TempDir};
use nix::sys::signal::Signal;

/// Connect, answer the password prompt if there is one, and return the line that follows
/// (`ASK NAME` when let in).
fn try_password(s: &Chatd, password: &str) -> String {
    let mut c = s.connect();
    c.expect("HELLO ");
    let ask = c.line();
    if ask.starts_with("ASK NAME") {
        return ask;
    }
    assert!(ask.starts_with("ASK PASSWORD"), "{ask}");
    c.send(password);
    c.line()
}

#[test]
fn an_emptied_password_file_on_sighup_keeps_the_password() {
    let dir = TempDir::new("emptied");
    let pw = dir.join("pw");
    std::fs::write(&pw, "sesame\n").unwrap();
    let s = Chatd::start_in(dir.path(), &["--password-file", pw.to_str().unwrap()]);
    // Truncated to nothing (an editor mid-save, a full disk), then only a newline.
    for (k, empty) in ["", "\n"].into_iter().enumerate() {
        std::fs::write(&pw, empty).unwrap();
        s.signal(Signal::SIGHUP);
        wait_for("a refusal logged", || {
            s.log()
                .lines()
                .filter(|l| l.contains("password-reload-refused"))
                .count()
                > k
        });
        let l = s.wait_log("password-reload-refused");
        assert!(l.contains(" WARN "), "{l}");
        assert!(!s.log().contains("password=off"));
        // One guess each time: three wrong ones would get the address throttled.
        let guess = if k == 0 { "" } else { "anything" };
        assert!(try_password(&s, guess).starts_with("BYE password"));
    }
    // The old password still works; a new one in the file takes over.
    assert!(try_password(&s, "sesame").starts_with("ASK NAME"));
    std::fs::write(&pw, "two\n").unwrap();
    s.signal(Signal::SIGHUP);
    s.wait_log("password-reloaded");
    assert!(try_password(&s, "two").starts_with("ASK NAME"));
}

#[test]
fn an_open_server_takes_a_password_on_sighup() {
    let dir = TempDir::new("open-then-closed");
    let pw = dir.join("pw");
    std::fs::write(&pw, "\n").unwrap();
    let s = Chatd::start_in(dir.path(), &["--password-file", pw.to_str().unwrap()]);
    assert!(s.wait_log("password file=").contains("password=off"));
    assert!(try_password(&s, "").starts_with("ASK NAME"));
    std::fs::write(&pw, "sesame\n").unwrap();
    s.signal(Signal::SIGHUP);
    assert!(s.wait_log("password-reloaded").contains("password=on"));
    assert!(try_password(&s, "nope").starts_with("BYE password"));
    assert!(try_password(&s, "sesame").starts_with("ASK NAME"));
}

#[test]
fn a_newline_only_credential_at_start_means_no_password() {
    // The unit's SetCredential=password:\n fallback when /etc/chatd/password is missing.
    let dir = TempDir::new("cred-open");
    let creds = TempDir::new("cred-open-dir");
    std::fs::write(creds.join("password"), "\n").unwrap();
    let s = Launch::new()
        .state_dir(dir.path())
        .env("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap())
        .start();
    assert!(s.wait_log("password file=").contains("password=off"));
    assert!(try_password(&s, "").starts_with("ASK NAME"));
}
