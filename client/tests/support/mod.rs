//! Shared helpers for chatc's end-to-end tests: the real chatd, raw protocol clients, chatc
//! processes, and bounded waits.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// The chatc binary under test.
pub fn chatc_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chatc"))
}

static BUILD: Mutex<()> = Mutex::new(());

/// Find the chatd binary: `$CHATD_BIN`, else beside chatc in the target dir (built if missing).
pub fn chatd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CHATD_BIN") {
        return PathBuf::from(p);
    }
    let dir = chatc_bin().parent().expect("target dir").to_path_buf();
    let bin = dir.join("chatd");
    let _g = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target_dir = dir.parent().expect("target root");
        let st = Command::new(cargo)
            .args(["build", "-p", "chatd", "--target-dir"])
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build -p chatd");
        assert!(
            st.success(),
            "cargo build -p chatd failed; set CHATD_BIN to a chatd binary"
        );
    }
    assert!(
        bin.exists(),
        "no chatd at {}; build it with `cargo build -p chatd`",
        bin.display()
    );
    bin
}

/// Return a fresh, empty temporary directory for this test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatc-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Lines read from a child's pipe by a thread.
pub struct Lines {
    rx: Receiver<String>,
    /// Every line seen so far.
    pub seen: Vec<String>,
    /// Lines before this index were matched by [`Lines::expect`] already (or skipped by it).
    next: usize,
}

impl Lines {
    /// Start reading `r` line by line.
    pub fn spawn(r: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(r).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
            next: 0,
        }
    }

    /// Wait for the next line containing `needle` (lines before it are passed over); panic
    /// with what was seen after [`WAIT`].
    pub fn expect(&mut self, needle: &str) -> String {
        if let Some(i) = self.seen[self.next..]
            .iter()
            .position(|l| l.contains(needle))
        {
            self.next += i + 1;
            return self.seen[self.next - 1].clone();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        self.next = self.seen.len();
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; saw {:#?}", self.seen),
            }
        }
    }

    /// Collect whatever arrives until the writer closes (bounded by [`WAIT`]).
    pub fn drain(&mut self) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => return self.seen.clone(),
            }
        }
    }
}

/// A running chatd, killed when dropped.
pub struct Chatd {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Its log on stderr.
    pub log: Lines,
    /// Its state directory.
    pub dir: PathBuf,
}

impl Chatd {
    /// Start chatd on a free loopback port, with flood control off.
    pub fn start(tag: &str, password: Option<&str>) -> Chatd {
        Chatd::start_on(tag, 0, password)
    }

    /// Start chatd on `port` (0: any free one).
    pub fn start_on(tag: &str, port: u16, password: Option<&str>) -> Chatd {
        Chatd::start_with(tag, &format!("127.0.0.1:{port}"), password, "off")
    }

    /// Start chatd on `addr` with a flood limit (`off` or `BURST/PER_SEC`).
    pub fn start_with(tag: &str, addr: &str, password: Option<&str>, flood: &str) -> Chatd {
        let dir = temp_dir(&format!("chatd-{tag}"));
        let mut cmd = Command::new(chatd_bin());
        cmd.arg("--listen").arg(addr).arg("--state-dir").arg(&dir);
        cmd.args(["--flood", flood, "--log", "stderr"]);
        if let Some(pw) = password {
            let f = dir.join("password");
            std::fs::write(&f, format!("{pw}\n")).expect("write password");
            cmd.arg("--password-file").arg(f);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chatd");
        let mut log = Lines::spawn(child.stderr.take().expect("stderr"));
        let line = log.expect("listening");
        let port = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Chatd {
            child,
            port,
            log,
            dir,
        }
    }

    /// Send SIGTERM (a clean shutdown) and wait for the process to end.
    pub fn terminate(&mut self) {
        signal(self.child.id(), "TERM");
        wait_exit(&mut self.child);
    }

    /// Kill it without warning (a crash) and wait for it.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Chatd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Send a signal by name to one process we started.
pub fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
    assert!(st.is_ok_and(|s| s.success()), "kill -{sig} {pid}");
}

/// Wait (bounded) for a child to exit and return its status.
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("process {} did not exit in time", child.id());
}

/// Poll `cond` every 50 ms until it holds or [`WAIT`] passes.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// A hand-driven protocol client, as `nc` would be.
pub struct Raw {
    stream: TcpStream,
    lines: Lines,
}

impl Raw {
    /// Connect to 127.0.0.1 and join as `name` (answering a password if asked).
    pub fn join(port: u16, name: &str, password: Option<&str>) -> Raw {
        Raw::join_with("127.0.0.1", port, name, password)
    }

    /// Connect to `host` and join as `name`.
    pub fn join_at(host: &str, port: u16, name: &str) -> Raw {
        Raw::join_with(host, port, name, None)
    }

    /// Connect to `host` and join as `name`, answering a password if asked.
    fn join_with(host: &str, port: u16, name: &str, password: Option<&str>) -> Raw {
        let stream = TcpStream::connect((host, port)).expect("connect");
        let lines = Lines::spawn(stream.try_clone().expect("clone"));
        let mut raw = Raw { stream, lines };
        if let Some(pw) = password {
            raw.lines.expect("ASK PASSWORD");
            raw.send(pw);
        }
        raw.lines.expect("ASK NAME");
        raw.send(name);
        raw.lines.expect("WELCOME ");
        raw
    }

    /// Send one line.
    pub fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("send");
    }

    /// Wait for a received line containing `needle`.
    pub fn expect(&mut self, needle: &str) -> String {
        self.lines.expect(needle)
    }
}

/// A chatc process with piped stdin, stdout and stderr.
pub struct Chatc {
    /// The process (killed on drop if still running).
    pub child: Child,
    /// Its stdin, until closed.
    pub stdin: Option<ChildStdin>,
    /// Its standard output.
    pub out: Lines,
    /// Its standard error.
    pub err: Lines,
}

impl Chatc {
    /// Start chatc against `port` on 127.0.0.1 with extra arguments and environment.
    pub fn start(port: u16, args: &[&str], env: &[(&str, &str)]) -> Chatc {
        Chatc::start_at("127.0.0.1", port, args, env)
    }

    /// Start chatc against `host`:`port` with extra arguments and environment.
    pub fn start_at(host: &str, port: u16, args: &[&str], env: &[(&str, &str)]) -> Chatc {
        let mut cmd = Command::new(chatc_bin());
        cmd.args(["-H", host, "-p", &port.to_string()]).args(args);
        cmd.env_remove("CHATC_PASSWORD")
            .env_remove("CHATC_HOST")
            .env_remove("CHATC_PORT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chatc");
        let out = Lines::spawn(child.stdout.take().expect("stdout"));
        let err = Lines::spawn(child.stderr.take().expect("stderr"));
        Chatc {
            stdin: child.stdin.take(),
            child,
            out,
            err,
        }
    }

    /// Write `text` to its stdin.
    pub fn write(&mut self, text: &str) {
        let s = self.stdin.as_mut().expect("stdin open");
        s.write_all(text.as_bytes()).expect("write stdin");
        s.flush().expect("flush");
    }

    /// Close its stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Wait for it to exit; return the exit code.
    pub fn wait(&mut self) -> Option<i32> {
        self.stdin = None;
        wait_exit(&mut self.child).code()
    }
}

impl Drop for Chatc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
