//! What reaches syslog, through a datagram socket the test binds itself.
#![allow(clippy::unwrap_used)]

use std::os::unix::net::UnixDatagram;
use std::time::Instant;

use chat_testkit::{chatd_bin, clean_env, Client, TempDir, WAIT};

#[test]
fn join_lines_reach_syslog_with_facility_daemon() {
    let dir = TempDir::new("syslog");
    let sock_path = dir.join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let mut cmd = std::process::Command::new(chatd_bin());
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--log",
        "syslog",
        "--syslog-socket",
    ])
    .arg(&sock_path)
    .arg("--state-dir")
    .arg(dir.path())
    .stderr(std::process::Stdio::null());
    let mut child = clean_env(&mut cmd).spawn().unwrap();
    let guard = ChildGuard(&mut child);
    let end = Instant::now() + WAIT;
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    let mut addr = None;
    // Wait for the listening line to learn the port.
    while addr.is_none() {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no listening line in syslog: {seen:?}");
        sock.set_read_timeout(Some(left)).unwrap();
        let n = sock.recv(&mut buf).unwrap();
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if let Some(rest) = msg.split("listening addr=").nth(1) {
            addr = Some(rest.split_whitespace().next().unwrap().parse().unwrap());
            // Facility daemon (3), severity info (6): priority 30.
            assert!(msg.starts_with("<30>"), "{msg}");
            assert!(msg.contains("chatd["), "{msg}");
        }
        seen.push(msg);
    }
    let mut c = Client::connect(addr.unwrap());
    c.expect("ASK NAME");
    c.send("Zeca");
    c.expect("WELCOME ");
    c.send("segredo nenhum");
    loop {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no join line in syslog: {seen:?}");
        sock.set_read_timeout(Some(left)).unwrap();
        let n = sock.recv(&mut buf).unwrap();
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(
            !msg.contains("segredo"),
            "message text must never be logged: {msg}"
        );
        if msg.contains("join ") && msg.contains("name=Zeca") {
            break;
        }
        seen.push(msg);
    }
    drop(guard);
}

struct ChildGuard<'a>(&'a mut std::process::Child);

impl Drop for ChildGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
