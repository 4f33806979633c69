//! The connection to chatd, in plain text or TLS: connecting, reading lines, sending lines,
//! and joining. Only [`Connection::open`], [`Connection::fd`], [`Connection::send`] and
//! [`Connection::fill`] touch the socket; TLS lives in [`crate::tls`].
//!
//! Lines are parsed only by [`chat_core::ServerLine::parse`]; this module knows the joining
//! steps of `docs/PROTOCOL.md` (password, name, `WELCOME`) and nothing else of the protocol.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use chat_core::commands::Command;
use chat_core::wire::{Ask, ByeCode, Code, ErrCode};
use chat_core::ServerLine;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::error::Error;
use crate::known_hosts::{self, KnownHosts};
use crate::lines::LineBuffer;
use crate::tls::{self, Security};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server may stay silent while we join.
const JOIN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a write may block before the connection counts as lost.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// A line longer than this (a broken server) is cut here.
const MAX_IN_LINE: usize = 64 * 1024;

/// Where to connect: a host name or address, a port, and whether to speak TLS.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name, IPv4 or IPv6 address (brackets allowed around IPv6).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Plain text or TLS, and how to trust the server's certificate.
    pub security: Security,
    /// The TLS port the server announced on the local network (mDNS `tls=`), if it was found
    /// there: where a TLS connection goes.
    pub tls_port: Option<u16>,
}

impl Target {
    /// Make a target, dropping brackets around an IPv6 address.
    pub fn new(host: &str, port: u16) -> Target {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        Target {
            host: host.to_string(),
            port,
            security: Security::default(),
            tls_port: None,
        }
    }

