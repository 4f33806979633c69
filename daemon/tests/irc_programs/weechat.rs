//! WeeChat (Debian's weechat-headless 3.8) without a terminal: commands in through its FIFO
//! (plugin `fifo`, package weechat-plugins), what it shows out through its logger's files.
//!
//! Its home (`--dir`) is a temporary directory; it loads no plugin but `irc`, `logger` and
//! `fifo`, writes its logs at once (`logger.file.flush_delay 0`), sends without its own flood
//! queue, and knows one server, `chatd`, added with the commands the README gives (in plain
//! text, or over TLS with the certificate pinned). Times in the logs are UTC.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chat_testkit::{TempDir, WAIT};

use super::{isolated, require, wait_path, write_fifo, Running};

const PROGRAM: &str = "/usr/bin/weechat-headless";

/// A running WeeChat connected (or connecting) to chatd as server `chatd`.
pub struct WeeChat {
    /// The process (killed by its PID when dropped).
    pub process: Running,
    fifo: PathBuf,
    home: TempDir,
}

impl WeeChat {
    /// Start WeeChat with nick `nick` and connect to `addr` in plain text (the README's
    /// `-notls`), giving `password` if any.
    pub fn connect(addr: SocketAddr, nick: &str, password: Option<&str>) -> WeeChat {
        let password = password.map_or(String::new(), |p| format!(" -password={p}"));
        WeeChat::connect_with(addr, nick, &format!("-notls{password}"))
    }

    /// Start WeeChat with nick `nick` and connect to `addr` as the server `chatd`, added with
    /// `options` (what follows `/server add chatd ADDRESS/PORT`).
    pub fn connect_with(addr: SocketAddr, nick: &str, options: &str) -> WeeChat {
        require(PROGRAM, "weechat-headless");
        let fifo_plugin = std::fs::read_dir("/usr/lib")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .any(|d| d.path().join("weechat/plugins/fifo.so").is_file());
        assert!(
            fifo_plugin,
            "WeeChat's fifo plugin is needed: apt-get install weechat-plugins (bash .ci/test does)"
        );
        let home = TempDir::new("weechat");
        let commands = [
            "/plugin load logger".to_string(),
            "/plugin load fifo".to_string(),
            "/plugin load irc".to_string(),
            "/set logger.file.flush_delay 0".to_string(),
            format!("/server add chatd {}/{} {options}", addr.ip(), addr.port()),
            format!("/set irc.server.chatd.nicks {nick}"),
            // Its own flood queue (2 s between messages) would only slow the test down.
            "/set irc.server.chatd.anti_flood_prio_high 0".to_string(),
            "/set irc.server.chatd.anti_flood_prio_low 0".to_string(),
            "/connect chatd".to_string(),
        ];
        let mut cmd = isolated(PROGRAM, home.path());
        cmd.arg("--dir")
            .arg(home.path())
            .arg("--no-plugin")
            .arg("--run-command")
            .arg(commands.join(";"));
        let process = Running::spawn(cmd, Stdio::null(), "weechat-headless");
        let fifo = home.join(&format!("weechat_fifo_{}", process.child.id()));
        let fifo = wait_path(fifo);
        WeeChat {
            process,
            fifo,
            home,
        }
    }

    /// Return how this WeeChat spells its TLS options: `tls` since WeeChat 4.0 (`-tls`,
    /// `-tls_fingerprint=…`), `ssl` before (Debian 12's 3.8: `-ssl`, `-ssl_fingerprint=…`).
    pub fn tls_word() -> &'static str {
        require(PROGRAM, "weechat-headless");
        let out = std::process::Command::new(PROGRAM)
            .arg("--version")
            .output()
            .unwrap();
        let version = String::from_utf8_lossy(&out.stdout);
        let major: u32 = version
            .trim()
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("WeeChat's version: {version:?}"));
        if major >= 4 {
            "tls"
        } else {
            "ssl"
        }
    }

    /// Run `line` (a `/command` or text) in the buffer `buffer` (`irc.server.chatd`,
    /// `irc.chatd.#chat`, `irc.chatd.NICK`), as if typed there.
    pub fn input(&self, buffer: &str, line: &str) {
        write_fifo(&self.fifo, &format!("{buffer} *{line}"));
    }

    /// Run a `/command` in the server's buffer.
    pub fn command(&self, line: &str) {
        self.input("irc.server.chatd", line);
    }

    /// Return the path of the log of `buffer` (`#chat`, a nick, or `server`), found without
    /// regard to case (the logger lowers the file name).
    pub fn log_path(&self, buffer: &str) -> PathBuf {
        let name = if buffer == "server" {
            "irc.server.chatd.weechatlog".to_string()
        } else {
            format!("irc.chatd.{buffer}.weechatlog")
        };
        let dir = self.home.join("logs");
        let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|f| f.to_lowercase() == name.to_lowercase())
        });
        dir.join(found.unwrap_or(name))
    }

    /// Wait until the log of `buffer` has a line containing `needle`; return that line.
    pub fn wait_log(&self, buffer: &str, needle: &str) -> String {
        let end = Instant::now() + WAIT;
        loop {
            // The file appears only once the buffer opens: look for it again each time.
            let text = self.log(buffer);
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < end,
                "WeeChat's log of {buffer} never had {needle:?}; it held:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Return the whole log of `buffer` so far ("" if it has none).
    pub fn log(&self, buffer: &str) -> String {
        std::fs::read_to_string(self.log_path(buffer)).unwrap_or_default()
    }
}
