//! The real `chatd` under hostile TLS input on loopback: garbage handshakes, handshakes left
//! half done, plain text on the TLS port, a TLS handshake on the plain-text port, and a full
//! server. Each is closed promptly (or at the join timeout), logged once, and the clients
//! already chatting, in plain text and over TLS, never notice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_testkit::{msg_from, Chatd, Client, Launch, WAIT};

/// A plain-text client and a TLS client that can still talk to each other.
struct Witnesses {
    plain: Client,
    tls: Client,
}

impl Witnesses {
    fn join(d: &Chatd) -> Witnesses {
        let mut plain = d.join_settled("plainW");
        let mut tls = Client::connect_tls(d.tls_addr.unwrap());
        tls.join_settled("tlsW");
        plain.expect("JOIN ");
        Witnesses { plain, tls }
    }

    /// Both directions still work, and neither saw anything else in between.
    fn still_chat(&mut self, tag: &str) {
        self.plain.send(&format!("plain {tag}"));
        let l = self.tls.expect("MSG ");
        assert_eq!(
            msg_from(&l, "plainW"),
            Some(format!("plain {tag}").as_str()),
            "{l}"
        );
        self.tls.send(&format!("tls {tag}"));
        let (l, before) = self.plain.skip_to("MSG ");
        assert_eq!(
            msg_from(&l, "tlsW"),
            Some(format!("tls {tag}").as_str()),
            "{l}"
        );
        assert!(before.is_empty(), "the plain witness saw {before:?}");
    }
}

/// The first bytes a rustls client sends: its ClientHello record.
fn client_hello() -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore::empty();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut c = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut hello = Vec::new();
    c.write_tls(&mut hello).unwrap();
    hello
}

/// Return whether the server closes `s` within [`WAIT`]; what it sent meanwhile goes to `got`.
fn closed_within_wait(s: &mut TcpStream, got: &mut Vec<u8>) -> bool {
    let end = Instant::now() + WAIT;
    let mut buf = [0u8; 4096];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn plain_text_on_the_tls_port_gets_one_line_and_is_closed() {
    let d = Launch::new().tls().start();
    let mut w = Witnesses::join(&d);
    let mut nc = Client::connect(d.tls_addr.unwrap());
    nc.send("ana");
    let lines = nc.read_to_close();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let port = d.addr.port();
    assert!(
        lines[0].starts_with("BYE tls This port speaks TLS")
            && lines[0].contains(&format!("port {port}")),
        "{lines:?}"
    );
    d.wait_log("tls-plain-text peer=127.0.0.1:");
    w.still_chat("after plain text on the TLS port");
    assert_eq!(count(&d.log(), "tls-plain-text"), 1, "{}", d.log());
}

#[test]
fn a_tls_handshake_on_the_plain_port_is_closed_promptly_and_logged_once() {
    let d = Launch::new().tls().start();
    let mut w = Witnesses::join(&d);
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.write_all(&client_hello()).unwrap();
    let mut got = Vec::new();
    assert!(closed_within_wait(&mut s, &mut got), "still open");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HELLO chatd/1") && !text.contains("ERR "),
        "only the greeting, no complaint per byte: {text:?}"
    );
    d.wait_log("tls-on-plain-port peer=127.0.0.1:");
    w.still_chat("after TLS on the plain port");
    assert_eq!(count(&d.log(), "tls-on-plain-port"), 1, "{}", d.log());
}

#[test]
fn garbage_handshakes_are_refused_and_nobody_notices() {
    let d = Launch::new().tls().start();
    let mut w = Witnesses::join(&d);
    let hello = client_hello();
    let mut bad_hello = hello.clone();
    for b in bad_hello.iter_mut().skip(9) {
        *b = 0xa5;
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a record type that does not exist",
            b"\x16\x03\x01\x00\x04\x63\x00\x00\x00".to_vec(),
        ),
        ("a scrambled ClientHello", bad_hello),
        ("a record longer than TLS allows", {
            let mut v = b"\x16\x03\x01\xff\xff".to_vec();
            v.extend(std::iter::repeat_n(0u8, 20_000));
            v
        }),
        (
            "a ServerHello from a client",
            b"\x16\x03\x03\x00\x04\x02\x00\x00\x00".to_vec(),
        ),
        ("a ClientHello, then noise", {
            let mut v = hello.clone();
            v.extend_from_slice(b"\x17\x03\x03\x00\x10garbage-garbage!");
            v
        }),
    ];
    for (what, bytes) in &cases {
        let mut s = TcpStream::connect(d.tls_addr.unwrap()).unwrap();
        let _ = s.write_all(bytes);
        let mut got = Vec::new();
        assert!(closed_within_wait(&mut s, &mut got), "{what}: still open");
        assert!(
            got.first().is_none_or(|&b| b == 0x15 || b == 0x16),
            "{what}: only TLS records (an alert, a server hello) come back: {got:02x?}"
        );
    }
    w.still_chat("after garbage");
    chat_testkit::wait_for("the failed handshakes logged", || {
        count(&d.log(), "tls-failed") >= cases.len() - 1
    });
    assert!(!d.log().contains("panicked"), "{}", d.log());
}

