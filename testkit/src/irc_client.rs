//! An IRC client for tests: whole CRLF lines, a deadline on every read, and a check that every
//! line the server sends is a well-formed IRC line.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use chat_core::irc::{Command, Message, MAX_IRC_LINE};

use crate::incoming::Incoming;
use crate::WAIT;

/// One IRC connection to chatd, read line by line.
///
/// Every line read must end in CRLF, parse as an IRC message and fit in 512 bytes besides its
/// tags, or the test fails. Lines are returned without their CRLF.
pub struct IrcClient {
    /// The socket, for tests that write from another thread or close it abruptly.
    pub stream: TcpStream,
    /// What arrived.
    incoming: Incoming,
    /// Tokens of the `PING`s [`IrcClient::sync`] sent, to tell their answers apart.
    syncs: u32,
}

impl IrcClient {
    /// Connect to `addr`.
    pub fn connect(addr: SocketAddr) -> IrcClient {
        let stream = TcpStream::connect_timeout(&addr, WAIT)
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        IrcClient::from_stream(stream)
    }

    /// Connect to `addr` over TLS (any certificate is accepted) and finish the handshake; panic
    /// if it fails within [`WAIT`].
    pub fn connect_tls(addr: SocketAddr) -> IrcClient {
        let mut c = IrcClient::connect(addr);
        c.incoming.tls = Some(Box::new(crate::tls::handshake(&mut c.stream, addr)));
        c
    }

    /// Wrap a connected socket.
    pub fn from_stream(stream: TcpStream) -> IrcClient {
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        IrcClient {
            stream,
            incoming: Incoming::new(|line| {
                let line = line
                    .strip_suffix('\r')
                    .unwrap_or_else(|| panic!("an IRC line without CRLF: {line:?}"))
                    .to_string();
                check_irc_line(&line);
                line
            }),
            syncs: 0,
        }
    }

    /// Send `line` and CRLF.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// Send `bytes` exactly as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.incoming.send(&mut self.stream, bytes);
    }

    /// Return every byte received so far.
    pub fn received(&self) -> &[u8] {
        &self.incoming.raw
    }

    /// Return the next line (without CRLF), or `None` at end of stream or after `limit`.
    pub fn line_within(&mut self, limit: Duration) -> Option<String> {
        self.incoming.line(&mut self.stream, Instant::now() + limit)
    }

    /// Return the next line; panic if none comes within [`WAIT`].
    pub fn line(&mut self) -> String {
        self.line_within(WAIT)
            .expect("a line from the server in time")
    }

    /// Read lines until one's command (a word, or a numeric's three digits) is `command`, and
    /// return it; panic after [`WAIT`] with the lines read.
    pub fn expect(&mut self, command: &str) -> String {
        self.skip_to(command).0
    }

    /// Read lines until one's command is `command`; return it and the lines read before it.
    pub fn skip_to(&mut self, command: &str) -> (String, Vec<String>) {
        let found = self.incoming.skip_until(&mut self.stream, |l| {
            command_of(l).eq_ignore_ascii_case(command)
        });
        found.unwrap_or_else(|before| {
            panic!(
                "no {command} line; got {before:#?} (closed: {})",
                self.incoming.closed
            )
        })
    }

    /// Return every whole line that arrives within `limit`.
    pub fn lines_for(&mut self, limit: Duration) -> Vec<String> {
        self.incoming
            .lines_until(&mut self.stream, Instant::now() + limit)
    }

    /// Return the lines that arrive until the server closes the connection; panic with them if
    /// it is still open after [`WAIT`].
    pub fn read_to_close(&mut self) -> Vec<String> {
        self.incoming.read_to_close(&mut self.stream)
    }

    /// Register as python3-irc does (`NICK`, `USER nick 0 * :nick`) and read the welcome
    /// (`001` naming `nick` first) and the join up to the end of NAMES (`366`); return those
    /// lines, and any that came before them (answers to `CAP`).
    pub fn register(&mut self, nick: &str) -> Vec<String> {
        self.send(&format!("NICK {nick}"));
        self.send(&format!("USER {nick} 0 * :{nick}"));
        let (end, mut before) = self.skip_to("366");
        let welcome = before
            .iter()
            .find(|l| command_of(l) == "001")
            .unwrap_or_else(|| panic!("no 001 in the registration: {before:#?}"));
        assert_eq!(params_of(welcome).first().map(String::as_str), Some(nick));
        before.push(end);
        before
    }

    /// Send a `PING` and return the lines that come before its `PONG`: once it arrives, the
    /// server has handled everything sent before it (IRC's `/who` trick of the native
    /// [`Client::sync`](crate::Client::sync)).
    pub fn sync(&mut self) -> Vec<String> {
        self.syncs += 1;
        let token = format!("sync{}", self.syncs);
        self.send(&format!("PING {token}"));
        let found = self.incoming.skip_until(&mut self.stream, |l| {
            command_of(l) == "PONG" && params_of(l).last() == Some(&token)
        });
        match found {
            Ok((_, before)) => before,
            Err(before) => panic!("no PONG {token}; got {before:#?}"),
        }
    }
}

/// Assert that `line` (without CRLF) is a well-formed IRC line from the server.
fn check_irc_line(line: &str) {
    let m = Message::parse(line.as_bytes())
        .unwrap_or_else(|e| panic!("the server sent an unparsable IRC line ({e}): {line:?}"));
    let tags = m.raw_tags().map_or(0, |t| t.len() + 2);
    assert!(
        line.len() + 2 - tags <= MAX_IRC_LINE,
        "an IRC line over 512 bytes: {line:?}"
    );
}

/// Return a line's command: its word, or a numeric's three digits (`""` if it does not parse).
pub fn command_of(line: &str) -> String {
    match Message::parse(line.as_bytes()).map(|m| m.command()) {
        Ok(Command::Word(w)) => w.to_string(),
        Ok(Command::Numeric(n)) => n.to_string(),
        Err(_) => String::new(),
    }
}

/// Return a line's parameters (the last one without its `:`).
pub fn params_of(line: &str) -> Vec<String> {
    Message::parse(line.as_bytes())
        .map(|m| m.params().iter().map(|p| p.to_string()).collect())
        .unwrap_or_default()
}

/// Return the nick a line comes from (`nick` of `:nick!user@host`), if it names one.
pub fn nick_of(line: &str) -> Option<String> {
    let m = Message::parse(line.as_bytes()).ok()?;
    m.source().map(|s| s.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn reads_checked_crlf_lines_and_syncs_with_ping() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = IrcClient::connect(listener.local_addr().unwrap());
        let (mut server, _) = listener.accept().unwrap();
        server
            .write_all(b":s 001 ana :Welcome\r\n:s 366 ana #chat :End\r\n:a!b@c PRIVMSG #chat :oi\r\n:s PONG s :sync1\r\n")
            .unwrap();
        c.send("x");
        let (end, before) = c.skip_to("366");
        assert_eq!(params_of(&end), ["ana", "#chat", "End"]);
        assert_eq!(command_of(&before[0]), "001");
        assert_eq!(c.sync(), [":a!b@c PRIVMSG #chat :oi"]);
        assert_eq!(nick_of(":a!b@c PRIVMSG #chat :oi").as_deref(), Some("a"));
        drop(server);
        assert!(c.read_to_close().is_empty());
    }

    #[test]
    #[should_panic(expected = "without CRLF")]
    fn a_bare_newline_fails_the_test() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = IrcClient::connect(listener.local_addr().unwrap());
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b":s 001 ana :Welcome\n").unwrap();
        c.line();
    }
}
