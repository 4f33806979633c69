//! The real `chatc`, run with piped stdin, stdout and stderr.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::process::wait_exit;
use crate::{chatc_bin, Lines};

/// A running chatc, killed when dropped if it is still running.
pub struct Chatc {
    child: Child,
    /// Its stdin, until [`Chatc::wait`] closes it.
    stdin: Option<ChildStdin>,
    /// What it writes to standard output.
    pub out: Lines,
    /// What it writes to standard error.
    pub err: Lines,
}

impl Chatc {
    /// Start chatc against `port` on 127.0.0.1 with extra arguments and environment.
    pub fn start(port: u16, args: &[&str], env: &[(&str, &str)]) -> Chatc {
        Chatc::start_at("127.0.0.1", port, args, env)
    }

    /// Start chatc against `host` (as given to `-H`) and `port`, with extra arguments and
    /// environment; none of the test's own `CHATC_*` variables reach it, and its XDG
    /// directories point nowhere, so a developer's own chatc configuration cannot either.
    pub fn start_at(host: &str, port: u16, args: &[&str], env: &[(&str, &str)]) -> Chatc {
        let mut cmd = Command::new(chatc_bin());
        cmd.args(["-H", host, "-p", &port.to_string()]).args(args);
        cmd.env_remove("CHATC_PASSWORD")
            .env_remove("CHATC_HOST")
            .env_remove("CHATC_PORT")
            .env("XDG_CONFIG_HOME", "/nonexistent/chatc-test-config")
            .env("XDG_DATA_HOME", "/nonexistent/chatc-test-data");
        cmd.envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start chatc");
        let out = Lines::spawn(child.stdout.take().expect("chatc's stdout"));
        let err = Lines::spawn(child.stderr.take().expect("chatc's stderr"));
        Chatc {
            stdin: child.stdin.take(),
            child,
            out,
            err,
        }
    }

    /// Write `text` to its stdin.
    pub fn write(&mut self, text: &str) {
        self.try_write(text).expect("write to chatc");
    }

    /// Write `text` to its stdin; an error if chatc has already exited (say it refused to
    /// connect before reading its input).
    pub fn try_write(&mut self, text: &str) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().expect("chatc's stdin is open");
        stdin.write_all(text.as_bytes())?;
        stdin.flush()
    }

    /// Close its stdin (end of input), wait (bounded) for it to exit; return the exit code.
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
