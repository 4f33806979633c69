//! A rustls client in memory against a [`Session`]: handshakes, data both ways, the buffer
//! rules, and what bad input does.
#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use super::*;
use crate::tls::identity::{self, Identity};

fn identity() -> Identity {
    identity::ephemeral().unwrap()
}

fn server(id: &Identity) -> Session {
    Session::new(crate::tls::server_config(id).unwrap()).unwrap()
}

fn client(
    id: &Identity,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ClientConnection {
    let mut roots = RootCertStore::empty();
    roots
        .add(id.certified.end_entity_cert().unwrap().clone())
        .unwrap();
    let config = ClientConfig::builder_with_provider(identity::provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap()).unwrap()
}

struct Pair {
    client: ClientConnection,
    server: Session,
    plain: Vec<u8>,
    /// Plaintext the server decrypted, all calls together.
    got: Vec<u8>,
    established: bool,
    peer_closed: bool,
}

impl Pair {
    fn new(versions: &[&'static rustls::SupportedProtocolVersion]) -> Pair {
        let id = identity();
        Pair {
            client: client(&id, versions),
            server: server(&id),
            plain: vec![0; PLAIN_BUF],
            got: Vec::new(),
            established: false,
            peer_closed: false,
        }
    }

    /// Hand the server the client's pending TLS bytes, in pieces of at most `chunk`.
    fn send_to_server(&mut self, chunk: usize) -> Result<(), SessionError> {
        let mut wire = Vec::new();
        while self.client.wants_write() {
            self.client.write_tls(&mut wire).unwrap();
        }
        self.feed_server(&wire, chunk)
    }

    fn feed_server(&mut self, mut wire: &[u8], chunk: usize) -> Result<(), SessionError> {
        for _ in 0..10_000 {
            if wire.is_empty() {
                return Ok(());
            }
            let space = self.server.input_space();
            let n = space.len().min(chunk).min(wire.len());
            assert!(
                n > 0,
                "the server takes no input (stalled: {})",
                self.server.is_stalled()
            );
            space[..n].copy_from_slice(&wire[..n]);
            self.server.received(n);
            wire = &wire[n..];
            let d = self.server.decrypt(&mut self.plain)?;
            self.got.extend_from_slice(&self.plain[..d.plain]);
            self.established |= d.established;
            self.peer_closed |= d.peer_closed;
        }
        panic!("feeding never ended");
    }

    /// Hand the client the server's pending TLS bytes; return the plaintext it reads.
    fn send_to_client(&mut self) -> Vec<u8> {
        let out = self.server.output().to_vec();
        self.server.sent(out.len());
        let mut rd = &out[..];
        while !rd.is_empty() {
            self.client.read_tls(&mut rd).unwrap();
            self.client.process_new_packets().unwrap();
        }
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.client.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("client read: {e}"),
            }
        }
        text
    }

    fn handshake(&mut self) {
        for _ in 0..10 {
            if self.established && !self.client.is_handshaking() {
                return;
            }
            self.send_to_server(usize::MAX).unwrap();
            self.send_to_client();
        }
        panic!("no handshake");
    }

    /// Encrypt all of `data` on the server, writing out as needed; return what the client read.
    fn server_says(&mut self, data: &[u8]) -> Vec<u8> {
        let mut rest = data;
        let mut seen = Vec::new();
        for _ in 0..10_000 {
            if rest.is_empty() {
                break;
            }
            let n = self.server.encrypt(rest).unwrap();
            rest = &rest[n..];
            if n == 0 {
                seen.extend(self.send_to_client());
            }
        }
        seen.extend(self.send_to_client());
        seen
    }
}

#[test]
fn handshake_then_lines_both_ways_in_tls13_and_tls12() {
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        let mut p = Pair::new(versions);
        assert_eq!(
            p.server.encrypt(b"HELLO early\n").unwrap(),
            0,
            "nothing before the handshake"
        );
        p.handshake();
        assert!(p.server.is_established());
        assert_eq!(p.server_says(b"HELLO chatd/1 hi\n"), b"HELLO chatd/1 hi\n");
        p.client.writer().write_all(b"ana\n").unwrap();
        p.send_to_server(usize::MAX).unwrap();
        assert_eq!(p.got, b"ana\n");
    }
}

#[test]
fn bytes_arriving_one_at_a_time_make_the_same_handshake_and_lines() {
    let mut p = Pair::new(&[&rustls::version::TLS13]);
    for _ in 0..10 {
        if p.established && !p.client.is_handshaking() {
            break;
        }
        p.send_to_server(1).unwrap();
        p.send_to_client();
    }
    assert!(p.server.is_established());
    p.client.writer().write_all(b"one line\n").unwrap();
    p.send_to_server(1).unwrap();
    assert_eq!(p.got, b"one line\n");
}

