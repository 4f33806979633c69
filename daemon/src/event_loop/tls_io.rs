//! The TLS side of the event loop: read into a connection's [`crate::tls::Session`], feed the
//! plaintext to the core, encrypt the core's output into records, and turn away what is not
//! TLS — plain text on a TLS port, a TLS handshake on a plain-text port, and (with
//! `--plain refuse`) every plain-text client.
//!
//! Each turn of the loop writes out every connection ([`Daemon::write_tls`] for TLS ones),
//! then runs [`Daemon::tls_backlog`]: input that stalled while the output was full, which no
//! socket event will announce again.

use std::io::IoSlice;

use chat_core::irc::ClosingLink;
use chat_core::wire::{ByeCode, Code};
use chat_core::{CloseReason, Dialect, Now, ServerLine};
use log::{debug, info, warn};
use nix::sys::epoll::EpollFlags;

use super::{Daemon, READ_BUDGET};
use crate::socket::{self, Sock};
use crate::tls::session::MAX_FRAGMENT;
use crate::tls::SessionError;

/// Write rounds per connection per turn (each moves up to two records).
const WRITE_ROUNDS: usize = 32;

/// One line for each dialect, made once at start.
#[derive(Debug)]
pub(super) struct PerDialect {
    native: Vec<u8>,
    irc: Vec<u8>,
}

impl PerDialect {
    /// Make the line of each dialect with `make`.
    pub(super) fn new(mut make: impl FnMut(Dialect) -> Vec<u8>) -> PerDialect {
        PerDialect {
            native: make(Dialect::Native),
            irc: make(Dialect::Irc),
        }
    }

    /// Return the line for `dialect`.
    pub(super) fn get(&self, dialect: Dialect) -> &[u8] {
        match dialect {
            Dialect::Native => &self.native,
            Dialect::Irc => &self.irc,
        }
    }
}

/// Render a closing line in `dialect`: `BYE tls TEXT` with its newline, or IRC's `ERROR
/// :Closing link: TEXT` with its CR LF.
fn closing(dialect: Dialect, text: &str) -> Vec<u8> {
    match dialect {
        Dialect::Native => {
            let line = ServerLine::Bye {
                code: Code::Known(ByeCode::Tls),
                text,
            };
            format!("{line}\n").into_bytes()
        }
        Dialect::Irc => ClosingLink(text).to_string().into_bytes(),
    }
}

/// The line a plain-text client of `dialect` gets from a server that refuses plain text.
pub(super) fn plain_refused_line(dialect: Dialect, tls_port: Option<u16>) -> Vec<u8> {
    let text = match (dialect, tls_port) {
        (Dialect::Native, Some(p)) => format!(
            "This server takes encrypted connections only: connect with chatc --tls -p {p}."
        ),
        (Dialect::Native, None) => {
            "This server takes encrypted connections only: connect with chatc --tls.".into()
        }
        (Dialect::Irc, Some(p)) => {
            format!("This server takes encrypted connections only: connect with TLS to port {p}.")
        }
        (Dialect::Irc, None) => "This server takes encrypted connections only.".into(),
    };
    closing(dialect, &text)
}

/// The line plain text on a TLS port of `dialect` gets.
pub(super) fn not_tls_line(dialect: Dialect, plain_port: Option<u16>) -> Vec<u8> {
    let text = match (dialect, plain_port) {
        (Dialect::Native, Some(p)) => format!(
            "This port speaks TLS: connect with chatc --tls, or use port {p} for plain text."
        ),
        (Dialect::Native, None) => "This port speaks TLS: connect with chatc --tls.".into(),
        (Dialect::Irc, Some(p)) => format!(
            "This port speaks TLS: turn TLS on in your client, or use port {p} for plain text."
        ),
        (Dialect::Irc, None) => "This port speaks TLS: turn TLS on in your client.".into(),
    };
    closing(dialect, &text)
}

/// Return whether the first bytes from a plain-text client are a TLS ClientHello: a handshake
/// record (type 22) of TLS version 3.x. No text line starts so: byte 22 is a control character.
pub(super) fn looks_like_tls(first: &[u8]) -> bool {
    matches!(first, [0x16] | [0x16, 0x03, ..])
}

impl Daemon {
    /// Read what a TLS connection sent, decrypt it and feed the plaintext to the core, within
    /// the same read budget as plain text.
    pub(super) fn on_tls_conn(&mut self, now: Now, idx: usize, flags: EpollFlags) {
        if !flags.intersects(EpollFlags::EPOLLIN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR) {
            return;
        }
        let mut done = 0;
        while done < READ_BUDGET {
            let Some(c) = self.conns.get_mut(idx).and_then(Option::as_mut) else {
                return;
            };
            let id = c.id;
            let Some(session) = c.tls.as_mut().filter(|_| c.closing_until.is_none()) else {
                return;
            };
            let space = session.input_space();
            let room = space.len();
            if room == 0 {
                // Stalled until its output drains; EPOLLIN is off meanwhile.
                return;
            }
            let n = match Sock(&c.stream).read(space) {
                Ok(0) => {
                    self.forget(idx);
                    self.server.closed(now, id, CloseReason::Eof);
                    return;
                }
                Ok(n) => n.min(room),
                Err(nb::Error::WouldBlock) => return,
                Err(nb::Error::Other(e)) => {
                    self.forget(idx);
                    self.server.closed(now, id, socket::close_reason(&e));
                    return;
                }
            };
            session.received(n);
            done += n;
            if !self.tls_input(now, idx) || n < room {
                return;
            }
        }
    }

