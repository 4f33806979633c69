//! A protocol client for tests: whole lines, a deadline on every read, and a check that
//! every line the server sends is well formed.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use chat_core::fingerprint::Fingerprint;
use chat_core::ServerLine;

use crate::incoming::Incoming;
use crate::WAIT;

/// One connection to a chat server, read line by line.
///
/// Every line read must parse as a known [`ServerLine`] and hold no control character, or the
/// test fails: any test that reads from the server also checks that it sends nothing else.
pub struct Client {
    /// The socket, for tests that write from another thread or close it abruptly.
    pub stream: TcpStream,
    /// What arrived.
    incoming: Incoming,
}

impl Client {
    /// Connect to `addr`.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, WAIT)
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        Client::from_stream(stream)
    }

    /// Wrap a connected socket, e.g. one from [`raw_connect`](crate::raw_connect).
    pub fn from_stream(stream: TcpStream) -> Client {
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        Client {
            stream,
            incoming: Incoming::new(|line| {
                check_line(&line);
                line
            }),
        }
    }

    /// Connect to `addr` over TLS (any certificate is accepted: see
    /// [`Client::tls_fingerprint`]) and finish the handshake; panic if it fails within [`WAIT`].
    pub fn connect_tls(addr: SocketAddr) -> Client {
        let mut c = Client::connect(addr);
        c.incoming.tls = Some(Box::new(crate::tls::handshake(&mut c.stream, addr)));
        c
    }

    /// [`Client::connect_tls`] from the local address `from` (say `127.0.0.2`, to be another
    /// client address on loopback).
    pub fn connect_tls_from(addr: SocketAddr, from: std::net::IpAddr) -> Client {
        let mut c = Client::from_stream(crate::raw_connect(addr, Some(from), None));
        c.incoming.tls = Some(Box::new(crate::tls::handshake(&mut c.stream, addr)));
        c
    }

    /// Return the fingerprint of the certificate the server showed, for a TLS client.
    pub fn tls_fingerprint(&self) -> Option<Fingerprint> {
        let certs = self.incoming.tls.as_ref()?.peer_certificates()?;
        Some(crate::tls::fingerprint(certs.first()?.as_ref()))
    }

    /// Return the TLS protocol version in use (`TLSv1_3`, …), for a TLS client.
    pub fn tls_version(&self) -> Option<String> {
        Some(format!(
            "{:?}",
            self.incoming.tls.as_ref()?.protocol_version()?
        ))
    }

    /// Send `line` and a newline.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    /// Send `bytes` exactly as they are (encrypted first, for a TLS client).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.incoming.send(&mut self.stream, bytes);
    }

    /// Return every byte received so far, for checks on the raw stream.
    pub fn received(&self) -> &[u8] {
        &self.incoming.raw
    }

    /// Return the next line (without `\n`), or `None` at end of stream or after `limit`.
    pub fn line_within(&mut self, limit: Duration) -> Option<String> {
        self.incoming.line(&mut self.stream, Instant::now() + limit)
    }

    /// Return the next line; panic if none comes within [`WAIT`].
    pub fn line(&mut self) -> String {
        self.line_within(WAIT)
            .expect("a line from the server in time")
    }

    /// Read lines until one starts with `prefix` and return it; panic after [`WAIT`].
    pub fn expect(&mut self, prefix: &str) -> String {
        self.skip_to(prefix).0
    }

    /// Read lines until one starts with `prefix`; return it and the lines read before it.
    /// Panic with those lines if none comes within [`WAIT`].
    pub fn skip_to(&mut self, prefix: &str) -> (String, Vec<String>) {
        let found = self
            .incoming
            .skip_until(&mut self.stream, |l| l.starts_with(prefix));
        found.unwrap_or_else(|before| {
            panic!(
                "no line starting with {prefix:?}; got {before:#?} (closed: {})",
                self.incoming.closed
            )
        })
    }

    /// Return every whole line that arrives within `limit`.
    pub fn lines_for(&mut self, limit: Duration) -> Vec<String> {
        self.incoming
            .lines_until(&mut self.stream, Instant::now() + limit)
    }

    /// Return the lines that arrive until the server closes the connection; panic with them
    /// if it is still open after [`WAIT`].
    pub fn read_to_close(&mut self) -> Vec<String> {
        self.incoming.read_to_close(&mut self.stream)
    }

    /// Return whether the server closes the connection within [`WAIT`], discarding (unchecked)
    /// whatever it still sends.
    pub fn closes(&mut self) -> bool {
        let end = Instant::now() + WAIT;
        loop {
            self.incoming.discard();
            if !self.incoming.fill(&mut self.stream, end) {
                return self.incoming.closed;
            }
        }
    }

    /// Answer `ASK NAME` with `name` and wait for the `WELCOME` that says we joined as `name`.
    pub fn join(&mut self, name: &str) {
        self.expect("ASK NAME");
        self.send(name);
        let welcome = self.expect("WELCOME ");
        assert!(
            matches!(ServerLine::parse(&welcome), Ok(ServerLine::Welcome { name: n, .. }) if n == name),
            "joined under another name: {welcome}"
        );
    }

    /// [`join`](Client::join), then also read the `WHO` that follows `WELCOME`, so that the
    /// next line is history or live traffic.
    pub fn join_settled(&mut self, name: &str) {
        self.join(name);
        self.expect("WHO ");
    }

    /// Send `/who` and return the lines that come before its answer: once it arrives, the
    /// server has handled everything sent before it.
    pub fn sync(&mut self) -> Vec<String> {
        self.send("/who");
        self.skip_to("WHO ").1
    }
}

/// Assert that `line` from the server is a known kind and holds no control character.
fn check_line(line: &str) {
    assert!(
        !line.chars().any(|c| c.is_control() && c != '\t'),
        "control character from the server: {line:?}"
    );
    assert!(
        matches!(ServerLine::parse(line), Ok(l) if !matches!(l, ServerLine::Unknown(_))),
        "the server sent an unparsable line: {line:?}"
    );
}

/// Return the text of `line` if it is a `MSG` from `from`.
pub fn msg_from<'a>(line: &'a str, from: &str) -> Option<&'a str> {
    match ServerLine::parse(line) {
        Ok(ServerLine::Msg { from: f, text, .. }) if f == from => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn reads_checked_lines_until_the_peer_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = Client::connect(listener.local_addr().unwrap());
        let (mut server, _) = listener.accept().unwrap();
        server
            .write_all(b"HELLO chatd/1 hi\nMSG 2026-11-24T14:03:05Z Ana oi\nWHO 2026-11-24T14:03:05Z 1 Ana\n")
            .unwrap();
        let (who, before) = c.skip_to("WHO ");
        assert!(who.ends_with(" 1 Ana"));
        assert_eq!(msg_from(&before[1], "Ana"), Some("oi"));
        assert_eq!(msg_from(&before[1], "Bo"), None);
        assert_eq!(c.line_within(Duration::from_millis(10)), None);
        drop(server);
        assert!(c.read_to_close().is_empty());
        assert!(c.received().starts_with(b"HELLO "));
    }

    #[test]
    #[should_panic(expected = "control character")]
    fn an_escape_from_the_server_fails_the_test() {
        check_line("MSG 2026-11-24T14:03:05Z Ana \u{1b}[2J");
    }

    #[test]
    #[should_panic(expected = "unparsable")]
    fn an_unknown_kind_fails_the_test() {
        check_line("BOGUS line");
    }
}