#[test]
fn every_complete_record_is_decrypted_in_one_call() {
    let mut p = Pair::new(&[&rustls::version::TLS13]);
    p.handshake();
    let mut wire = Vec::new();
    for i in 0..50 {
        // One record per line, as chatc sends them.
        p.client
            .writer()
            .write_all(format!("line {i}\n").as_bytes())
            .unwrap();
        while p.client.wants_write() {
            p.client.write_tls(&mut wire).unwrap();
        }
    }
    let n = wire.len().min(p.server.input_space().len());
    p.server.input_space()[..n].copy_from_slice(&wire[..n]);
    p.server.received(n);
    let d = p.server.decrypt(&mut p.plain).unwrap();
    let text = String::from_utf8(p.plain[..d.plain].to_vec()).unwrap();
    assert!(
        text.starts_with("line 0\nline 1\n") && text.ends_with("line 49\n"),
        "{text}"
    );
    assert!(!p.server.wants_decrypt());
    // Nothing complete waits, so rustls is ready to write at once.
    assert!(p.server.encrypt(b"x").unwrap() == 1);
}

#[test]
fn the_largest_records_a_client_may_send_fit() {
    let mut p = Pair::new(&[&rustls::version::TLS13]);
    p.handshake();
    let big = vec![b'a'; 16384];
    p.client.writer().write_all(&big).unwrap();
    p.client.writer().write_all(&big).unwrap();
    p.send_to_server(usize::MAX).unwrap();
    assert_eq!(p.got.len(), 2 * 16384);
}

#[test]
fn output_is_cut_into_records_of_at_most_max_fragment() {
    let mut p = Pair::new(&[&rustls::version::TLS13]);
    p.handshake();
    let data: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(p.server.encrypt(&data).unwrap(), MAX_FRAGMENT);
    assert_eq!(p.server_says(&data[MAX_FRAGMENT..]), &data[..]);
}

#[test]
fn a_client_that_stops_reading_stalls_input_until_output_is_written() {
    let mut p = Pair::new(&[&rustls::version::TLS13]);
    p.handshake();
    let data = vec![b'x'; 3 * MAX_FRAGMENT];
    // Never written out: the output fills, then encrypt takes nothing.
    let mut taken = 0;
    for _ in 0..10 {
        taken += p.server.encrypt(&data[taken..]).unwrap();
    }
    assert!(taken >= MAX_FRAGMENT && taken < data.len(), "took {taken}");
    assert_eq!(p.server.encrypt(&data[taken..]).unwrap(), 0);
    // Input now waits: it may need room for records of ours.
    p.client.writer().write_all(b"hi\n").unwrap();
    p.send_to_server(usize::MAX).unwrap();
    assert!(p.server.is_stalled());
    assert!(
        p.server.input_space().is_empty(),
        "no reading while stalled"
    );
    assert!(p.got.is_empty());
    assert!(!p.server.wants_decrypt(), "no room yet");
    let out = p.server.output().len();
    p.server.sent(out);
    assert!(p.server.wants_decrypt());
    let d = p.server.decrypt(&mut p.plain).unwrap();
    assert_eq!(&p.plain[..d.plain], b"hi\n");
    assert!(!p.server.is_stalled());
}

#[test]
fn key_updates_from_the_client_keep_the_connection_working() {
    let mut p = Pair::new(&[&rustls::version::TLS13]);
    p.handshake();
    for round in 0..3 {
        p.client.refresh_traffic_keys().unwrap();
        p.client
            .writer()
            .write_all(format!("after update {round}\n").as_bytes())
            .unwrap();
        p.send_to_server(usize::MAX).unwrap();
        // The server answers with a key update of its own before its next record.
        let line = format!("reply {round}\n");
        assert_eq!(p.server_says(line.as_bytes()), line.as_bytes());
    }
    assert_eq!(p.got, b"after update 0\nafter update 1\nafter update 2\n");
}

#[test]
fn close_notify_from_the_client_is_reported_and_the_server_can_answer_it() {
    let mut p = Pair::new(&[&rustls::version::TLS13]);
    p.handshake();
    p.client.send_close_notify();
    p.send_to_server(usize::MAX).unwrap();
    assert!(p.peer_closed);
    assert!(p.server.close_notify());
    p.send_to_client();
    let mut buf = [0u8; 8];
    assert_eq!(p.client.reader().read(&mut buf).unwrap(), 0, "a clean end");
}

