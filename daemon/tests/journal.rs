//! Log lines as the journal and fail2ban want them: `<N>` priorities when standard error is
//! the journal, and a shipped fail2ban filter that matches the auth lines chatd really writes.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use chat_testkit::{
    chatd_command, listening_addr, Chatd, Client, Launch, Reaper, SyslogSocket, TempDir, WAIT,
};

/// The filter the chatd package installs as /etc/fail2ban/filter.d/chatd.conf.
const FILTER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../packaging/fail2ban/chatd.conf"
);

/// Start chatd with `--password-file password` and its stderr on a Unix stream socket that
/// `$JOURNAL_STREAM` names by device and inode, as the journal's stream is; return it and the
/// socket's other end (which gives up reading after [`WAIT`]).
fn start_under_journal(dir: &Path, password: &Path) -> (Reaper, UnixStream) {
    use nix::sys::stat::fstat;
    let (ours, theirs) = UnixStream::pair().unwrap();
    let st = fstat(&theirs).unwrap();
    let mut cmd = chatd_command(dir);
    cmd.arg("--password-file")
        .arg(password)
        .env("JOURNAL_STREAM", format!("{}:{}", st.st_dev, st.st_ino))
        .stderr(Stdio::from(OwnedFd::from(theirs)));
    let chatd = Reaper(cmd.spawn().unwrap());
    drop(cmd);
    ours.set_read_timeout(Some(WAIT)).unwrap();
    (chatd, ours)
}

/// Send a wrong password from a new connection and read the `BYE`.
fn guess(addr: SocketAddr, password: &str) -> String {
    let mut c = Client::connect(addr);
    let first = c.line();
    if first.starts_with("BYE ") {
        return first;
    }
    c.expect("ASK PASSWORD");
    c.send(password);
    c.line()
}

/// Three wrong passwords (the third gets the address throttled), one turned away, and a
/// right one that joins: the auth lines and some others.
fn guessing_session(addr: SocketAddr) {
    for _ in 0..3 {
        assert!(guess(addr, "wrong").starts_with("BYE password"));
    }
    assert!(guess(addr, "sesame").starts_with("BYE throttled"));
}

