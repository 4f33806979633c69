//! One TLS connection seen from the event loop: rustls's unbuffered server connection and two
//! fixed buffers, allocated when the connection is accepted and never grown.
//!
//! The loop reads socket bytes into [`Session::input_space`], calls [`Session::decrypt`] to
//! get the plaintext of every complete record (and to move the handshake along), feeds that
//! plaintext to the core, hands the core's output to [`Session::encrypt`], and writes
//! [`Session::output`] to the socket. No call blocks or touches a socket.
//!
//! # The rules the buffers follow
//!
//! - *Received bytes*: [`IN_BUF`] holds one record of the largest size TLS allows, so any
//!   record fits; a peer that fills it without completing a record is refused.
//! - *Bytes to send*: [`OUT_BUF`] holds two of the records chatd sends (it caps its records at
//!   [`MAX_FRAGMENT`] bytes of plaintext, rustls's `max_fragment_size`). rustls hands out
//!   handshake records one by one and drops one that does not fit, so this module asks rustls
//!   for more only while a whole record of ours still fits: otherwise it *stalls* until the
//!   loop has written some out.
//! - *Plaintext out of [`Session::decrypt`]*: every complete record in the received buffer is
//!   decrypted in one call, so the plaintext fits in a buffer of [`PLAIN_BUF`] bytes (one per
//!   daemon, not per connection), and afterwards no complete record waits: the next
//!   [`Session::encrypt`] finds rustls ready to write, even in the middle of feeding that
//!   plaintext to the core.
//!
//! # Allocation
//!
//! rustls 0.23's unbuffered API still allocates once per record: a decrypted record is handed
//! out of a `Vec`, and an encrypted one is built in a `Vec` before it is copied into
//! [`OUT_BUF`]. chatd keeps that to one allocation per record each way by coalescing a
//! client's pending output into records of up to [`MAX_FRAGMENT`] bytes;
//! `daemon/tests/tls_alloc.rs` measures it. The plain-text path allocates nothing.

use std::fmt;
use std::sync::Arc;

use rustls::server::{ServerConfig, UnbufferedServerConnection};
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};

/// The most plaintext chatd puts in one record it sends.
pub const MAX_FRAGMENT: usize = 8192;

/// The most bytes one record chatd sends takes: the 5-byte header, the plaintext, and what the
/// cipher adds (at most 29 bytes in every suite rustls offers; 64 leaves room).
pub const MAX_SENT_RECORD: usize = MAX_FRAGMENT + 64;

/// The most bytes one record from a client may take: the header and 2^14 + 256 bytes of
/// ciphertext, TLS 1.3's limit (TLS 1.2 records of the AEAD suites rustls offers are smaller).
pub const MAX_RECEIVED_RECORD: usize = 5 + 16384 + 256;

/// Size of a session's buffer of received TLS bytes: one record of the largest size.
pub const IN_BUF: usize = MAX_RECEIVED_RECORD;

/// Size of a session's buffer of TLS bytes to send: two records of chatd's.
pub const OUT_BUF: usize = 2 * MAX_SENT_RECORD;

/// Size of the plaintext buffer [`Session::decrypt`] needs: never more than it received.
pub const PLAIN_BUF: usize = IN_BUF;

/// The record type of a handshake record, the first byte of every TLS connection.
const HANDSHAKE_RECORD: u8 = 0x16;

/// Bounds each loop over rustls's states (a handful of states is all one call can need).
const MAX_STEPS: usize = 64;

/// Why a session cannot go on; the loop closes the connection.
#[derive(Debug)]
pub enum SessionError {
    /// The first byte is not a TLS handshake record: plain text reached a TLS port.
    NotTls,
    /// rustls refused what the peer sent, or the handshake failed.
    Tls(rustls::Error),
    /// The peer filled the receive buffer without completing a record.
    RecordTooLarge,
    /// A record of ours did not fit the send buffer (cannot happen; it is sized for two).
    OutputTooSmall,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::NotTls => f.write_str("not TLS (plain text on a TLS port?)"),
            SessionError::Tls(e) => write!(f, "{e}"),
            SessionError::RecordTooLarge => f.write_str("a TLS record larger than TLS allows"),
            SessionError::OutputTooSmall => f.write_str("a TLS record too large to send"),
        }
    }
}

