//! Out of file descriptors: chatd raises its soft limit, warns when it is still too low for
//! `--max-clients`, and tells every client past the limit `BYE full` instead of nothing.
//!
//! The limits are set with `prlimit` (util-linux, on every Debian system), which execs chatd
//! with them.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use chat_testkit::{Chatd, Client, Launch, TempDir, WAIT};

/// Start chatd under `prlimit --nofile=SOFT:HARD` with `--max-clients 256` and no
/// per-address limit.
fn start_limited(dir: &TempDir, soft: u32, hard: u32) -> Chatd {
    Launch::new()
        .through("prlimit", &[&format!("--nofile={soft}:{hard}")])
        .state_dir(dir.path())
        // Every connection from 127.0.0.1: only the fd limit may refuse them here.
        .args(&["--max-clients", "256", "--max-per-address", "off"])
        .start()
}

/// Open `n` connections and return the first line each got within one shared deadline
/// (`None`: nothing at all).
fn first_lines(s: &Chatd, n: usize) -> (Vec<Client>, Vec<Option<String>>) {
    let mut clients: Vec<Client> = (0..n).map(|_| s.connect()).collect();
    let end = Instant::now() + WAIT;
    let lines = clients
        .iter_mut()
        .map(|c| c.line_within(end.saturating_duration_since(Instant::now())))
        .collect();
    (clients, lines)
}

/// Join as `name`, retrying (bounded) while chatd still says `BYE full`.
fn join_when_free(s: &Chatd, name: &str) -> Client {
    let end = Instant::now() + WAIT;
    loop {
        let mut c = s.connect();
        let first = c.line();
        if first.starts_with("HELLO ") {
            c.expect("ASK NAME");
            c.send(name);
            c.expect("WELCOME ");
            return c;
        }
        assert!(
            first.starts_with("BYE full ") && Instant::now() < end,
            "{first}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Return the soft and hard "Max open files" of `pid`.
fn open_files_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut w = line["Max open files".len()..].split_whitespace();
    (w.next().unwrap().into(), w.next().unwrap().into())
}

#[test]
fn past_the_fd_limit_every_connection_hears_bye_full() {
    let dir = TempDir::new("fd-low");
    let s = start_limited(&dir, 64, 64);
    let warn = s.wait_log("fd-limit ");
    assert!(
        warn.contains(" WARN ") && warn.contains("soft=64") && warn.contains("max-clients=256"),
        "{warn}"
    );
    let (clients, lines) = first_lines(&s, 80);
    let silent = lines.iter().filter(|l| l.is_none()).count();
    let hello = lines
        .iter()
        .flatten()
        .filter(|l| l.starts_with("HELLO "))
        .count();
    let full = lines
        .iter()
        .flatten()
        .filter(|l| l.starts_with("BYE full "))
        .count();
    assert_eq!(
        silent, 0,
        "{silent} of 80 connections got nothing: {lines:?}"
    );
    assert_eq!(hello + full, 80, "{lines:?}");
    assert!(hello >= 40 && full >= 1, "{hello} HELLO, {full} BYE full");
    assert!(s.wait_log("refused peer=").contains("reason=fd-limit"));
    // Once those connections are gone, descriptors are free again and people chat.
    drop(clients);
    let mut ana = join_when_free(&s, "Ana");
    let mut bo = join_when_free(&s, "Bo");
    ana.send("still fine");
    assert!(bo.expect("MSG ").ends_with(" Ana still fine"));
}

#[test]
fn the_soft_fd_limit_is_raised_to_the_hard_one() {
    let dir = TempDir::new("fd-raise");
    let s = start_limited(&dir, 64, 4096);
    assert_eq!(
        open_files_limit(s.pid()),
        ("4096".to_string(), "4096".to_string())
    );
    let (_clients, lines) = first_lines(&s, 80);
    assert!(
        lines
            .iter()
            .all(|l| l.as_deref().is_some_and(|l| l.starts_with("HELLO "))),
        "{lines:?}"
    );
    assert!(!s.log().contains("fd-limit "));
}
