//! The real `chatd`, started on a loopback port the kernel picks and stopped by its PID.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use nix::sys::signal::Signal;

use crate::process::{signal, wait_exit};
use crate::{chatd_bin, raw_connect, Client, IrcClient, Lines, TempDir};

/// Variables of the test's own environment that would change how chatd runs: systemd's, and
/// every `CHATD_*` option (removed by prefix, see [`clean_env`]).
const FOREIGN_ENV: [&str; 7] = [
    "CREDENTIALS_DIRECTORY",
    "NOTIFY_SOCKET",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "STATE_DIRECTORY",
    "JOURNAL_STREAM",
];

/// How to start a [`Chatd`]: by default on one native listener, 127.0.0.1, port 0 (IRC and
/// both TLS kinds off), with a state directory of its own, no extra arguments, mDNS off
/// (`CHATD_MDNS=off`), and none of the test's other `CHATD_*` or systemd variables.
#[must_use = "a launch does nothing until `start`"]
#[derive(Debug, Clone)]
pub struct Launch {
    listen: String,
    state_dir: Option<PathBuf>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    password: Option<String>,
    /// A program that execs chatd, and its arguments before chatd's path.
    wrapper: Option<(String, Vec<String>)>,
    /// Listen for IRC clients too, on 127.0.0.1, port 0.
    irc: bool,
    /// `--tls-listen`, if the test asks for native TLS.
    tls_listen: Option<String>,
    /// Listen for IRC clients over TLS too, on 127.0.0.1, port 0.
    irc_tls: bool,
}

impl Default for Launch {
    fn default() -> Launch {
        Launch {
            listen: "127.0.0.1:0".to_string(),
            state_dir: None,
            args: Vec::new(),
            env: Vec::new(),
            password: None,
            wrapper: None,
            irc: false,
            tls_listen: None,
            irc_tls: false,
        }
    }
}

impl Launch {
    /// Start from the defaults.
    pub fn new() -> Launch {
        Launch::default()
    }

    /// Listen on `addr` (`--listen`), e.g. `[::1]:0`, or a fixed port to restart on.
    pub fn listen(mut self, addr: &str) -> Launch {
        self.listen = addr.to_string();
        self
    }

    /// Keep the state in `dir`, which outlives the daemon (to restart on the same history).
    pub fn state_dir(mut self, dir: &Path) -> Launch {
        self.state_dir = Some(dir.to_path_buf());
        self
    }

