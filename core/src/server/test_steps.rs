//! The set-up the server's unit tests share (`tests.rs`, `irc_tests.rs`): clients numbered by
//! their loopback address, a configuration without flood control, and shorthands on top of
//! [`Sim`].

use super::*;
use crate::testing::Sim;
use std::format;
use std::string::String;
use std::vec::Vec;

/// Return the address of client number `n`: 127.0.0.`n`, a port of its own.
pub(super) fn peer(n: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, n], 40_000 + u16::from(n)))
}

/// Return the default configuration without flood control.
pub(super) fn open() -> Config {
    Config {
        flood: None,
        ..Config::default()
    }
}

/// The simulation most tests drive.
pub(super) type H = Sim<8>;

/// Shorthands of the tests on top of [`Sim`].
pub(super) trait Steps {
    /// Accept a native connection from client `n`.
    fn connect(&mut self, n: u8) -> ConnId;
    /// Accept an IRC connection from client `n`.
    fn irc(&mut self, n: u8) -> ConnId;
    /// Send a line from `id` the way its client would (IRC: CRLF); nobody reads meanwhile
    /// (tests drain when they choose).
    fn line(&mut self, id: ConnId, line: &str);
    /// Take every line queued for `id`.
    fn lines(&mut self, id: ConnId) -> Vec<String>;
    /// Connect native client `n` and join as `name`; everything up to `WHO` is read.
    fn join(&mut self, n: u8, name: &str) -> ConnId;
    /// Register IRC client `n` as python3-irc does, and read everything up to the history.
    fn register(&mut self, n: u8, nick: &str) -> ConnId;
    /// Take the connections the server wants closed.
    fn closes(&mut self) -> Vec<ConnId>;
}

impl<const N: usize> Steps for Sim<N> {
    fn connect(&mut self, n: u8) -> ConnId {
        self.accept(peer(n)).expect("a free slot")
    }

    fn irc(&mut self, n: u8) -> ConnId {
        self.accept_as(peer(n), Dialect::Irc).expect("a free slot")
    }

    fn line(&mut self, id: ConnId, line: &str) {
        let end = if self.server.dialect(id) == Some(Dialect::Irc) {
            "\r\n"
        } else {
            "\n"
        };
        self.send_unread(id, format!("{line}{end}").as_bytes());
    }

    fn lines(&mut self, id: ConnId) -> Vec<String> {
        self.drain(id, None);
        assert_eq!(self.pending(id), 0, "drained");
        self.take_lines(id)
    }

    fn join(&mut self, n: u8, name: &str) -> ConnId {
        let id = self.connect(n);
        self.line(id, name);
        let got = self.lines(id);
        assert!(
            got.iter().any(|l| l.starts_with("WELCOME ")),
            "{name} did not join: {got:?}"
        );
        id
    }

    fn register(&mut self, n: u8, nick: &str) -> ConnId {
        let id = self.irc(n);
        self.line(id, &format!("NICK {nick}"));
        self.line(id, &format!("USER {nick} 0 * :real {nick}"));
        let got = self.lines(id);
        assert!(
            got.iter()
                .any(|l| l.starts_with(&format!(":chatd 001 {nick} "))),
            "{nick} did not register: {got:?}"
        );
        id
    }

    fn closes(&mut self) -> Vec<ConnId> {
        core::iter::from_fn(|| self.server.poll_close()).collect()
    }
}