impl std::error::Error for SessionError {}

/// What one [`Session::decrypt`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decrypted {
    /// Bytes of plaintext written to the buffer given.
    pub plain: usize,
    /// The handshake finished during this call.
    pub established: bool,
    /// The peer sent `close_notify`: nothing more will come.
    pub peer_closed: bool,
}

/// One TLS connection: rustls's state and the fixed buffers.
pub struct Session {
    conn: UnbufferedServerConnection,
    inbuf: Box<[u8]>,
    in_len: usize,
    outbuf: Box<[u8]>,
    out_start: usize,
    out_end: usize,
    established: bool,
    /// Input waits until the output has room (see the module doc).
    stalled: bool,
    /// A record was decrypted while writing; [`Session::decrypt`] hands it out.
    input_waiting: bool,
    /// `close_notify` came while writing and was not reported yet.
    peer_closed_unreported: bool,
    peer_closed: bool,
    close_sent: bool,
    failed: bool,
    first_byte_checked: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("established", &self.established)
            .field("in_len", &self.in_len)
            .field("out", &(self.out_end - self.out_start))
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Start a server session with `config`, allocating its buffers.
    pub fn new(config: Arc<ServerConfig>) -> Result<Session, rustls::Error> {
        Ok(Session {
            conn: UnbufferedServerConnection::new(config)?,
            inbuf: vec![0; IN_BUF].into_boxed_slice(),
            in_len: 0,
            outbuf: vec![0; OUT_BUF].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            established: false,
            stalled: false,
            input_waiting: false,
            peer_closed_unreported: false,
            peer_closed: false,
            close_sent: false,
            failed: false,
            first_byte_checked: false,
        })
    }

    /// Return whether the handshake is done (application data flows).
    pub fn is_established(&self) -> bool {
        self.established
    }

    /// Return the free part of the receive buffer, to read socket bytes into; empty while the
    /// session is stalled (its input waits for output room) or failed.
    pub fn input_space(&mut self) -> &mut [u8] {
        if self.stalled || self.failed {
            return &mut [];
        }
        &mut self.inbuf[self.in_len..]
    }

    /// Record that `n` bytes were read into [`Session::input_space`].
    pub fn received(&mut self, n: usize) {
        self.in_len = (self.in_len + n).min(IN_BUF);
    }

    /// Return whether [`Session::decrypt`] has work that no socket event will announce: input
    /// that stalled and now has room, or a record decrypted while writing.
    pub fn wants_decrypt(&self) -> bool {
        !self.failed
            && (self.input_waiting
                || self.peer_closed_unreported
                || (self.stalled && self.out_room() >= MAX_SENT_RECORD))
    }

    /// Return whether input waits for the output to be written.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// Return the TLS bytes waiting to be sent.
    pub fn output(&self) -> &[u8] {
        &self.outbuf[self.out_start..self.out_end]
    }

    /// Record that the first `n` bytes of [`Session::output`] were sent.
    pub fn sent(&mut self, n: usize) {
        self.out_start = (self.out_start + n).min(self.out_end);
        if self.out_start == self.out_end {
            self.out_start = 0;
            self.out_end = 0;
        }
    }

    /// Return the room left for records after moving unsent bytes to the front.
    fn out_room(&self) -> usize {
        OUT_BUF - (self.out_end - self.out_start)
    }

    fn compact_output(&mut self) {
        if self.out_start > 0 {
            self.outbuf.copy_within(self.out_start..self.out_end, 0);
            self.out_end -= self.out_start;
            self.out_start = 0;
        }
    }

    /// Drop the first `n` received bytes, as rustls asks after each step.
    fn discard(&mut self, n: usize) {
        let n = n.min(self.in_len);
        if n > 0 {
            self.inbuf.copy_within(n..self.in_len, 0);
            self.in_len -= n;
        }
    }

