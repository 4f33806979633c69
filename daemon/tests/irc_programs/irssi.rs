//! irssi (Debian's irssi 1.4) in a terminal of its own: keys in, the screen out.
//!
//! Its home is a temporary directory holding only a config file with the settings a test
//! needs: no flood queue on its side (`cmd_queue_speed = 0`: the test types faster than a
//! person, and chatd has its own limit), and `show_server_time`, so that replayed history
//! shows the time it was said. Times are UTC.

use std::time::{Duration, Instant};

use chat_testkit::{running, signal, Signal, TempDir, Tmux, WAIT};

use super::require;

/// The config file: settings only, no servers (nothing connects by itself).
const CONFIG: &str = r#"settings = {
  core = {
    real_name = "Test user";
    user_name = "tester";
    nick = "NICK";
    settings_autosave = "no";
  };
  "irc/core" = { cmd_queue_speed = "0"; };
  "fe-text" = { show_server_time = "yes"; };
};
"#;

/// A running irssi.
pub struct Irssi {
    tmux: Tmux,
    /// irssi's own PID (the pane's command `exec`s it).
    pid: u32,
    /// Its home: always there until [`Irssi::restart`] moves it to the next irssi.
    home: Option<TempDir>,
}

impl Irssi {
    /// Start irssi with nick `nick`; `tag` names its tmux socket (unique per test).
    pub fn start(tag: &str, nick: &str) -> Irssi {
        let home = TempDir::new("irssi");
        let conf_dir = home.join(".irssi");
        std::fs::create_dir_all(&conf_dir).unwrap();
        std::fs::write(conf_dir.join("config"), CONFIG.replace("NICK", nick)).unwrap();
        Irssi::start_in(tag, home)
    }

    /// Wait for irssi to exit (after `/quit`), then start it again in the same home, with
    /// what it saved there; `tag` names the new tmux socket.
    pub fn restart(mut self, tag: &str) -> Irssi {
        self.wait_exit();
        let home = self.home.take().unwrap();
        drop(self);
        Irssi::start_in(tag, home)
    }

    /// Start irssi in `home`, whose `.irssi/config` is written.
    fn start_in(tag: &str, home: TempDir) -> Irssi {
        require("/usr/bin/irssi", "irssi");
        let conf_dir = home.join(".irssi");
        let cmd = format!(
            "exec env -i PATH=/usr/bin:/bin HOME='{home}' TERM=screen TZ=UTC LANG=C.UTF-8 \
             /usr/bin/irssi --home='{conf}'",
            home = home.path().display(),
            conf = conf_dir.display()
        );
        let tmux = Tmux::start(tag, &cmd);
        let pid = tmux.pane_pid();
        let irssi = Irssi {
            tmux,
            pid,
            home: Some(home),
        };
        irssi.wait_screen("irssi's banner", |s| {
            s.iter().any(|l| l.contains("Irssi v1."))
        });
        irssi
    }

    /// Type `line` and press Enter.
    pub fn type_line(&self, line: &str) {
        self.tmux.type_text(line);
        self.tmux.key("Enter");
    }

    /// Show the window of `name` (`#chat`, a nick, `(status)`), which may still be about to
    /// open: ask again every half second until it is shown (bounded by [`WAIT`]).
    pub fn window(&self, name: &str) {
        let target = if name == "(status)" { "1" } else { name };
        let prompt = format!("[{name}]");
        let end = Instant::now() + WAIT;
        while Instant::now() < end {
            self.type_line(&format!("/window goto {target}"));
            let ask_again = Instant::now() + Duration::from_millis(500);
            while Instant::now() < ask_again {
                if self.screen().last().is_some_and(|l| *l == prompt) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!(
            "irssi never showed the window {name}:\n{}",
            self.screen().join("\n")
        );
    }

    /// Wait until the screen satisfies `pred`; return it.
    pub fn wait_screen(&self, what: &str, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        self.tmux.wait_screen(what, pred)
    }

    /// Wait until a line of the screen contains `needle`; return that line.
    pub fn wait_line(&self, needle: &str) -> String {
        let screen = self.wait_screen(&format!("a line with {needle:?}"), |s| {
            s.iter().any(|l| l.contains(needle))
        });
        screen.into_iter().find(|l| l.contains(needle)).unwrap()
    }

    /// Return the screen's lines.
    pub fn screen(&self) -> Vec<String> {
        self.tmux.screen()
    }

    /// Return whether irssi is still running.
    pub fn alive(&self) -> bool {
        running(self.pid)
    }

    /// Wait (bounded) for irssi to exit by itself (after `/quit`).
    pub fn wait_exit(&self) {
        let end = Instant::now() + WAIT;
        while self.alive() {
            assert!(
                Instant::now() < end,
                "irssi is still running:\n{}",
                self.screen().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Irssi {
    fn drop(&mut self) {
        if self.alive() {
            signal(self.pid, Signal::SIGKILL);
        }
    }
}