    /// Add command-line arguments.
    pub fn args(mut self, args: &[&str]) -> Launch {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Set an environment variable for chatd.
    pub fn env(mut self, key: &str, value: &str) -> Launch {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Require `password` (through `--password-file`); [`Chatd::join`] then answers it.
    pub fn password(mut self, password: &str) -> Launch {
        self.password = Some(password.to_string());
        self
    }

    /// Listen for IRC clients too, on 127.0.0.1, port 0 (`--irc-listen`); [`Chatd::irc_addr`]
    /// says where.
    pub fn irc(mut self) -> Launch {
        self.irc = true;
        self
    }

    /// Listen for native TLS clients too, on 127.0.0.1, port 0 (`--tls-listen`);
    /// [`Chatd::tls_addr`] says where.
    pub fn tls(self) -> Launch {
        self.tls_listen("127.0.0.1:0")
    }

    /// Listen for native TLS clients on `addr` (`--tls-listen`), e.g. a fixed port to restart
    /// on; [`Chatd::tls_addr`] says where.
    pub fn tls_listen(mut self, addr: &str) -> Launch {
        self.tls_listen = Some(addr.to_string());
        self
    }

    /// Listen for IRC clients over TLS too, on 127.0.0.1, port 0 (`--irc-tls-listen`);
    /// [`Chatd::irc_tls_addr`] says where.
    pub fn irc_tls(mut self) -> Launch {
        self.irc_tls = true;
        self
    }

    /// Run chatd through `program`, which is given `args`, then chatd's path and arguments,
    /// and must exec chatd (`prlimit --nofile=64:64 chatd …`): the process, its PID and its
    /// log are then still chatd's.
    pub fn through(mut self, program: &str, args: &[&str]) -> Launch {
        let args = args.iter().map(|a| a.to_string()).collect();
        self.wrapper = Some((program.to_string(), args));
        self
    }

    /// Start chatd and wait (bounded) for its `listening` log line.
    pub fn start(self) -> Chatd {
        let own_dir = TempDir::new("chatd");
        let state_dir = self
            .state_dir
            .unwrap_or_else(|| own_dir.path().to_path_buf());
        let mut cmd = match &self.wrapper {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(chatd_bin());
                cmd
            }
            None => Command::new(chatd_bin()),
        };
        cmd.arg("--listen")
            .arg(&self.listen)
            .arg("--state-dir")
            .arg(&state_dir);
        if self.irc {
            cmd.args(["--irc-listen", "127.0.0.1:0"]);
        }
        if let Some(addr) = &self.tls_listen {
            cmd.arg("--tls-listen").arg(addr);
        }
        if self.irc_tls {
            cmd.args(["--irc-tls-listen", "127.0.0.1:0"]);
        }
        if let Some(pw) = &self.password {
            let file = own_dir.join("password");
            std::fs::write(&file, format!("{pw}\n")).expect("write the password file");
            cmd.arg("--password-file").arg(file);
        }
        cmd.args(&self.args);
        clean_env(&mut cmd)
            .envs(self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start chatd");
        let log = Lines::spawn(child.stderr.take().expect("chatd's stderr"));
        let mut d = Chatd {
            child,
            exit: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            irc_addr: None,
            tls_addr: None,
            irc_tls_addr: None,
            state_dir,
            log,
            password: self.password,
            _own_dir: own_dir,
        };
        d.addr = listening_addr(&d.wait_log(" protocol=native tls=no"));
        if self.irc {
            d.irc_addr = Some(listening_addr(&d.wait_log(" protocol=irc tls=no")));
        }
        if self.tls_listen.is_some() {
            d.tls_addr = Some(listening_addr(&d.wait_log(" protocol=native tls=yes")));
        }
        if self.irc_tls {
            d.irc_tls_addr = Some(listening_addr(&d.wait_log(" protocol=irc tls=yes")));
        }
        d
    }
}

/// Return a command that runs chatd on 127.0.0.1, port 0, with its state in `state_dir`, its
/// environment cleaned by [`clean_env`], and stdin, stdout and stderr on `/dev/null`: for a
/// test that starts chatd itself, because [`Launch`] keeps stderr to find the port and this
/// test wants it elsewhere (a journal socket, a pipe nobody reads), or logs to syslog, or
/// expects chatd to fail ([`run_to_exit`](crate::run_to_exit)). Add arguments, variables and
/// stdio as needed.
pub fn chatd_command(state_dir: &Path) -> Command {
    let mut cmd = Command::new(chatd_bin());
    cmd.args(["--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    clean_env(&mut cmd);
    cmd
}

/// Return the address of a `listening addr=…` log line; panic if it names none.
pub fn listening_addr(line: &str) -> SocketAddr {
    line.split("listening addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// Keep the test's own environment from changing how the chatd of `cmd` runs: remove every
/// `CHATD_*` option and systemd's variables (under a journal, `JOURNAL_STREAM` alone would
/// change chatd's log format). [`Launch`] does this for every chatd it starts; a test that
/// builds its own `Command` from [`chatd_bin`] (for other stdio or file descriptors) calls it.
/// Only inherited variables go: one the test has set on `cmd`, before or after, stays.
///
/// It also turns the IRC listener and both TLS listeners off (`CHATD_IRC_LISTEN=off`,
/// `CHATD_TLS_LISTEN=off`, `CHATD_IRC_TLS_LISTEN=off`) unless the test set those variables:
/// their defaults, ports 6667, 5001 and 6697 on every interface, are neither loopback nor free
/// for tests running side by side. A `--irc-listen` (or `--tls-listen`, …) on the command line
/// still wins. Likewise mDNS
/// is off (`CHATD_MDNS=off`) unless the test asks: a test never announces on the machine's own
/// network (the mDNS test runs in network namespaces of its own).
pub fn clean_env(cmd: &mut Command) -> &mut Command {
    let set_by_test: Vec<OsString> = cmd
        .get_envs()
        .filter(|(_, value)| value.is_some())
        .map(|(key, _)| key.to_os_string())
        .collect();
    let inherited = std::env::vars_os().map(|(key, _)| key);
    for key in inherited_to_remove(inherited, &set_by_test) {
        cmd.env_remove(key);
    }
    for (key, off) in [
        ("CHATD_IRC_LISTEN", "off"),
        ("CHATD_TLS_LISTEN", "off"),
        ("CHATD_IRC_TLS_LISTEN", "off"),
        ("CHATD_MDNS", "off"),
    ] {
        if !set_by_test.iter().any(|k| k == key) {
            cmd.env(key, off);
        }
    }
    cmd
}

/// Return which variables [`clean_env`] removes, given the names in the test's environment
/// and those the test set on the command itself.
fn inherited_to_remove(
    inherited: impl Iterator<Item = OsString>,
    set_by_test: &[OsString],
) -> Vec<OsString> {
    inherited
        .filter(|key| key.to_string_lossy().starts_with("CHATD_"))
        .chain(FOREIGN_ENV.iter().map(OsString::from))
        .filter(|key| !set_by_test.contains(key))
        .collect()
}

/// A running chatd, killed (by its PID, through its `Child`) when dropped.
pub struct Chatd {
    child: Child,
    /// How it exited, once [`Chatd::wait_exit`] has seen it: its PID may then be reused.
    exit: Option<ExitStatus>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it listens for IRC clients, if it was launched with [`Launch::irc`].
    pub irc_addr: Option<SocketAddr>,
    /// Where its native TLS listener is, if it was launched with [`Launch::tls`].
    pub tls_addr: Option<SocketAddr>,
    /// Where its IRC TLS listener is, if it was launched with [`Launch::irc_tls`].
    pub irc_tls_addr: Option<SocketAddr>,
    /// Its state directory.
    pub state_dir: PathBuf,
    /// Its stderr, where it logs.
    log: Lines,
    /// The password it was started with, if any.
    password: Option<String>,
    /// A directory of its own (state unless given one, password file), removed after it.
    _own_dir: TempDir,
}

impl Chatd {
    /// Start chatd with `args` and a state directory of its own.
    pub fn start(args: &[&str]) -> Chatd {
        Launch::new().args(args).start()
    }

    /// Start chatd with `args`, keeping its state in `state_dir`.
    pub fn start_in(state_dir: &Path, args: &[&str]) -> Chatd {
        Launch::new().state_dir(state_dir).args(args).start()
    }

    /// Return its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send it a signal.
    pub fn signal(&self, sig: Signal) {
        assert!(self.exit.is_none(), "chatd has already exited");
        signal(self.pid(), sig);
    }

    /// Wait (bounded) for it to exit and for its log to end; return how it exited.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let status = wait_exit(&mut self.child);
        self.exit = Some(status);
        assert!(
            self.log.wait_closed(),
            "chatd exited but its stderr stayed open"
        );
        status
    }

    /// Stop it gracefully with SIGTERM and wait for it to exit.
    pub fn terminate(&mut self) {
        self.signal(Signal::SIGTERM);
        self.wait_exit();
    }

    /// Kill it without warning (a crash) and wait for it to exit.
    pub fn crash(&mut self) {
        self.signal(Signal::SIGKILL);
        self.wait_exit();
    }

    /// Return whether it is still running.
    pub fn is_running(&mut self) -> bool {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("look at chatd's status");
        }
        self.exit.is_none()
    }

    /// Return everything it has logged so far.
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Wait (bounded) for a log line containing `needle`, logged before or to come; return it.
    pub fn wait_log(&self, needle: &str) -> String {
        self.log.find(needle, "chatd")
    }

    /// Connect a client.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Connect a client from the loopback address `from` (127.0.0.2, 127.0.0.3, …: every
    /// 127.x.y.z is this machine), to be another address to chatd's per-address rules.
    pub fn connect_from(&self, from: IpAddr) -> Client {
        Client::from_stream(raw_connect(self.addr, Some(from), None))
    }

    /// Connect and join as `name` (answering the password it was launched with); the
    /// `WELCOME` line has been read.
    pub fn join(&self, name: &str) -> Client {
        let mut c = self.connect();
        if let Some(pw) = &self.password {
            c.expect("ASK PASSWORD");
            c.send(pw);
        }
        c.join(name);
        c
    }

    /// Connect an IRC client (the daemon must have been launched with [`Launch::irc`]).
    pub fn irc_connect(&self) -> IrcClient {
        IrcClient::connect(self.irc_addr.expect("chatd was launched without IRC"))
    }

    /// Connect an IRC client and register as `nick` (with the password it was launched with,
    /// if any); the welcome and the join up to the end of NAMES have been read.
    pub fn irc_join(&self, nick: &str) -> IrcClient {
        let mut c = self.irc_connect();
        if let Some(pw) = &self.password {
            c.send(&format!("PASS {pw}"));
        }
        c.register(nick);
        c
    }

    /// Like [`Chatd::join`], and the `WHO` after `WELCOME` has been read too.
    pub fn join_settled(&self, name: &str) -> Client {
        let mut c = self.join(name);
        c.expect("WHO ");
        c
    }
}

impl Drop for Chatd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inherited_chatd_and_systemd_variables_are_removed() {
        let names = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let inherited = names(&["PATH", "CHATD_LOG_RATE", "CHATD_LISTEN", "JOURNAL_STREAM"]);
        let set_by_test = names(&["CHATD_LISTEN", "NOTIFY_SOCKET"]);
        let removed = inherited_to_remove(inherited.into_iter(), &set_by_test);
        for key in [
            "CHATD_LOG_RATE",
            "JOURNAL_STREAM",
            "LISTEN_PID",
            "LISTEN_FDS",
        ] {
            assert!(
                removed.contains(&OsString::from(key)),
                "{key} kept: {removed:?}"
            );
        }
        for key in ["PATH", "CHATD_LISTEN", "NOTIFY_SOCKET"] {
            assert!(!removed.contains(&OsString::from(key)), "{key} removed");
        }
    }

    #[test]
    fn irc_is_off_unless_the_test_says_otherwise() {
        let run = |cmd: &mut Command| {
            let out = clean_env(cmd).output().expect("run env");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let env = run(&mut Command::new("env"));
        assert!(env.lines().any(|l| l == "CHATD_IRC_LISTEN=off"), "{env}");
        let env = run(Command::new("env").env("CHATD_IRC_LISTEN", "127.0.0.1:0"));
        assert!(
            env.lines().any(|l| l == "CHATD_IRC_LISTEN=127.0.0.1:0"),
            "{env}"
        );
    }

    #[test]
    fn a_variable_the_test_sets_reaches_the_child_and_the_rest_does_not() {
        let mut cmd = Command::new("env");
        cmd.env("JOURNAL_STREAM", "1:2");
        clean_env(&mut cmd).env("CHATD_LOG_RATE", "off");
        let out = cmd.output().expect("run env");
        let env = String::from_utf8_lossy(&out.stdout);
        assert!(env.lines().any(|l| l == "JOURNAL_STREAM=1:2"), "{env}");
        assert!(env.lines().any(|l| l == "CHATD_LOG_RATE=off"), "{env}");
        for key in ["LISTEN_PID", "LISTEN_FDS", "NOTIFY_SOCKET"] {
            assert!(!env.contains(key), "{key} reached the child: {env}");
        }
    }
}