    /// Move the handshake along and decrypt every complete record received, writing the
    /// plaintext to `plain` ([`PLAIN_BUF`] bytes always suffice). Handshake records to send
    /// land in [`Session::output`].
    pub fn decrypt(&mut self, plain: &mut [u8]) -> Result<Decrypted, SessionError> {
        let mut d = Decrypted {
            peer_closed: std::mem::take(&mut self.peer_closed_unreported),
            ..Decrypted::default()
        };
        if self.failed {
            return Err(SessionError::Tls(rustls::Error::HandshakeNotComplete));
        }
        if !self.first_byte_checked && self.in_len > 0 {
            self.first_byte_checked = true;
            if self.inbuf[0] != HANDSHAKE_RECORD {
                self.failed = true;
                return Err(SessionError::NotTls);
            }
        }
        self.input_waiting = false;
        self.stalled = false;
        for _ in 0..MAX_STEPS {
            self.compact_output();
            if self.out_room() < MAX_SENT_RECORD {
                self.stalled = true;
                return Ok(d);
            }
            let UnbufferedStatus { mut discard, state } = self
                .conn
                .process_tls_records(&mut self.inbuf[..self.in_len]);
            let mut done = false;
            let mut trouble = None;
            match state {
                Err(e) => trouble = Some(SessionError::Tls(e)),
                Ok(ConnectionState::ReadTraffic(mut records)) => {
                    while let Some(len) = records.peek_len() {
                        if len.get() > plain.len() - d.plain {
                            // Cannot happen with PLAIN_BUF; hand out what there is first.
                            self.input_waiting = true;
                            done = true;
                            break;
                        }
                        match records.next_record() {
                            Some(Ok(record)) => {
                                discard += record.discard;
                                let end = d.plain + record.payload.len();
                                plain[d.plain..end].copy_from_slice(record.payload);
                                d.plain = end;
                            }
                            Some(Err(e)) => {
                                trouble = Some(SessionError::Tls(e));
                                break;
                            }
                            None => break,
                        }
                    }
                }
                Ok(ConnectionState::EncodeTlsData(mut data)) => {
                    match data.encode(&mut self.outbuf[self.out_end..]) {
                        Ok(n) => self.out_end += n,
                        Err(EncodeError::InsufficientSize(_)) => {
                            trouble = Some(SessionError::OutputTooSmall)
                        }
                        Err(EncodeError::AlreadyEncoded) => {}
                    }
                }
                // The records are in our buffer: the loop writes them out after this call.
                Ok(ConnectionState::TransmitTlsData(data)) => data.done(),
                Ok(ConnectionState::BlockedHandshake) => {
                    if self.in_len == IN_BUF {
                        trouble = Some(SessionError::RecordTooLarge);
                    }
                    done = true;
                }
                Ok(ConnectionState::WriteTraffic(_)) => {
                    if !self.established {
                        self.established = true;
                        d.established = true;
                    }
                    if self.in_len == IN_BUF {
                        trouble = Some(SessionError::RecordTooLarge);
                    }
                    done = true;
                }
                Ok(ConnectionState::PeerClosed | ConnectionState::Closed) => {
                    self.peer_closed = true;
                    d.peer_closed = true;
                    done = true;
                }
                // Early data is off (max_early_data_size 0), and future states are not ours.
                Ok(_) => trouble = Some(SessionError::Tls(rustls::Error::HandshakeNotComplete)),
            }
            self.discard(discard);
            if let Some(e) = trouble {
                self.fail();
                return Err(e);
            }
            if done {
                return Ok(d);
            }
        }
        Ok(d)
    }

    /// After an error, put the fatal alert rustls queued (if any) into [`Session::output`],
    /// best effort, and refuse everything from now on.
    ///
    /// rustls queues one alert; the next `process_tls_records` hands it out before it looks at
    /// the input again. Only that one call is made: another would parse the bad input anew.
    fn fail(&mut self) {
        self.failed = true;
        self.compact_output();
        if self.out_room() < MAX_SENT_RECORD {
            return;
        }
        let UnbufferedStatus { state, .. } = self
            .conn
            .process_tls_records(&mut self.inbuf[..self.in_len]);
        if let Ok(ConnectionState::EncodeTlsData(mut data)) = state {
            if let Ok(n) = data.encode(&mut self.outbuf[self.out_end..]) {
                self.out_end += n;
            }
        }
    }

