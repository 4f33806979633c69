//! systemd integration without systemd: socket activation (`LISTEN_FDS`) and `sd_notify`.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};

use chat_testkit::{chatd_bin, Client, TempDir, WAIT};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serves_a_socket_passed_by_systemd_and_notifies_readiness_and_stopping() {
    let dir = TempDir::new("sd");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Let the listener survive exec, then move it to fd 3 as systemd would, with LISTEN_PID
    // naming the process that runs chatd (the shell execs it, keeping its pid).
    fcntl(&listener, FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(WAIT)).unwrap();
    let script = format!(
        "exec 3<&{fd}; export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$0\" --state-dir \"$1\" --tls-listen off",
        fd = listener.as_raw_fd()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg(chatd_bin())
        .arg(dir.path())
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("CREDENTIALS_DIRECTORY")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Kill(child);
    drop(listener);

    let mut lines = BufReader::new(stderr).lines();
    let line = lines.next().unwrap().unwrap();
    let line = if line.contains("history-loaded") {
        lines.next().unwrap().unwrap()
    } else {
        line
    };
    assert!(line.contains(&format!("listening addr={addr}")), "{line}");
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");

    let mut c = Client::connect(addr);
    assert!(c.line().starts_with("HELLO chatd/1"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let n = notify.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
    assert!(c.read_to_close().last().unwrap().starts_with("SHUTDOWN "));
}
