//! A log sink that stalls never freezes the chat, and an accept storm cannot flood the log.
//!
//! The real `chatd` logs to a pipe or a syslog socket that the test stops reading, while
//! clients connect and leave by the thousand; joined clients must go on chatting, and once the
//! sink is read again chatd says how many lines it dropped.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd as _, OwnedFd};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chat_testkit::{
    chatd_command, listening_addr, Chatd, Client, Reaper, SyslogSocket, TempDir, WAIT,
};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// Open and close up to `n` connections; stop early if one cannot connect within 5 s (a
/// daemon that no longer accepts; a full backlog only costs a SYN retransmit, 1 s). Return
/// how many connected.
fn storm(addr: SocketAddr, n: usize) -> usize {
    for k in 0..n {
        if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            eprintln!("connection {k} failed: {e}");
            return k;
        }
    }
    n
}

/// Two joined clients, and a check that a line from one reaches the other.
fn chat_still_works(ana: &mut Client, bo: &mut Client, text: &str) {
    ana.send(text);
    let l = bo.expect("MSG ");
    assert!(l.ends_with(&format!(" Ana {text}")), "{l}");
}

/// Read from `fd` until `text` has a line containing `needle`, within the deadline.
fn read_until(fd: &mut File, text: &mut String, needle: &str) {
    let end = Instant::now() + WAIT;
    while !text.lines().any(|l| l.contains(needle)) {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {needle:?} in the log: {text}");
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(ms)).unwrap_or(0) == 0 {
            continue;
        }
        let mut buf = [0u8; 65536];
        match fd.read(&mut buf) {
            Ok(0) => panic!("chatd closed its log before {needle:?}: {text}"),
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) => panic!("reading the log: {e}"),
        }
    }
}

#[test]
fn a_stderr_pipe_nobody_reads_does_not_freeze_the_chat() {
    let dir = TempDir::new("stall-pipe");
    let (rx, tx): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    let mut cmd = chatd_command(dir.path());
    // Every connection logged, so that the pipe surely fills (an environment variable,
    // so that a daemon without the option runs the same test).
    cmd.env("CHATD_LOG_RATE", "off").stderr(Stdio::from(tx));
    let _chatd = Reaper(cmd.spawn().unwrap());
    drop(cmd);
    let mut log = File::from(rx);
    let mut text = String::new();
    read_until(&mut log, &mut text, "listening addr=");
    let addr = listening_addr(&text);

    // From here on nobody reads the pipe (64 KiB): a few hundred connections fill it.
    let mut ana = Client::connect(addr);
    ana.join_settled("Ana");
    let mut bo = Client::connect(addr);
    bo.join_settled("Bo");
    let connected = storm(addr, 3000);
    assert_eq!(connected, 3000, "chatd stopped accepting");
    chat_still_works(&mut ana, &mut bo, "the log is stuck but we are not");

    // Read the pipe again: chatd reports what it had to drop.
    text.clear();
    read_until(&mut log, &mut text, "log-dropped lines=");
    let line = text.lines().find(|l| l.contains("log-dropped")).unwrap();
    let n: u64 = line
        .split("lines=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(n > 0, "{line}");
    assert!(line.contains(" WARN "), "{line}");
    chat_still_works(&mut ana, &mut bo, "and the log flows again");
}

#[test]
fn a_syslog_reader_that_stalls_does_not_freeze_the_chat() {
    let dir = TempDir::new("stall-syslog");
    let syslog = SyslogSocket::bind(dir.join("log.sock"));
    let mut cmd = chatd_command(dir.path());
    cmd.args(["--log", "syslog", "--syslog-socket"])
        .arg(syslog.path())
        .env("CHATD_LOG_RATE", "off");
    let _chatd = Reaper(cmd.spawn().unwrap());
    let listening = syslog.wait_for(|m| m.contains("listening addr="), &mut Vec::new());
    let addr = listening_addr(&listening);

    // The reader stalls: its queue (net.unix.max_dgram_qlen datagrams) fills at once.
    let mut ana = Client::connect(addr);
    ana.join_settled("Ana");
    let mut bo = Client::connect(addr);
    bo.join_settled("Bo");
    assert_eq!(storm(addr, 1000), 1000, "chatd stopped accepting");
    chat_still_works(&mut ana, &mut bo, "syslog is stuck but we are not");

    // The reader comes back: the count of dropped lines arrives.
    let msg = syslog.wait_for(|m| m.contains("log-dropped lines="), &mut Vec::new());
    // Facility daemon (3), severity warning (4): priority 28.
    assert!(msg.starts_with("<28>"), "{msg}");
    chat_still_works(&mut ana, &mut bo, "and syslog flows again");
}

#[test]
fn an_accept_storm_writes_a_bounded_log_and_counts_what_it_held_back() {
    const CONNECTS: usize = 3000;
    let started = Instant::now();
    let dir = TempDir::new("storm");
    // The storm comes from one address; each connect must be accepted (and logged) here.
    let s = Chatd::start_in(dir.path(), &["--max-per-address", "off"]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    assert_eq!(storm(s.addr, CONNECTS), CONNECTS);
    chat_still_works(&mut ana, &mut bo, "after the storm");

    // Every connection is either logged or counted in a `log-suppressed` report.
    let count = |log: &str| {
        let shown = log.lines().filter(|l| l.contains(" connect peer=")).count();
        let held: usize = log
            .lines()
            .filter_map(|l| l.split("log-suppressed kind=connect lines=").nth(1))
            .map(|n| n.trim().parse::<usize>().unwrap())
            .sum();
        (shown, held)
    };
    let end = Instant::now() + WAIT;
    loop {
        let (shown, held) = count(&s.log());
        // Ana, Bo and the storm.
        if shown + held == CONNECTS + 2 {
            break;
        }
        assert!(
            Instant::now() < end,
            "{shown} connect lines and {held} held back, not {}",
            CONNECTS + 2
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = s.log();
    let (shown, _) = count(&log);
    // The default limit, 100 at once then 20 a second, over the daemon's whole life.
    let secs = started.elapsed().as_secs() as usize + 1;
    assert!(
        shown <= 100 + 20 * secs,
        "{shown} connect lines in {secs} s"
    );
    eprintln!(
        "{CONNECTS} connects: {} log lines, {} bytes",
        log.lines().count(),
        log.len()
    );
    assert!(log
        .lines()
        .any(|l| l.contains(" WARN log-suppressed kind=connect lines=")));
}
