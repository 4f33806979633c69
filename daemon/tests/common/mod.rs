//! Shared helpers for the end-to-end tests: start the real `chatd`, talk to it as a client.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any single wait in a test may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The binary under test.
pub fn chatd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_chatd")
}

/// A fresh empty directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("chatd-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Keep what systemd may have set for the test runner itself from reaching chatd.
pub fn clean_env(cmd: &mut Command) {
    for var in [
        "CREDENTIALS_DIRECTORY",
        "NOTIFY_SOCKET",
        "LISTEN_FDS",
        "LISTEN_PID",
        "JOURNAL_STREAM",
    ] {
        cmd.env_remove(var);
    }
}

/// A running chatd child; killed (by its PID, through the `Child`) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    lines: Receiver<String>,
    /// Every stderr line seen so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Start chatd on 127.0.0.1 with a port the kernel picks, and wait for its `listening` line.
    pub fn start(state_dir: &Path, extra: &[&str]) -> Server {
        Server::start_env(state_dir, extra, &[])
    }

    /// Like [`Server::start`] with extra environment variables.
    pub fn start_env(state_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(chatd_bin());
        cmd.args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir)
            .args(extra);
        clean_env(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Server::start_command(cmd)
    }

    /// Run `cmd`, which starts chatd listening on 127.0.0.1:0 (perhaps through a wrapper
    /// that execs it, such as `prlimit`), and wait for its `listening` line.
    pub fn start_command(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start chatd");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                log2.lock().unwrap().push(line.clone());
                if tx.send(line).is_err() {
                    // Nobody listens any more; keep collecting into `log`.
                }
            }
        });
        let mut s = Server {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            lines: rx,
            log,
        };
        let line = s.wait_log("listening addr=");
        let addr = line
            .split("listening addr=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        s.addr = addr.parse().unwrap();
        s
    }

    /// Wait (bounded) for a stderr line containing `needle` (seen before or arriving), and
    /// return it.
    pub fn wait_log(&mut self, needle: &str) -> String {
        if let Some(l) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no log line with {needle:?}; log: {:?}",
                    self.log.lock().unwrap()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "chatd exited before logging {needle:?}; log: {:?}",
                        self.log.lock().unwrap()
                    )
                }
            }
        }
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// Send a signal to the child.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), sig).unwrap();
    }

    /// Wait (bounded) for the child to exit and return its status code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let end = Instant::now() + DEADLINE;
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("chatd did not exit in time");
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Connect and join as `name` (no password); the WELCOME line has been read.
    pub fn join(&self, name: &str) -> Client {
        let mut c = self.connect();
        c.expect("ASK NAME");
        c.send(name);
        c.expect("WELCOME ");
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line-oriented test client with bounded reads.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    /// The server closed (or reset) the connection.
    pub closed: bool,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, DEADLINE).expect("connect");
        Client::from_stream(stream)
    }

    /// Connect with a tiny receive buffer (set before connecting, so the window stays small):
    /// a client that stops reading then backs up in chatd quickly.
    pub fn connect_small_window(addr: SocketAddr) -> Client {
        use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
        let fd = socket::socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        socket::setsockopt(&fd, sockopt::RcvBuf, &2048).unwrap();
        let SocketAddr::V4(v4) = addr else {
            panic!("IPv4 only")
        };
        socket::connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(v4)).unwrap();
        Client::from_stream(TcpStream::from(fd))
    }

    fn from_stream(stream: TcpStream) -> Client {
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
            closed: false,
        }
    }

    /// Send `line` plus `\n`.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Read the next line (without `\n`), or `None` at end of stream or after `timeout`.
    pub fn line_within(&mut self, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = self.buf.drain(..=pos).collect();
                return Some(String::from_utf8_lossy(&l[..l.len() - 1]).into_owned());
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    return None;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    return None;
                }
            }
        }
    }

    /// Read the next line; panic if none comes within the deadline.
    pub fn line(&mut self) -> String {
        self.line_within(DEADLINE).expect("a line from chatd")
    }

    /// Read lines until one starts with `prefix`; return it. Panics after the deadline.
    pub fn expect(&mut self, prefix: &str) -> String {
        let end = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        while Instant::now() < end {
            match self.line_within(end.saturating_duration_since(Instant::now())) {
                Some(l) if l.starts_with(prefix) => return l,
                Some(l) => seen.push(l),
                None => break,
            }
        }
        panic!("no line starting with {prefix:?}; saw {seen:?}");
    }

    /// Return whether no line arrives within `quiet`.
    pub fn silent_for(&mut self, quiet: Duration) -> Option<String> {
        self.line_within(quiet)
    }

    /// Read until end of stream (bounded); return the lines read.
    pub fn read_to_close(&mut self) -> Vec<String> {
        let end = Instant::now() + DEADLINE;
        let mut out = Vec::new();
        while Instant::now() < end {
            match self.line_within(end.saturating_duration_since(Instant::now())) {
                Some(l) => out.push(l),
                None if self.closed => return out,
                None => break,
            }
        }
        panic!("connection not closed in time; read {out:?}");
    }
}
