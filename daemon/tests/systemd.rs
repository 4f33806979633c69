//! systemd integration without systemd: socket activation (`LISTEN_FDS`, with sockets of
//! both kinds told apart by `LISTEN_FDNAMES`) and `sd_notify`.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};

use chat_testkit::{chatd_bin, Client, IrcClient, Reaper, TempDir, WAIT};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};

#[test]
fn serves_sockets_passed_by_systemd_by_name_and_notifies_readiness_and_stopping() {
    let dir = TempDir::new("sd");
    let native = TcpListener::bind("127.0.0.1:0").unwrap();
    let irc = TcpListener::bind("127.0.0.1:0").unwrap();
    let (addr, irc_addr) = (native.local_addr().unwrap(), irc.local_addr().unwrap());
    // Let the listeners survive exec, then move them to fds 3 and 4 as systemd would, named
    // by LISTEN_FDNAMES, with LISTEN_PID naming the process that runs chatd (the shell execs
    // it, keeping its pid). The IRC socket replaces IRC's default addresses: chatd binds no
    // port 6667 of its own.
    for l in [&native, &irc] {
        fcntl(l, FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
    }
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(WAIT)).unwrap();
    let script = format!(
        "exec 3<&{n} 4<&{i}; export LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=native:irc; \
         exec \"$0\" --state-dir \"$1\" --tls-listen off --irc-tls-listen off",
        n = native.as_raw_fd(),
        i = irc.as_raw_fd()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg(chatd_bin())
        .arg(dir.path())
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("CHATD_LISTEN")
        .env_remove("CHATD_IRC_LISTEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Reaper(child);
    drop((native, irc));

    let mut listening = Vec::new();
    let mut lines = BufReader::new(stderr).lines();
    for _ in 0..10 {
        let line = lines.next().unwrap().unwrap();
        if line.contains("listening addr=") {
            listening.push(line);
        }
        if listening.len() == 2 {
            break;
        }
    }
    assert_eq!(listening.len(), 2, "{listening:?}");
    assert!(
        listening[0].contains(&format!("listening addr={addr} "))
            && listening[0].ends_with("protocol=native tls=no"),
        "{listening:?}"
    );
    assert!(
        listening[1].contains(&format!("listening addr={irc_addr} "))
            && listening[1].ends_with("protocol=irc tls=no"),
        "{listening:?}"
    );
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");

    let mut c = Client::connect(addr);
    assert!(c.line().starts_with("HELLO chatd/1"));
    let mut i = IrcClient::connect(irc_addr);
    i.register("ana");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let n = notify.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
    assert!(c.read_to_close().last().unwrap().starts_with("SHUTDOWN "));
    assert_eq!(
        i.read_to_close().last().map(String::as_str),
        Some("ERROR :Closing link: chatd is shutting down.")
    );
}
