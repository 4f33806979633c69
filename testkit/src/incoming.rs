//! Bytes arriving on a test's socket, read with a deadline and cut into lines.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

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
}
