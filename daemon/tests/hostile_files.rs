//! Files that could hang or trick the daemon: FIFOs where the password or the history should
//! be, files of hundreds of megabytes, symbolic links planted at the names chatd writes.
#![allow(clippy::unwrap_used)]

use chat_testkit::{chatd_command, run_to_exit, Chatd, TempDir};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use std::os::unix::fs::symlink;
use std::path::Path;

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, Mode::from_bits_truncate(0o600)).unwrap();
}

/// The peak resident memory of `pid`, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Make `path` a sparse file of `size` bytes that ends with `tail`: it costs no disk, but a
/// daemon that reads it all reads `size` bytes.
fn sparse_file(path: &Path, size: u64, tail: &[u8]) {
    use std::io::{Seek as _, SeekFrom, Write as _};
    let mut f = std::fs::File::create(path).unwrap();
    f.seek(SeekFrom::Start(size - tail.len() as u64)).unwrap();
    f.write_all(tail).unwrap();
}

fn password_dialog(s: &Chatd, password: &str) -> String {
    let mut c = s.connect();
    c.expect("ASK PASSWORD");
    c.send(password);
    c.line()
}

#[test]
fn a_history_that_is_a_fifo_is_skipped_and_chatd_serves() {
    let dir = TempDir::new("fifo-history");
    mkfifo(&dir.join("history"));
    let s = Chatd::start_in(dir.path(), &[]);
    let l = s.wait_log("history-load-failed");
    assert!(l.contains("a FIFO, not a regular file"), "{l}");
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    ana.send("no hang");
    assert!(bo.expect("MSG ").ends_with(" Ana no hang"));
}

#[test]
fn a_password_file_that_is_a_fifo_is_refused_at_start_in_one_line() {
    let dir = TempDir::new("fifo-pw");
    let pw = dir.join("pw");
    mkfifo(&pw);
    let (code, err) = run_to_exit(chatd_command(dir.path()).arg("--password-file").arg(&pw));
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("a FIFO, not a regular file"), "{err}");
}

#[test]
fn a_password_file_replaced_by_a_fifo_then_sighup_keeps_chatd_serving() {
    let dir = TempDir::new("fifo-hup");
    let pw = dir.join("pw");
    std::fs::write(&pw, "sesame\n").unwrap();
    let s = Chatd::start_in(dir.path(), &["--password-file", pw.to_str().unwrap()]);
    std::fs::remove_file(&pw).unwrap();
    mkfifo(&pw);
    s.signal(Signal::SIGHUP);
    let l = s.wait_log("password-reload-failed");
    assert!(l.contains("a FIFO, not a regular file"), "{l}");
    assert!(password_dialog(&s, "sesame").starts_with("ASK NAME"));
    assert!(password_dialog(&s, "").starts_with("BYE password"));
}

#[test]
fn a_huge_history_file_costs_neither_time_nor_memory() {
    let dir = TempDir::new("huge-history");
    // Whatever fills the file ends with a newline, then come the last ten entries.
    let mut tail = b"\n".to_vec();
    for i in 0..10 {
        tail.extend_from_slice(format!("HIST MSG 2026-11-24T14:03:05Z Bo last{i}\n").as_bytes());
    }
    sparse_file(&dir.join("history"), 512 << 20, &tail);
    let s = Chatd::start_in(dir.path(), &[]);
    let l = s.wait_log("history-loaded");
    assert!(l.contains("entries=10"), "{l}");
    let peak = peak_rss_kib(s.pid());
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} KiB after a 512 MiB history"
    );
    let mut cy = s.join_settled("Cy");
    for i in 0..10 {
        let h = cy.line();
        assert!(h.ends_with(&format!(" Bo last{i}")), "{h}");
    }
}

#[test]
fn a_huge_password_file_on_sighup_is_refused_unread() {
    let dir = TempDir::new("huge-pw");
    let pw = dir.join("pw");
    std::fs::write(&pw, "sesame\n").unwrap();
    let s = Chatd::start_in(dir.path(), &["--password-file", pw.to_str().unwrap()]);
    let new = dir.join("pw.new");
    sparse_file(&new, 256 << 20, b"x\n");
    std::fs::rename(&new, &pw).unwrap();
    s.signal(Signal::SIGHUP);
    let l = s.wait_log("password-reload-failed");
    assert!(l.contains("more than the 4096 allowed"), "{l}");
    let peak = peak_rss_kib(s.pid());
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} KiB after a 256 MiB password file"
    );
    assert!(password_dialog(&s, "sesame").starts_with("ASK NAME"));
}

#[test]
fn links_planted_at_the_temp_names_are_never_followed() {
    let dir = TempDir::new("links");
    let victims = TempDir::new("victims");
    let state = dir.join("state");
    std::fs::create_dir(&state).unwrap();
    for v in ["history-victim", "pid-victim"] {
        std::fs::write(victims.join(v), "precious\n").unwrap();
    }
    symlink(victims.join("history-victim"), state.join(".history.tmp")).unwrap();
    // The temporary name chatd once used for its pidfile.
    symlink(victims.join("pid-victim"), dir.join("chatd.tmp")).unwrap();
    let pidfile = dir.join("chatd.pid");
    let mut s = Chatd::start_in(&state, &["--pidfile", pidfile.to_str().unwrap()]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    ana.send("saved through no link");
    bo.expect("MSG ");
    s.signal(Signal::SIGTERM);
    assert_eq!(s.wait_exit().code(), Some(0));
    for v in ["history-victim", "pid-victim"] {
        assert_eq!(
            std::fs::read_to_string(victims.join(v)).unwrap(),
            "precious\n",
            "{v} was written through a link"
        );
    }
    let history = std::fs::read_to_string(state.join("history")).unwrap();
    assert!(history.contains(" Ana saved through no link"), "{history}");
    assert!(!state.join(".history.tmp").exists());
}

#[test]
fn a_temp_file_left_by_a_crash_does_not_stop_saves() {
    let dir = TempDir::new("stale-tmp");
    std::fs::write(dir.join(".history.tmp"), "half a save\n").unwrap();
    let mut s = Chatd::start_in(dir.path(), &[]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    ana.send("after the crash");
    bo.expect("MSG ");
    s.signal(Signal::SIGTERM);
    assert_eq!(s.wait_exit().code(), Some(0));
    let history = std::fs::read_to_string(dir.join("history")).unwrap();
    assert!(history.contains(" Ana after the crash"), "{history}");
    assert!(!history.contains("half a save"));
}