    /// Encrypt up to [`MAX_FRAGMENT`] bytes of `plain` as one record into
    /// [`Session::output`]; return how many were taken (0: not now — the handshake is not
    /// done, the output is full, or input must be decrypted first).
    pub fn encrypt(&mut self, plain: &[u8]) -> Result<usize, SessionError> {
        if self.failed || !self.established || self.close_sent || plain.is_empty() {
            return Ok(0);
        }
        self.with_write_traffic(|w, out| {
            let n = plain.len().min(MAX_FRAGMENT);
            match w.encrypt(&plain[..n], out) {
                Ok(k) => Ok((n, k)),
                Err(EncryptError::InsufficientSize(_)) => Ok((0, 0)),
                Err(EncryptError::EncryptExhausted) => {
                    Err(SessionError::Tls(rustls::Error::EncryptError))
                }
            }
        })
    }

    /// Put a `close_notify` alert into [`Session::output`] (once), so that the client knows the
    /// connection ended on purpose; return whether it is there.
    pub fn close_notify(&mut self) -> bool {
        if self.close_sent {
            return true;
        }
        if self.failed || !self.established {
            return false;
        }
        let queued = self.with_write_traffic(|w, out| match w.queue_close_notify(out) {
            Ok(k) => Ok((1, k)),
            Err(_) => Ok((0, 0)),
        });
        self.close_sent = matches!(queued, Ok(1));
        self.close_sent
    }

    /// Reach rustls's `WriteTraffic` state (writing out any handshake or post-handshake records
    /// it has first) and run `write` on it with the free part of the output buffer; `write`
    /// returns (its result, bytes it wrote). 0 when rustls is not ready to write.
    fn with_write_traffic(
        &mut self,
        mut write: impl FnMut(
            &mut rustls::unbuffered::WriteTraffic<'_, rustls::server::ServerConnectionData>,
            &mut [u8],
        ) -> Result<(usize, usize), SessionError>,
    ) -> Result<usize, SessionError> {
        for _ in 0..MAX_STEPS {
            self.compact_output();
            if self.out_room() < MAX_SENT_RECORD {
                return Ok(0);
            }
            let UnbufferedStatus { discard, state } = self
                .conn
                .process_tls_records(&mut self.inbuf[..self.in_len]);
            let mut result = None;
            match state {
                Err(e) => result = Some(Err(SessionError::Tls(e))),
                Ok(ConnectionState::WriteTraffic(mut w)) => {
                    result = Some(write(&mut w, &mut self.outbuf[self.out_end..]).map(
                        |(taken, wrote)| {
                            self.out_end += wrote;
                            taken
                        },
                    ));
                }
                Ok(ConnectionState::EncodeTlsData(mut data)) => {
                    match data.encode(&mut self.outbuf[self.out_end..]) {
                        Ok(n) => self.out_end += n,
                        Err(EncodeError::InsufficientSize(_)) => {
                            result = Some(Err(SessionError::OutputTooSmall))
                        }
                        Err(EncodeError::AlreadyEncoded) => {}
                    }
                }
                Ok(ConnectionState::TransmitTlsData(data)) => data.done(),
                Ok(ConnectionState::ReadTraffic(_)) => {
                    // A record is waiting (input stalled for room): decrypt it first. rustls
                    // keeps it until then.
                    self.input_waiting = true;
                    result = Some(Ok(0));
                }
                Ok(ConnectionState::PeerClosed) => {
                    // Reported once by rustls: keep it for the next decrypt.
                    self.peer_closed = true;
                    self.peer_closed_unreported = true;
                }
                Ok(_) => result = Some(Ok(0)),
            }
            self.discard(discard);
            if let Some(r) = result {
                if r.is_err() {
                    self.fail();
                }
                return r;
            }
        }
        Ok(0)
    }
}

#[cfg(test)]
mod test;