#[test]
fn plain_text_is_not_tls() {
    let id = identity();
    let mut s = server(&id);
    let line = b"ana\n";
    s.input_space()[..line.len()].copy_from_slice(line);
    s.received(line.len());
    let mut plain = vec![0; PLAIN_BUF];
    assert!(matches!(s.decrypt(&mut plain), Err(SessionError::NotTls)));
    assert!(
        s.input_space().is_empty(),
        "a failed session takes no more input"
    );
}

#[test]
fn garbage_after_a_handshake_byte_fails_with_an_alert_for_the_peer() {
    let id = identity();
    let mut s = server(&id);
    // A handshake record holding a four-byte ClientHello of nonsense.
    let junk = b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\xde\xad\xbe\xef";
    s.input_space()[..junk.len()].copy_from_slice(junk);
    s.received(junk.len());
    let mut plain = vec![0; PLAIN_BUF];
    assert!(matches!(s.decrypt(&mut plain), Err(SessionError::Tls(_))));
    let alert = s.output();
    assert!(
        alert.first() == Some(&0x15),
        "a TLS alert record: {alert:02x?}"
    );
}

#[test]
fn a_record_longer_than_tls_allows_is_refused() {
    let id = identity();
    let mut s = server(&id);
    let mut plain = vec![0; PLAIN_BUF];
    // A handshake record header that claims 0xffff bytes.
    let header = b"\x16\x03\x01\xff\xff";
    s.input_space()[..5].copy_from_slice(header);
    s.received(5);
    let first = s.decrypt(&mut plain);
    let mut result = first.map(|_| ());
    for _ in 0..10 {
        if result.is_err() {
            break;
        }
        let space = s.input_space();
        let n = space.len();
        space.fill(0);
        s.received(n);
        result = s.decrypt(&mut plain).map(|_| ());
    }
    assert!(result.is_err(), "an oversized record is refused");
}

/// A small deterministic generator (xorshift), so the random inputs are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Feed `wire` to a fresh session in pieces of random size, as the loop would, writing out
/// what it produces; return whether it failed. Panics (the bug this looks for) fail the test.
fn feed_in_pieces(id: &Identity, wire: &[u8], rng: &mut Rng) -> bool {
    let mut s = server(id);
    let mut plain = vec![0; PLAIN_BUF];
    let mut rest = wire;
    for _ in 0..wire.len() + 2 {
        if rest.is_empty() {
            return false;
        }
        let space = s.input_space();
        if space.is_empty() {
            // Stalled (output full) or failed: write the output out and go on, or stop.
            if s.output().is_empty() {
                return true;
            }
            let n = s.output().len();
            s.sent(n);
            continue;
        }
        let n = (1 + rng.below(700)).min(space.len()).min(rest.len());
        space[..n].copy_from_slice(&rest[..n]);
        s.received(n);
        rest = &rest[n..];
        match s.decrypt(&mut plain) {
            Ok(d) => assert!(d.plain <= PLAIN_BUF),
            Err(_) => return true,
        }
        let _ = s.encrypt(b"HELLO chatd/1 hi\n");
        let n = s.output().len();
        s.sent(n);
    }
    false
}

#[test]
fn random_and_mangled_handshakes_never_panic_and_fail_cleanly() {
    let id = identity();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut hello = Vec::new();
    let mut c = client(&id, &[&rustls::version::TLS13, &rustls::version::TLS12]);
    c.write_tls(&mut hello).unwrap();
    let mut failed = 0;
    for round in 0..400 {
        let mut wire: Vec<u8> = match round % 4 {
            // Noise behind a handshake record header.
            0 => {
                let mut v = vec![0x16, 0x03, (rng.next() % 4) as u8];
                v.extend((0..rng.below(3000)).map(|_| rng.next() as u8));
                v
            }
            // A real ClientHello with a few bytes flipped.
            1 | 2 => {
                let mut v = hello.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(v.len());
                    v[at] ^= 1 << rng.below(8);
                }
                v
            }
            // A real ClientHello cut short, then noise.
            _ => {
                let mut v = hello[..rng.below(hello.len())].to_vec();
                v.extend((0..rng.below(200)).map(|_| rng.next() as u8));
                v
            }
        };
        if wire.is_empty() {
            wire.push(0x16);
        }
        failed += usize::from(feed_in_pieces(&id, &wire, &mut rng));
    }
    assert!(
        failed > 100,
        "most of these are refused, and were: {failed}"
    );
}
