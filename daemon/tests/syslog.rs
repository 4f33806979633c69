//! What reaches syslog, through a datagram socket the test binds itself.
#![allow(clippy::unwrap_used)]

use chat_testkit::{chatd_command, listening_addr, Client, Reaper, SyslogSocket, TempDir};

#[test]
fn join_lines_reach_syslog_with_facility_daemon() {
    let dir = TempDir::new("syslog");
    let syslog = SyslogSocket::bind(dir.join("log.sock"));
    let mut cmd = chatd_command(dir.path());
    cmd.args(["--log", "syslog", "--syslog-socket"])
        .arg(syslog.path());
    let _chatd = Reaper(cmd.spawn().unwrap());
    let mut seen = Vec::new();
    // Wait for the listening line to learn the port.
    let msg = syslog.wait_for(|m| m.contains("listening addr="), &mut seen);
    // Facility daemon (3), severity info (6): priority 30.
    assert!(msg.starts_with("<30>"), "{msg}");
    assert!(msg.contains("chatd["), "{msg}");
    let mut c = Client::connect(listening_addr(&msg));
    c.expect("ASK NAME");
    c.send("Zeca");
    c.expect("WELCOME ");
    c.send("segredo nenhum");
    syslog.wait_for(
        |m| m.contains("join ") && m.contains("name=Zeca"),
        &mut seen,
    );
    for msg in &seen {
        assert!(
            !msg.contains("segredo"),
            "message text must never be logged: {msg}"
        );
    }
}
