//! Bytes arriving on a test's socket, read with a deadline and cut into lines, in plain text or
//! through TLS (and bytes sent the same way).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use rustls::ClientConnection;

/// What a test client has received: every byte, those not yet returned as a line, and whether
/// the server closed (or reset) the connection.
#[derive(Debug, Default)]
pub(crate) struct Incoming {
    /// Bytes received and not yet returned as a line.
    buf: Vec<u8>,
    /// Every byte received.
    pub(crate) raw: Vec<u8>,
    /// The server closed (or reset) the connection.
    pub(crate) closed: bool,
    /// The TLS layer, for a client that connected with TLS.
    pub(crate) tls: Option<Box<ClientConnection>>,
}

impl Incoming {
    /// Return the next whole line received, with its `\n` removed (and nothing else).
    pub(crate) fn take_line(&mut self) -> Option<Vec<u8>> {
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
