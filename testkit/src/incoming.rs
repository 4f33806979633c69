//! Bytes arriving on a test's socket, read with a deadline and cut into checked lines, in plain
//! text or through TLS (and bytes sent the same way): the reading both test clients share,
//! [`Client`](crate::Client) and [`IrcClient`](crate::IrcClient), which differ only in what a
//! good line is.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use rustls::ClientConnection;

use crate::WAIT;

/// What a test client has received: every byte, those not yet returned as a line, and whether
/// the server closed (or reset) the connection.
#[derive(Debug)]
pub(crate) struct Incoming {
    /// Bytes received and not yet returned as a line.
    buf: Vec<u8>,
    /// Every byte received.
    pub(crate) raw: Vec<u8>,
    /// The server closed (or reset) the connection.
    pub(crate) closed: bool,
    /// The TLS layer, for a client that connected with TLS.
    pub(crate) tls: Option<Box<ClientConnection>>,
    /// Check a line from the server (UTF-8, without its `\n`) and return it as the test sees
    /// it; panic, failing the test, on one the server must not send.
    check: fn(String) -> String,
}

impl Incoming {
    /// Nothing received yet; every line will go through `check`.
    pub(crate) fn new(check: fn(String) -> String) -> Incoming {
        Incoming {
            buf: Vec::new(),
            raw: Vec::new(),
            closed: false,
            tls: None,
            check,
        }
    }

    /// Return the next line, checked, or `None` at end of stream or at `end`.
    pub(crate) fn line(&mut self, stream: &mut TcpStream, end: Instant) -> Option<String> {
        loop {
            if let Some(bytes) = self.take_line() {
                let line = String::from_utf8(bytes)
                    .unwrap_or_else(|e| panic!("the server sent a line that is not UTF-8: {e}"));
                return Some((self.check)(line));
            }
            if !self.fill(stream, end) {
                return None;
            }
        }
    }

    /// Return every line that arrives until `end` or the end of the stream.
    pub(crate) fn lines_until(&mut self, stream: &mut TcpStream, end: Instant) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(l) = self.line(stream, end) {
            out.push(l);
        }
        out
    }

    /// Read lines until one that `found` picks; return it and the lines before it, or, if none
    /// comes within [`WAIT`], the lines read.
    pub(crate) fn skip_until(
        &mut self,
        stream: &mut TcpStream,
        mut found: impl FnMut(&str) -> bool,
    ) -> Result<(String, Vec<String>), Vec<String>> {
        let end = Instant::now() + WAIT;
        let mut before = Vec::new();
        while let Some(l) = self.line(stream, end) {
            if found(&l) {
                return Ok((l, before));
            }
            before.push(l);
        }
        Err(before)
    }

    /// Return the lines that arrive until the server closes the connection; panic with them
    /// if it is still open after [`WAIT`].
    pub(crate) fn read_to_close(&mut self, stream: &mut TcpStream) -> Vec<String> {
        let out = self.lines_until(stream, Instant::now() + WAIT);
        assert!(self.closed, "connection not closed in time; read {out:?}");
        out
    }

    /// Return the next whole line received, with its `\n` removed (and nothing else).
    fn take_line(&mut self) -> Option<Vec<u8>> {
        let nl = self.buf.iter().position(|&b| b == b'\n')?;
        let mut bytes: Vec<u8> = self.buf.drain(..=nl).collect();
        bytes.pop();
        Some(bytes)
    }

    /// Forget the bytes not yet returned as lines.
    pub(crate) fn discard(&mut self) {
        self.buf.clear();
    }

    /// Read more bytes from `stream`, waiting at most until `end`; return false at end of
    /// stream or time.
    pub(crate) fn fill(&mut self, stream: &mut TcpStream, end: Instant) -> bool {
        if self.closed {
            return false;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream
            .set_read_timeout(Some(left))
            .expect("set a read timeout");
        let mut chunk = [0u8; 16 * 1024];
        if self.tls.is_some() {
            return self.fill_tls(stream, &mut chunk);
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                self.closed = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.raw.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(_) => {
                self.closed = true;
                false
            }
        }
    }

    /// Send `bytes` to `stream`, encrypted first for a TLS client.
    pub(crate) fn send(&mut self, stream: &mut TcpStream, bytes: &[u8]) {
        match self.tls.as_mut() {
            None => stream.write_all(bytes).expect("send to the server"),
            Some(tls) => {
                tls.writer()
                    .write_all(bytes)
                    .expect("encrypt for the server");
                while tls.wants_write() {
                    tls.write_tls(stream).expect("send to the server");
                }
            }
        }
    }

    /// [`Incoming::fill`] for a TLS client: plaintext rustls holds, else one read of the socket
    /// (whose timeout is set).
    fn fill_tls(&mut self, stream: &mut TcpStream, chunk: &mut [u8]) -> bool {
        let Some(tls) = self.tls.as_mut() else {
            return false;
        };
        for _ in 0..2 {
            match tls.reader().read(chunk) {
                Ok(0) => {
                    self.closed = true;
                    return false;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.raw.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    self.closed = true;
                    return false;
                }
            }
            match tls.read_tls(stream) {
                Ok(0) => {
                    self.closed = true;
                    return false;
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return true,
                Err(_) => {
                    self.closed = true;
                    return false;
                }
            }
            if tls.process_new_packets().is_err() {
                self.closed = true;
                return false;
            }
            while tls.wants_write() {
                if tls.write_tls(stream).is_err() {
                    break;
                }
            }
        }
        true
    }
}
