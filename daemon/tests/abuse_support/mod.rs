//! Helpers for the abuse tests: start the real `chatd` on loopback, and talk to it as clients
//! with deadlines on every wait.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chat_core::ServerLine;
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
use nix::unistd::Pid;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A fresh, empty directory for daemon state, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Make the directory.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("chatd-abuse-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("make a temp dir");
        TempDir(dir)
    }

    /// Return its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `chatd`, killed when dropped.
pub struct Daemon {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state directory.
    pub state_dir: PathBuf,
    log: Arc<Mutex<String>>,
    log_reader: Option<thread::JoinHandle<()>>,
    /// A state directory of its own, if it has one; removed after the daemon is killed.
    _own_dir: Option<TempDir>,
}

impl Daemon {
    /// Start `chatd` on a free loopback port with `args` and wait until it listens.
    pub fn start(state_dir: &Path, args: &[&str]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatd"))
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir)
            .args(["--log", "stderr"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chatd");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        let log_reader = thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut line = Vec::new();
            // Ends at EOF, when the daemon exits.
            while r.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line).into_owned();
                if let Some(rest) = text.split("listening addr=").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push_str(&text);
                line.clear();
            }
        });
        let mut d = Daemon {
            child: Some(child),
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            state_dir: state_dir.to_path_buf(),
            log,
            log_reader: Some(log_reader),
            _own_dir: None,
        };
        match rx.recv_timeout(WAIT) {
            Ok(a) => {
                d.addr = a
                    .parse()
                    .unwrap_or_else(|_| panic!("bad listening address {a:?}"))
            }
            Err(_) => panic!("chatd did not say it was listening; its log:\n{}", d.log()),
        }
        d
    }

    /// Start `chatd` with `args` and a state directory of its own.
    pub fn fresh(tag: &str, args: &[&str]) -> Daemon {
        let dir = TempDir::new(tag);
        let mut d = Daemon::start(dir.path(), args);
        d._own_dir = Some(dir);
        d
    }

    /// Return the process id.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.as_ref().expect("running").id() as i32)
    }

    /// Send a signal.
    pub fn signal(&self, s: Signal) {
        kill(self.pid(), s).expect("signal chatd");
    }

    /// Wait for the daemon to exit, at most `WAIT`.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        let end = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for chatd") {
                self.child = None;
                if let Some(h) = self.log_reader.take() {
                    let _ = h.join();
                }
                return status;
            }
            assert!(
                Instant::now() < end,
                "chatd did not exit in time; log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Return whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Return everything it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Connect a client.
    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Connect a client and join as `name`.
    pub fn joined(&self, name: &str) -> Client {
        let mut c = self.client();
        c.join(name);
        c
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Make a TCP socket to `to` from `from`, with an optional small receive buffer and a linger
/// setting, as std cannot set those before connecting.
pub fn raw_connect(to: SocketAddr, from: Option<Ipv4Addr>, rcvbuf: Option<usize>) -> TcpStream {
    let SocketAddr::V4(to) = to else {
        panic!("IPv4 only")
    };
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    if let Some(n) = rcvbuf {
        socket::setsockopt(&fd, sockopt::RcvBuf, &n).expect("SO_RCVBUF");
    }
    if let Some(ip) = from {
        let local = SockaddrIn::from(std::net::SocketAddrV4::new(ip, 0));
        socket::bind(fd.as_raw_fd(), &local).expect("bind the local address");
    }
    socket::connect(fd.as_raw_fd(), &SockaddrIn::from(to)).expect("connect");
    TcpStream::from(fd)
}

/// Close `s` with a reset (SO_LINGER 0) instead of an orderly FIN.
pub fn reset(s: TcpStream) {
    let l = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    socket::setsockopt(&s, sockopt::Linger, &l).expect("SO_LINGER");
    drop(s);
}

/// One client connection with a line reader.
pub struct Client {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
    /// Every byte received, for checks on the raw stream.
    pub raw: Vec<u8>,
    eof: bool,
}

impl Client {
    /// Connect to `addr`.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).expect("connect to chatd"))
    }

    /// Wrap a connected socket.
    pub fn from_stream(stream: TcpStream) -> Client {
        Client {
            stream,
            buf: Vec::new(),
            raw: Vec::new(),
            eof: false,
        }
    }

    /// Send bytes, all of them.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to chatd");
    }

    /// Read more bytes, waiting at most until `end`; false on EOF or timeout.
    fn fill(&mut self, end: Instant) -> bool {
        if self.eof {
            return false;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("set timeout");
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.raw.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(_) => {
                self.eof = true;
                false
            }
        }
    }

    /// Return the next line, or `None` at EOF or after `limit`.
    pub fn line_within(&mut self, limit: Duration) -> Option<String> {
        let end = Instant::now() + limit;
        loop {
            if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=nl).collect();
                let text = String::from_utf8(raw[..nl].to_vec()).expect("server lines are UTF-8");
                check_line(&text);
                return Some(text);
            }
            if !self.fill(end) {
                return None;
            }
        }
    }

    /// Return the next line; fail the test if none comes within `WAIT`.
    pub fn line(&mut self) -> String {
        self.line_within(WAIT).expect("a line from chatd in time")
    }

    /// Read lines until one starts with `prefix`; return it and the lines before it.
    pub fn expect(&mut self, prefix: &str) -> (String, Vec<String>) {
        let mut before = Vec::new();
        let end = Instant::now() + WAIT;
        while Instant::now() < end {
            match self.line_within(end.saturating_duration_since(Instant::now())) {
                Some(l) if l.starts_with(prefix) => return (l, before),
                Some(l) => before.push(l),
                None => break,
            }
        }
        panic!(
            "no line starting with {prefix:?}; got {before:#?} (eof: {})",
            self.eof
        );
    }

    /// Return whether the server closes the connection within `WAIT`, reading what is left.
    pub fn closes(&mut self) -> bool {
        let end = Instant::now() + WAIT;
        while Instant::now() < end {
            self.buf.clear();
            if !self.fill(end) {
                return self.eof;
            }
        }
        false
    }

    /// Return every whole line that arrives within `limit`.
    pub fn lines_for(&mut self, limit: Duration) -> Vec<String> {
        let end = Instant::now() + limit;
        let mut out = Vec::new();
        while let Some(l) = self.line_within(end.saturating_duration_since(Instant::now())) {
            out.push(l);
        }
        out
    }

    /// Answer the greeting with `name` and wait for `WELCOME` and `WHO`.
    pub fn join(&mut self, name: &str) {
        self.expect("ASK NAME");
        self.send(format!("{name}\n").as_bytes());
        let (w, _) = self.expect("WELCOME ");
        assert!(
            w.contains(&format!(" {name} ")),
            "joined under another name: {w}"
        );
        self.expect("WHO ");
    }

    /// Send `/who` and return the lines that come before its answer (HIST replays and such).
    pub fn sync(&mut self) -> Vec<String> {
        self.send(b"/who\n");
        self.expect("WHO ").1
    }
}

/// Every line from the server is a known kind and holds no control character.
pub fn check_line(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\t'),
        "control character from the server: {text:?}"
    );
    match ServerLine::parse(text) {
        Ok(ServerLine::Unknown(_)) | Err(_) => {
            panic!("the server sent an unparsable line: {text:?}")
        }
        Ok(_) => {}
    }
}

/// Return the text of a `MSG` line from `from`, if `line` is one.
pub fn msg_from<'a>(line: &'a str, from: &str) -> Option<&'a str> {
    match ServerLine::parse(line) {
        Ok(ServerLine::Msg { from: f, text, .. }) if f == from => Some(text),
        _ => None,
    }
}

/// A small deterministic generator for "random" bytes.
pub struct XorShift(pub u64);

impl XorShift {
    /// Return the next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
