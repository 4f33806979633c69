//! ii (Debian's ii 1.8), the IRC client made of files: a line written to `DIR/HOST/in` is a
//! command, one written to `DIR/HOST/#chat/in` is said in the channel, and what the server
//! says is appended to the `out` file beside each `in`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use chat_testkit::TempDir;

use super::{isolated, require, wait_file, wait_path, write_fifo, Running};

const PROGRAM: &str = "/usr/bin/ii";

/// A running ii.
pub struct Ii {
    /// The process (killed by its PID when dropped).
    pub process: Running,
    /// `DIR/HOST`: the server's directory.
    server_dir: PathBuf,
    _home: TempDir,
}

impl Ii {
    /// Start ii as `nick` against `addr`, giving `password` (through `-k`) if any.
    pub fn connect(addr: SocketAddr, nick: &str, password: Option<&str>) -> Ii {
        require(PROGRAM, "ii");
        let home = TempDir::new("ii");
        let mut cmd = isolated(PROGRAM, home.path());
        cmd.args(["-s", &addr.ip().to_string(), "-p", &addr.port().to_string()])
            .args(["-n", nick, "-f", nick])
            .arg("-i")
            .arg(home.path());
        if let Some(p) = password {
            cmd.env("IIPASS", p).args(["-k", "IIPASS"]);
        }
        let process = Running::spawn(cmd, Stdio::null(), "ii");
        let server_dir = home.join(&addr.ip().to_string());
        wait_path(server_dir.join("in"));
        Ii {
            process,
            server_dir,
            _home: home,
        }
    }

    /// Write `line` to the `in` of `target` (`""` for the server, `#chat`, a nick).
    pub fn write(&self, target: &str, line: &str) {
        write_fifo(&wait_path(self.server_dir.join(target).join("in")), line);
    }

    /// Wait until the `out` of `target` has a line containing `needle`; return that line.
    pub fn wait_out(&self, target: &str, needle: &str) -> String {
        let path = self.server_dir.join(target).join("out");
        let text = wait_file(&path, &format!("a line with {needle:?}"), |t| {
            t.contains(needle)
        });
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap()
            .to_string()
    }

    /// Return the names of the directories ii made (the server's, one per channel or nick).
    pub fn targets(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.server_dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}
