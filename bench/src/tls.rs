//! TLS for the load generator: each client's socket wrapped in a rustls client that accepts
//! any certificate (the benchmark measures the server's cost, on loopback, and checks nothing).
//!
//! The event loop stays the same: [`Tls::send`] takes plaintext and writes what the socket
//! takes, [`Tls::receive`] reads the socket once and returns the plaintext it completed; the
//! handshake moves along inside both, as data comes.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

/// Return the client configuration every benchmark client shares: it accepts any certificate
/// (see [`chat_testkit::any_cert_config`]).
pub fn config() -> Result<Arc<ClientConfig>, rustls::Error> {
    chat_testkit::any_cert_config()
}

/// One client's TLS layer.
pub struct Tls {
    conn: ClientConnection,
}

impl Tls {
    /// Start a client session (the ClientHello goes out with the first [`Tls::send`]).
    pub fn new(config: &Arc<ClientConfig>) -> Result<Tls, rustls::Error> {
        let name =
            ServerName::try_from("localhost").map_err(|_| rustls::Error::General("name".into()))?;
        Ok(Tls {
            conn: ClientConnection::new(Arc::clone(config), name)?,
        })
    }

    /// Hand `plain` to rustls (all of it that its buffer takes) and write records to `stream`
    /// until it would block; return how much of `plain` was taken, and whether records are
    /// still waiting for the socket.
    pub fn send(&mut self, stream: &mut TcpStream, plain: &[u8]) -> io::Result<(usize, bool)> {
        let taken = if plain.is_empty() {
            0
        } else {
            self.conn.writer().write(plain)?
        };
        while self.conn.wants_write() {
            match self.conn.write_tls(stream) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok((taken, true)),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((taken, false))
    }

    /// Read the socket once and append the plaintext it completed to `out`; `Ok(false)` when
    /// the server closed the connection, a `WouldBlock` error when there was nothing to read.
    pub fn receive(&mut self, stream: &mut TcpStream, out: &mut Vec<u8>) -> io::Result<bool> {
        let n = self.conn.read_tls(stream)?;
        self.conn
            .process_new_packets()
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.conn.reader().read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(k) => out.extend_from_slice(&chunk[..k]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(n > 0)
    }
}