#[test]
fn handshakes_left_half_done_are_closed_at_the_join_timeout() {
    let d = Launch::new()
        .tls()
        .args(&["--join-timeout", "1", "--max-per-address", "off"])
        .start();
    let hello = client_hello();
    let mut w = Witnesses::join(&d);
    let started = Instant::now();
    let mut half: Vec<TcpStream> = Vec::new();
    for i in 0..6 {
        let mut s = TcpStream::connect(d.tls_addr.unwrap()).unwrap();
        match i % 3 {
            0 => {}                                               // silent
            1 => s.write_all(&hello[..hello.len() / 2]).unwrap(), // half a ClientHello
            _ => s.write_all(&hello).unwrap(),                    // never finishes its side
        }
        half.push(s);
    }
    // The witnesses joined before and keep chatting while the half handshakes wait.
    w.still_chat("while handshakes hang");
    for s in &mut half {
        let mut got = Vec::new();
        assert!(
            closed_within_wait(s, &mut got),
            "a half handshake stayed open"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the timeout"
    );
    chat_testkit::wait_for("a join timeout logged for each half handshake", || {
        count(&d.log(), "reason=join-timeout") == half.len()
    });
    // The witnesses joined more than a second ago too, and were not timed out.
    w.still_chat("after the timeouts");
}

#[test]
fn a_full_server_closes_a_tls_client_and_keeps_the_others() {
    // Every connection comes from 127.0.0.1 here: the per-address rule is another test's.
    let d = Launch::new()
        .tls()
        .args(&["--max-clients", "2", "--max-per-address", "off"])
        .start();
    let mut w = Witnesses::join(&d);
    let mut s = TcpStream::connect(d.tls_addr.unwrap()).unwrap();
    s.write_all(&client_hello()).unwrap();
    let mut got = Vec::new();
    assert!(closed_within_wait(&mut s, &mut got), "still open");
    assert!(got.is_empty(), "no plain BYE for a TLS client: {got:?}");
    d.wait_log("refused peer=127.0.0.1:");
    w.still_chat("when full");
}

#[test]
fn a_tls_client_that_vanishes_mid_line_leaves_as_usual() {
    let d = Launch::new().tls().start();
    let mut w = Witnesses::join(&d);
    let mut gone = Client::connect_tls(d.tls_addr.unwrap());
    gone.join_settled("gone");
    w.plain.expect("JOIN ");
    gone.send_raw(b"half a li");
    drop(gone);
    let l = w.plain.expect("LEAVE ");
    assert!(l.contains(" gone "), "{l}");
    w.tls.expect("JOIN ");
    w.tls.expect("LEAVE ");
    w.still_chat("after a vanished client");
}

#[test]
fn a_handshake_flood_from_one_address_meets_the_per_address_cap_and_others_still_join() {
    let d = Launch::new()
        .tls()
        .args(&["--max-per-address", "3"])
        .start();
    let tls = d.tls_addr.unwrap();
    let hello = client_hello();
    // Three half handshakes from 127.0.0.1 hold that address's share...
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(tls).unwrap();
            s.write_all(&hello[..hello.len() / 2]).unwrap();
            s
        })
        .collect();
    chat_testkit::wait_for("three connections in", || {
        count(&d.log(), "connect peer=127.0.0.1:") == 3
    });
    // ...so a fourth handshake from it is closed at once, before any TLS work...
    let mut fourth = TcpStream::connect(tls).unwrap();
    let _ = fourth.write_all(&hello);
    let mut got = Vec::new();
    assert!(
        closed_within_wait(&mut fourth, &mut got),
        "a fourth handshake stayed open"
    );
    assert!(got.is_empty(), "no plain line for a TLS client: {got:?}");
    d.wait_log("refused peer=127.0.0.1:");
    // ...while clients from other addresses join, over TLS and in plain text.
    let mut c = Client::from_stream(chat_testkit::raw_connect(
        d.addr,
        Some("127.0.0.2".parse().unwrap()),
        None,
    ));
    c.join_settled("elsewhere");
    let mut t = Client::connect_tls_from(tls, "127.0.0.3".parse().unwrap());
    t.join_settled("elsewhere2");
    c.expect("JOIN ");
    held.clear();
}