    /// Decrypt what a connection's session holds and feed the plaintext to the core; return
    /// whether the connection is still open.
    pub(super) fn tls_input(&mut self, now: Now, idx: usize) -> bool {
        for _ in 0..4 {
            let Some(c) = self.conns.get_mut(idx).and_then(Option::as_mut) else {
                return false;
            };
            let id = c.id;
            let Some(session) = c.tls.as_mut() else {
                return false;
            };
            let d = match session.decrypt(&mut self.plain_buf) {
                Ok(d) => d,
                Err(e) => {
                    self.tls_failed(now, idx, &e);
                    return false;
                }
            };
            if d.established {
                if let Some(peer) = self.server.peer(id) {
                    debug!(target: "chatd", "tls-established peer={peer} conn={idx}");
                }
            }
            if d.plain > 0 {
                self.feed(now, id, d.plain, true);
            }
            let open = self
                .conns
                .get(idx)
                .and_then(Option::as_ref)
                .filter(|c| c.id == id);
            if d.peer_closed && open.is_some() {
                self.forget(idx);
                self.server.closed(now, id, CloseReason::Eof);
                return false;
            }
            match open.and_then(|c| c.tls.as_ref()).map(|t| t.wants_decrypt()) {
                None => return false,
                Some(false) => return true,
                Some(true) => {}
            }
        }
        true
    }

    /// Close a connection whose TLS failed: plain text on a TLS port is told where to go, a
    /// failed handshake gets the alert rustls wrote. Logged once, as `tls-plain-text` or
    /// `tls-failed`.
    fn tls_failed(&mut self, now: Now, idx: usize, e: &SessionError) {
        let Some(c) = self.take_conn(idx) else {
            return;
        };
        let _ = self.epoll.delete(&c.stream);
        let peer = self.server.peer(c.id);
        let peer = peer.map_or_else(String::new, |p| p.to_string());
        match e {
            SessionError::NotTls => {
                info!(target: "chatd", "tls-plain-text peer={peer} conn={idx}");
                let dialect = self.server.dialect(c.id).unwrap_or(Dialect::Native);
                let line = self.not_tls_lines.get(dialect);
                let _ = socket::send_vectored(&c.stream, &[IoSlice::new(line)]);
            }
            e => {
                info!(target: "chatd", "tls-failed peer={peer} conn={idx} error=\"{e}\"");
                if let Some(s) = c.tls.as_ref().filter(|s| !s.output().is_empty()) {
                    let _ = socket::send_vectored(&c.stream, &[IoSlice::new(s.output())]);
                }
            }
        }
        socket::drain(&c.stream);
        self.server.closed(now, c.id, CloseReason::Error);
    }

    /// Close a plain-text connection whose first bytes are a TLS handshake. Logged once, as
    /// `tls-on-plain-port`; the client's TLS stack already choked on the plain greeting.
    pub(super) fn tls_on_plain_port(&mut self, now: Now, idx: usize) {
        let Some(c) = self.take_conn(idx) else {
            return;
        };
        let _ = self.epoll.delete(&c.stream);
        if let Some(peer) = self.server.peer(c.id) {
            info!(target: "chatd", "tls-on-plain-port peer={peer} conn={idx}");
        }
        socket::drain(&c.stream);
        self.server.closed(now, c.id, CloseReason::Error);
    }