#[test]
fn when_stderr_is_the_journal_lines_carry_priorities_and_no_timestamps() {
    let dir = TempDir::new("journal");
    let pw = dir.join("pw");
    std::fs::write(&pw, "sesame\n").unwrap();
    let (_chatd, ours) = start_under_journal(dir.path(), &pw);
    let mut lines = BufReader::new(ours).lines();
    let mut next = || lines.next().unwrap().unwrap();
    let mut seen = Vec::new();
    let addr: SocketAddr = loop {
        let l = next();
        seen.push(l.clone());
        if let Some(rest) = l.strip_prefix("<6>listening addr=") {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
        assert!(seen.len() < 20, "no <6>listening line: {seen:?}");
    };
    assert!(guess(addr, "wrong").starts_with("BYE password"));
    let end = Instant::now() + WAIT;
    loop {
        let l = next();
        seen.push(l.clone());
        if l.contains("auth-failure") {
            assert!(l.starts_with("<4>auth-failure peer=127.0.0.1:"), "{l}");
            break;
        }
        assert!(Instant::now() < end, "no auth-failure line: {seen:?}");
    }
    for l in &seen {
        let (prio, msg) = l.split_at(3);
        assert!(
            matches!(prio, "<3>" | "<4>" | "<6>" | "<7>"),
            "no priority: {l}"
        );
        // The journal stamps lines itself: no time, no level word.
        assert!(
            msg.starts_with(|c: char| c.is_ascii_lowercase()),
            "{l} starts with more than its kind"
        );
    }
}

#[test]
fn a_journal_stream_that_is_not_stderr_changes_nothing() {
    let dir = TempDir::new("notjournal");
    let s = Launch::new()
        .state_dir(dir.path())
        .env("JOURNAL_STREAM", "1:2")
        .start();
    let l = s.wait_log("listening addr=");
    assert!(l.contains(" INFO listening addr="), "{l}");
}

/// Run `fail2ban-regex` with the shipped filter over `log`; return the addresses it found.
fn fail2ban_matches(work: &Path, log: &str) -> Vec<String> {
    // The filter includes common.conf from its own directory, as in /etc/fail2ban/filter.d.
    let filters = work.join("filter.d");
    std::fs::create_dir_all(&filters).unwrap();
    std::fs::copy(FILTER, filters.join("chatd.conf")).unwrap();
    std::fs::copy(
        "/etc/fail2ban/filter.d/common.conf",
        filters.join("common.conf"),
    )
    .expect("fail2ban is installed (apt-get install fail2ban; .ci/run does)");
    let file = work.join("chatd.log");
    std::fs::write(&file, log).unwrap();
    let out = Command::new("fail2ban-regex")
        .args(["-o", "row"])
        .arg(&file)
        .arg(filters.join("chatd.conf"))
        .output()
        .expect("fail2ban-regex runs (apt-get install fail2ban; .ci/run does)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Rows look like ['127.0.0.1',	1796135010.0,	{...}],
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("['"))
        .filter_map(|l| l.split('\'').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_fail2ban_filter_matches_real_auth_lines_from_syslog_and_stderr() {
    let dir = TempDir::new("fail2ban");
    let pw = dir.join("pw");
    std::fs::write(&pw, "sesame\n").unwrap();

    // 1. Standard error, as `chatd 2>>chatd.log` would keep it.
    let s = Chatd::start_in(dir.path(), &["--password-file", pw.to_str().unwrap()]);
    guessing_session(s.addr);
    s.wait_log("auth-throttled");
    let plain: Vec<String> = s.log().lines().map(String::from).collect();
    drop(s);

    // 2. Syslog, as rsyslog writes it to /var/log/syslog (and as fail2ban's journal backend
    //    lays out entries): "TIME HOST chatd[PID]: message".
    let log = SyslogSocket::bind(dir.join("log.sock"));
    let mut cmd = chatd_command(dir.path());
    cmd.args(["--log", "syslog", "--syslog-socket"])
        .arg(log.path())
        .arg("--password-file")
        .arg(&pw);
    let _chatd = Reaper(cmd.spawn().unwrap());
    let mut received = Vec::new();
    let listening = log.wait_for(|m| m.contains("listening addr="), &mut received);
    guessing_session(listening_addr(&listening));
    log.wait_for(|m| m.contains("auth-throttled"), &mut received);
    // "<28>Dec 01 14:23:30 chatd[123]: message" -> "Dec 01 14:23:30 lanbox chatd[123]: message"
    let syslog: Vec<String> = received
        .iter()
        .map(|d| {
            let body = d.split_once('>').unwrap().1;
            let (stamp, rest) = body.split_at(15);
            format!("{stamp} lanbox{rest}")
        })
        .collect();

    for (what, lines) in [("stderr", &plain), ("syslog", &syslog)] {
        let auth = lines
            .iter()
            .filter(|l| l.contains(" auth-failure ") || l.contains(" auth-throttled "))
            .count();
        assert_eq!(auth, 4, "{what}: {lines:?}");
        assert!(lines.len() > auth, "{what}: only auth lines?");
        let mut text = lines.join("\n");
        text.push('\n');
        let work = dir.join(what);
        let found = fail2ban_matches(&work, &text);
        assert_eq!(
            found,
            vec!["127.0.0.1"; 4],
            "{what}: fail2ban found {found:?} in\n{text}"
        );
    }
}

#[test]
fn a_failure_to_start_is_an_error_in_the_journal() {
    let dir = TempDir::new("journal-fail");
    let (mut chatd, ours) = start_under_journal(dir.path(), &dir.join("missing"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut &ours, &mut text).unwrap();
    assert!(
        text.starts_with("<3>chatd: cannot read password file ") && text.lines().count() == 1,
        "{text}"
    );
    assert_eq!(chatd.0.wait().unwrap().code(), Some(1));
}
