//! A bot on python3-irc (Debian's python3-irc 8.5, run by Debian's `/usr/bin/python3`, not
//! whatever `python3` comes first on `PATH`): `pybot.py` beside this file, which prints each
//! event the library hands it as a line of tab-separated fields and takes commands on stdin.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{ChildStdin, Stdio};

use chat_testkit::{Lines, TempDir};

use super::{isolated, require, Running};

const PYTHON: &str = "/usr/bin/python3";

/// A running bot.
pub struct PyBot {
    /// The process (killed by its PID when dropped).
    pub process: Running,
    stdin: ChildStdin,
    /// What the library handed the bot, one event per line: `type`, source, target and
    /// arguments, separated by tabs.
    pub events: Lines,
    /// What python wrote on stderr (a traceback, if the library choked on a line).
    pub errors: Lines,
    _home: TempDir,
}

impl PyBot {
    /// Start the bot as `nick` against `addr`, giving `password` if any.
    pub fn connect(addr: SocketAddr, nick: &str, password: Option<&str>) -> PyBot {
        require(PYTHON, "python3");
        require(
            "/usr/lib/python3/dist-packages/irc/client.py",
            "python3-irc",
        );
        let home = TempDir::new("pybot");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/irc_programs/pybot.py");
        let mut cmd = isolated(PYTHON, home.path());
        cmd.arg(script)
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .arg(nick)
            .args(password);
        let mut process = Running::spawn(cmd, Stdio::piped(), "the python3-irc bot");
        let stdin = process.child.stdin.take().unwrap();
        let events = Lines::spawn(process.child.stdout.take().unwrap());
        let errors = Lines::spawn(process.child.stderr.take().unwrap());
        PyBot {
            process,
            stdin,
            events,
            errors,
            _home: home,
        }
    }

    /// Give the bot a command (`privmsg TARGET TEXT`, `nick NEW`, `quit REASON`, … see
    /// `pybot.py`).
    pub fn send(&mut self, command: &str) {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .expect("write to the bot");
        self.stdin.flush().expect("flush the bot's stdin");
    }

    /// Wait for the next event whose line starts with `prefix` (e.g. `"pubmsg\tAna!"`),
    /// skipping others; return its fields.
    pub fn expect(&mut self, prefix: &str) -> Vec<String> {
        // Each round consumes a line (or fails the test after chat_testkit::WAIT).
        for _ in 0..10_000 {
            let line = self.events.expect(prefix);
            if line.starts_with(prefix) {
                return line.split('\t').map(str::to_string).collect();
            }
        }
        panic!("the bot never had an event starting with {prefix:?}");
    }
}