    /// Encrypt a TLS connection's pending output (gathered into records of up to
    /// [`MAX_FRAGMENT`] bytes), write it, keep its epoll interest in step, and close it if the
    /// core asked and it is done: all written and `close_notify` sent, or never established.
    pub(super) fn write_tls(&mut self, now: Now, idx: usize) {
        let Some(c) = self.conns.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        let id = c.id;
        let closing = c.closing_until;
        let Some(s) = c.tls.as_mut() else {
            return;
        };
        let mut core_empty = false;
        let mut failure = None;
        for _ in 0..WRITE_ROUNDS {
            let mut taken = 0;
            while s.is_established() {
                let mut bufs: [&[u8]; 16] = [&[]; 16];
                let k = self.server.outgoing_vectored(id, &mut bufs);
                if k == 0 {
                    core_empty = true;
                    break;
                }
                let n = if k == 1 || bufs[0].len() >= MAX_FRAGMENT {
                    s.encrypt(bufs[0])
                } else {
                    let mut m = 0;
                    for b in &bufs[..k] {
                        let part = b.len().min(self.stage.len() - m);
                        self.stage[m..m + part].copy_from_slice(&b[..part]);
                        m += part;
                    }
                    s.encrypt(&self.stage[..m])
                };
                match n {
                    Ok(0) => break,
                    Ok(n) => {
                        self.server.consume(id, n);
                        taken += n;
                    }
                    Err(e) => {
                        failure = Some(Err(e));
                        break;
                    }
                }
            }
            if core_empty && closing.is_some() {
                s.close_notify();
            }
            if failure.is_some() || s.output().is_empty() {
                break;
            }
            match socket::send_vectored(&c.stream, &[IoSlice::new(s.output())]) {
                Ok(n) => s.sent(n),
                Err(nb::Error::WouldBlock) => break,
                Err(nb::Error::Other(e)) => {
                    failure = Some(Ok(e));
                    break;
                }
            }
            if !s.output().is_empty() || taken == 0 {
                break;
            }
        }
        match failure {
            Some(Err(e)) => {
                self.tls_failed(now, idx, &e);
                return;
            }
            Some(Ok(e)) => {
                self.write_failed(now, idx, &e);
                return;
            }
            None => {}
        }
        let pending = !s.output().is_empty();
        let want = match closing {
            Some(until) => {
                let done = !s.is_established() || (core_empty && !pending);
                if done || now.instant >= until {
                    self.close_conn(now, idx);
                    return;
                }
                EpollFlags::EPOLLOUT
            }
            None => {
                let mut want = EpollFlags::empty();
                if !s.is_stalled() {
                    want |= EpollFlags::EPOLLIN;
                }
                // Output left in the core after the last round (not blocked by the socket)
                // asks for EPOLLOUT too, which a writable socket answers at once: the next
                // turn writes the rest, as a plain connection's WouldBlock from flush does.
                if pending || (s.is_established() && !core_empty) {
                    want |= EpollFlags::EPOLLOUT;
                }
                want
            }
        };
        c.set_interest(&self.epoll, idx, want);
    }

    /// Decrypt input that waited for output room (no socket event announces it); return
    /// whether any was handled, so the caller writes out again.
    pub(super) fn tls_backlog(&mut self, now: Now) -> bool {
        if self.tls_conns == 0 {
            return false;
        }
        let mut any = false;
        for idx in 0..self.conns.len() {
            let due = self
                .conns
                .get(idx)
                .and_then(Option::as_ref)
                .and_then(|c| c.tls.as_ref())
                .is_some_and(|t| t.wants_decrypt());
            if due {
                any = true;
                self.tls_input(now, idx);
            }
        }
        any
    }

    /// Return whether some TLS connection has input to decrypt that no socket event will
    /// announce (see [`Daemon::tls_backlog`]).
    pub(super) fn tls_due(&self) -> bool {
        self.conns
            .iter()
            .flatten()
            .any(|c| c.tls.as_ref().is_some_and(|t| t.wants_decrypt()))
    }

    /// Re-read the operator's certificate and key (SIGHUP); a bad pair keeps the old one.
    pub(super) fn reload_tls(&mut self) {
        let Some(tls) = self.tls.as_mut() else {
            return;
        };
        match tls.reload() {
            Ok(None) => {}
            Ok(Some(fp)) => {
                let (cert, key) = tls
                    .files()
                    .unwrap_or((std::path::Path::new(""), std::path::Path::new("")));
                info!(target: "chatd", "tls-reloaded fingerprint={fp} cert={} key={}", cert.display(), key.display());
            }
            Err(e) => {
                warn!(target: "chatd", "tls-reload-failed error=\"{e}\"; keeping the old certificate");
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_client_hello_is_told_from_text() {
        assert!(looks_like_tls(b"\x16\x03\x01\x02\x00\x01"));
        assert!(looks_like_tls(b"\x16"));
        assert!(!looks_like_tls(b"ana\n"));
        assert!(!looks_like_tls(b"\x16hello"));
        assert!(!looks_like_tls(b""));
    }

    #[test]
    fn the_lines_are_bye_tls_lines_naming_the_port() {
        for (line, port) in [
            (plain_refused_line(Dialect::Native, Some(5001)), "5001"),
            (not_tls_line(Dialect::Native, Some(5000)), "5000"),
        ] {
            let text = String::from_utf8(line).unwrap_or_default();
            let parsed = ServerLine::parse(text.trim_end()).expect("a server line");
            assert!(
                matches!(parsed, ServerLine::Bye { code: Code::Known(ByeCode::Tls), text }
                    if text.contains(port)),
                "{text}"
            );
        }
    }

    #[test]
    fn irc_clients_get_an_irc_error_line_naming_the_port() {
        for (line, port) in [
            (plain_refused_line(Dialect::Irc, Some(6697)), "6697"),
            (not_tls_line(Dialect::Irc, Some(6667)), "6667"),
        ] {
            let text = String::from_utf8(line).unwrap_or_default();
            assert!(
                text.starts_with("ERROR :Closing link: ") && text.ends_with(".\r\n"),
                "{text:?}"
            );
            assert!(text.contains(port), "{text:?}");
        }
    }
}
