//! A real terminal for tests of terminal programs (chatc, irssi): one detached tmux server per
//! test (a unique `-L` socket), a fixed window size, keys in with `send-keys` and pastes with
//! `paste-buffer`, the screen out with `capture-pane`, the raw bytes the program wrote with
//! `pipe-pane`. Each test kills only its own session. tmux is required: without it these tests
//! fail and say so.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::{running, signal, Signal, WAIT};

/// The name of the one session on each test's own tmux server.
const SESSION: &str = "test";

/// One tmux server and session of our own, killed when dropped.
pub struct Tmux {
    socket: String,
    /// The socket file, removed when the session is gone.
    socket_path: Option<String>,
    /// The tmux server's PID, to be sure it is gone once the session is killed.
    server_pid: Option<u32>,
}

impl Tmux {
    /// Start `shell_command` in a new 100x30 session; `tag` names the tmux socket, so it should
    /// differ between the tests of one process.
    pub fn start(tag: &str, shell_command: &str) -> Tmux {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "tmux is needed for the interactive tests: install it (apt-get install tmux)"
        );
        let mut t = Tmux {
            socket: format!("chat-test-{}-{tag}", std::process::id()),
            socket_path: None,
            server_pid: None,
        };
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "100",
            "-y",
            "30",
            shell_command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = t.display("#{socket_path}");
        t.socket_path = Some(path).filter(|p| !p.is_empty());
        t.server_pid = t.display("#{pid}").parse().ok();
        t
    }

    /// Run a tmux command against our server.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// Resize the window to `columns` x `rows`.
    pub fn resize(&self, columns: u16, rows: u16) {
        let (x, y) = (columns.to_string(), rows.to_string());
        let out = self.run(&["resize-window", "-t", SESSION, "-x", &x, "-y", &y]);
        assert!(out.status.success(), "tmux resize-window: {out:?}");
    }

    /// Type text literally.
    pub fn type_text(&self, text: &str) {
        assert!(self
            .run(&["send-keys", "-t", SESSION, "-l", text])
            .status
            .success());
    }

    /// Press a named key (Enter, C-c, Left…).
    pub fn key(&self, key: &str) {
        assert!(self
            .run(&["send-keys", "-t", SESSION, key])
            .status
            .success());
    }

    /// Return the screen's lines, trailing blanks removed.
    pub fn screen(&self) -> Vec<String> {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }

    /// Wait until some screen line satisfies `pred`; return the screen.
    pub fn wait_screen(&self, what: &str, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        let mut last = Vec::new();
        let mut ok = false;
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            last = self.screen();
            if pred(&last) {
                ok = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(ok, "screen never showed {what}:\n{}", last.join("\n"));
        last
    }

    /// Wait until the last screen line is exactly `line`; return the screen.
    pub fn wait_last(&self, line: &str) -> Vec<String> {
        self.wait_screen(&format!("the last line {line:?}"), |s| {
            s.last().is_some_and(|l| l == line)
        })
    }

    /// Return the screen's lines with their colours and attributes as escape sequences.
    pub fn screen_with_escapes(&self) -> Vec<String> {
        let out = self.run(&["capture-pane", "-p", "-e", "-t", SESSION]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines().map(str::to_string).collect()
    }

    /// Wait until the cursor is at column `x`.
    pub fn wait_cursor_x(&self, x: usize) {
        let want = x.to_string();
        let mut last = String::new();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            last = self.display("#{cursor_x}");
            if last == want {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the cursor stayed at column {last}, not {x}:\n{}",
            self.screen().join("\n")
        );
    }

    /// Copy every byte the program in the pane writes from now on to `file`.
    pub fn record_output(&self, file: &Path) {
        let cmd = format!("cat >> '{}'", file.display());
        assert!(self
            .run(&["pipe-pane", "-o", "-t", SESSION, &cmd])
            .status
            .success());
    }

    /// Paste `text` as a terminal does: marked as a paste if the program asked for bracketed
    /// paste, line breaks sent as carriage returns.
    pub fn paste(&self, text: &str) {
        assert!(self
            .run(&["set-buffer", "-b", "chat-test", "--", text])
            .status
            .success());
        assert!(self
            .run(&["paste-buffer", "-p", "-d", "-b", "chat-test", "-t", SESSION])
            .status
            .success());
    }

    /// Return the pid of the pane's process: the shell that runs the command, or the program
    /// itself when the command `exec`s it.
    pub fn pane_pid(&self) -> u32 {
        let pid = self.display("#{pane_pid}");
        pid.parse()
            .unwrap_or_else(|_| panic!("tmux gave no pane pid: {pid:?}"))
    }

    /// Return the pid of the first child of the pane's shell (the program it runs).
    pub fn child_pid(&self) -> u32 {
        let sh = self.pane_pid();
        let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children"))
            .unwrap_or_else(|e| panic!("read the children of the pane's shell {sh}: {e}"));
        let first = children.split_whitespace().next();
        first
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("the pane's shell {sh} has no child: {children:?}"))
    }

    /// Return a `#{format}` value for the pane.
    pub fn display(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", SESSION, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Return true while our session exists.
    pub fn alive(&self) -> bool {
        self.run(&["has-session", "-t", SESSION]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Our own tmux server (its socket is ours alone) ends its session and exits; if it has
        // not within a second, it is killed by its PID.
        let _ = self.run(&["kill-server"]);
        if let Some(pid) = self.server_pid {
            let end = Instant::now() + Duration::from_secs(1);
            while running(pid) && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(10));
            }
            if running(pid) {
                signal(pid, Signal::SIGKILL);
            }
        }
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}