    /// Return the target with `security`; with TLS, a server found on the local network is
    /// reached on the TLS port it announced.
    pub fn with_security(mut self, security: Security) -> Target {
        if let (Security::Tls(_), Some(port)) = (&security, self.tls_port) {
            self.port = port;
        }
        self.security = security;
        self
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// An open connection and the bytes received but not yet cut into lines.
pub struct Connection {
    stream: TcpStream,
    /// The TLS layer, for a TLS target.
    tls: Option<Box<rustls::ClientConnection>>,
    lines: LineBuffer,
    target: String,
    /// Something to tell the user once (a first TLS contact's fingerprint).
    notice: Option<String>,
}

impl Connection {
    /// Connect to the first address of `target` that answers, and run the TLS handshake if
    /// it asks for TLS. Plain text to a host chatc has spoken TLS to is refused, unless forced.
    pub fn open(target: &Target) -> Result<Connection, Error> {
        let name = target.to_string();
        if target.security == (Security::Plain { forced: false })
            && KnownHosts::load(known_hosts::default_path()).knows_host(&target.host)
        {
            return Err(Error::Downgrade {
                target: name,
                host: target.host.clone(),
            });
        }
        let addrs = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|err| Error::Resolve {
                target: name.clone(),
                err,
            })?;
        let mut last = io::Error::new(ErrorKind::NotFound, "no address found");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
                    let _ = stream.set_nodelay(true);
                    let mut conn = Connection {
                        stream,
                        tls: None,
                        lines: LineBuffer::new(MAX_IN_LINE),
                        target: name,
                        notice: None,
                    };
                    if let Security::Tls(trust) = &target.security {
                        let done = tls::handshake(
                            &conn.stream,
                            &target.host,
                            &conn.target,
                            trust,
                            JOIN_TIMEOUT,
                        )?;
                        conn.tls = Some(Box::new(done.conn));
                        conn.notice = done.notice;
                        // Lines that came with the end of the handshake are already in rustls.
                        conn.take_plaintext();
                    }
                    return Ok(conn);
                }
                Err(err) => last = err,
            }
        }
        Err(Error::Connect {
            target: name,
            err: last,
        })
    }

    /// Return the socket, for `poll`.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    /// Return the error for a broken connection.
    pub fn lost(&self) -> Error {
        Error::Lost {
            target: self.target.clone(),
        }
    }

    /// Return what to tell the user about this connection, once (a first TLS contact).
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    /// Send one line (a `\n` is added).
    pub fn send(&mut self, line: &str) -> Result<(), Error> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let Some(tls) = self.tls.as_mut() else {
            return self.stream.write_all(&bytes).map_err(|_| self.lost());
        };
        let mut sent = tls.writer().write_all(&bytes);
        while sent.is_ok() && tls.wants_write() {
            sent = tls.write_tls(&mut self.stream).map(|_| ());
        }
        sent.map_err(|_| self.lost())
    }

    /// Move the plaintext rustls has decrypted into the line buffer; return false once the
    /// server has ended the TLS session (or it broke).
    fn take_plaintext(&mut self) -> bool {
        let Some(tls) = self.tls.as_mut() else {
            return true;
        };
        let mut chunk = [0u8; 8192];
        for _ in 0..64 {
            match tls.reader().read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => self.lines.push(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
        true
    }

    /// Read what has arrived (call when `poll` says the socket is readable).
    ///
    /// Return false when the server has closed the connection or it broke.
    pub fn fill(&mut self) -> bool {
        if let Some(tls) = self.tls.as_mut() {
            // One read of the socket (it is readable, so this does not block), then every
            // record it completed; nothing decrypted stays inside rustls, where poll cannot
            // see it.
            let read = loop {
                match tls.read_tls(&mut self.stream) {
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let open = matches!(read, Ok(n) if n > 0);
            if tls.process_new_packets().is_err() {
                let _ = self.take_plaintext();
                return false;
            }
            while tls.wants_write() {
                if tls.write_tls(&mut self.stream).is_err() {
                    break;
                }
            }
            return self.take_plaintext() && open;
        }
        let mut chunk = [0u8; 8192];
        for _ in 0..16 {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.lines.push(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Cut the next complete line off the buffer (without its `\n`), as UTF-8.
    pub fn next_line(&mut self) -> Option<String> {
        self.lines.next_line()
    }

    /// Wait for the next line until `deadline`.
    ///
    /// Return `Ok(None)` if the connection closed, an error on timeout.
    pub fn read_line(&mut self, deadline: Instant) -> Result<Option<String>, Error> {
        for _ in 0..100_000 {
            if let Some(line) = self.next_line() {
                return Ok(Some(line));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout {
                    target: self.target.clone(),
                });
            }
            let ms = u16::try_from(left.as_millis().min(10_000)).unwrap_or(10_000);
            let mut fds = [PollFd::new(self.fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => {}
                Err(e) => return Err(Error::Io(e.into())),
            }
            if !self.fill() {
                return Ok(self.lines.finish());
            }
        }
        Err(Error::Timeout {
            target: self.target.clone(),
        })
    }
}

/// Return the line chatc sends to leave, as the core writes the command.
pub fn quit_line() -> String {
    Command::Quit(None).to_string()
}

/// Return true if a `BYE` code says the server closed because we asked to leave.
pub fn is_quit(code: Code<'_, ByeCode>) -> bool {
    matches!(code, Code::Known(ByeCode::Quit))
}

/// Who to join as.
#[derive(Debug, Clone)]
pub struct Login {
    /// The name to ask for; updated to the name actually joined under.
    pub name: String,
    /// The password, once known (from a file, the environment or a prompt).
    pub password: Option<String>,
}

/// How to get what the server asks for when chatc does not have it.
pub trait Asker {
    /// Get a password, or fail (e.g. with [`Error::NeedPassword`]).
    fn password(&mut self) -> Result<String, Error>;
    /// Get another name after `name` was refused for `why`, or fail.
    fn rename(&mut self, name: &str, code: ErrCode, why: &str) -> Result<String, Error>;
}

/// How many times the server may refuse a name before joining gives up.
const MAX_NAME_TRIES: u32 = 10;

/// Join: answer `ASK PASSWORD` and `ASK NAME` until `WELCOME`.
///
/// Return the lines worth showing that the handshake consumed (`HELLO`, `WELCOME`); the lines
/// after `WELCOME` stay buffered in `conn`.
pub fn join(
    conn: &mut Connection,
    login: &mut Login,
    asker: &mut dyn Asker,
) -> Result<Vec<String>, Error> {
    let mut shown = Vec::new();
    let mut refusals = 0;
    let mut deadline = Instant::now() + JOIN_TIMEOUT;
    for _ in 0..1000 {
        let Some(raw) = conn.read_line(deadline)? else {
            return Err(conn.lost());
        };
        let Ok(line) = ServerLine::parse(&raw) else {
            continue;
        };
        match line {
            ServerLine::Hello { .. } => shown.push(raw.clone()),
            ServerLine::Ask {
                what: Ask::Password,
                ..
            } => {
                let pw = match &login.password {
                    Some(p) => p.clone(),
                    None => asker.password()?,
                };
                login.password = Some(pw.clone());
                conn.send(&pw)?;
                deadline = Instant::now() + JOIN_TIMEOUT;
            }
            ServerLine::Ask {
                what: Ask::Name, ..
            } => {
                conn.send(&login.name)?;
                deadline = Instant::now() + JOIN_TIMEOUT;
            }
            ServerLine::Err { code, text } => {
                let Code::Known(code) = code else {
                    continue;
                };
                if !matches!(code, ErrCode::NameTaken | ErrCode::NameInvalid) {
                    continue;
                }
                refusals += 1;
                if refusals > MAX_NAME_TRIES {
                    return Err(Error::NameTaken(login.name.clone()));
                }
                login.name = asker.rename(&login.name, code, text)?;
                deadline = Instant::now() + JOIN_TIMEOUT;
            }
            ServerLine::Welcome { name, .. } => {
                login.name = name.to_string();
                shown.push(raw.clone());
                return Ok(shown);
            }
            ServerLine::Bye { code, text } => {
                return Err(match code {
                    Code::Known(ByeCode::Password) => {
                        login.password = None;
                        Error::WrongPassword(crate::sanitize::clean(text))
                    }
                    _ => Error::Bye {
                        code: crate::sanitize::clean(code.as_str()),
                        text: crate::sanitize::clean(text),
                    },
                });
            }
            ServerLine::Shutdown { text, .. } => {
                return Err(Error::Shutdown(crate::sanitize::clean(text)))
            }
            _ => {}
        }
    }
    Err(Error::Timeout {
        target: conn.target.clone(),
    })
}

/// An [`Asker`] for when nobody can be asked: no password, no second name.
pub struct NoAsker;

impl Asker for NoAsker {
    fn password(&mut self) -> Result<String, Error> {
        Err(Error::NeedPassword)
    }
    fn rename(&mut self, name: &str, code: ErrCode, why: &str) -> Result<String, Error> {
        Err(match code {
            ErrCode::NameTaken => Error::NameTaken(name.to_string()),
            _ => Error::NameInvalid {
                name: name.to_string(),
                text: crate::sanitize::clean(why),
            },
        })
    }
}

/// The waits between reconnection attempts: 1, 2, 4, 8, 16, then 30 seconds, a bounded number
/// of times.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    attempts: u32,
}

/// Reconnection attempts before giving up (about 20 minutes).
pub const MAX_ATTEMPTS: u32 = 45;

impl Backoff {
    /// Return the wait before the next attempt, or `None` once the attempts are used up.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.attempts >= MAX_ATTEMPTS {
            return None;
        }
        let secs = 1u64.checked_shl(self.attempts).unwrap_or(u64::MAX).min(30);
        self.attempts += 1;
        Some(Duration::from_secs(secs))
    }

    /// Return how many attempts were made.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds_and_ends() {
        let mut b = Backoff::default();
        let first: Vec<u64> = (0..7)
            .filter_map(|_| b.next_delay())
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(first, [1, 2, 4, 8, 16, 30, 30]);
        let rest = (0..100).filter_map(|_| b.next_delay()).count();
        assert_eq!(rest as u32 + 7, MAX_ATTEMPTS);
        assert_eq!(b.attempts(), MAX_ATTEMPTS);
    }

    #[test]
    fn the_quit_line_is_the_cores_quit_command() {
        assert_eq!(Command::parse(&quit_line()), Command::Quit(None));
        assert!(is_quit(Code::Known(ByeCode::Quit)));
        assert!(!is_quit(Code::Known(ByeCode::Flood)));
        assert!(!is_quit(Code::Other("quit-later")));
    }

    #[test]
    fn targets_print_ipv6_in_brackets() {
        assert_eq!(
            Target::new("192.168.1.10", 5000).to_string(),
            "192.168.1.10:5000"
        );
        assert_eq!(Target::new("::1", 5000).to_string(), "[::1]:5000");
        assert_eq!(Target::new("[::1]", 7).host, "::1");
        assert_eq!(Target::new("chat.lan", 5000).to_string(), "chat.lan:5000");
    }
}
