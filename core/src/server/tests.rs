//! Unit tests of the server rules, driven on a simulated clock with no sockets.

use super::*;
use crate::config::{HISTORY_LEN, OUT_QUEUE, RING_BYTES};
use crate::flood::FloodLimit;
use crate::history::EntryKind;
use crate::slot::Phase;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

const T0: Instant = Instant::from_secs(1_795_961_585);

fn peer(n: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, n], 40_000 + u16::from(n)))
}

fn open() -> Config {
    Config {
        flood: None,
        ..Config::default()
    }
}

struct H {
    s: Server<8>,
    now: Instant,
}

impl H {
    fn new(config: Config) -> H {
        H {
            s: Server::new(config),
            now: T0,
        }
    }

    fn connect(&mut self, n: u8) -> ConnId {
        self.s.accept(self.now, peer(n)).expect("a free slot")
    }

    fn send(&mut self, id: ConnId, bytes: &[u8]) {
        self.s.receive(self.now, id, bytes);
    }

    fn line(&mut self, id: ConnId, line: &str) {
        self.send(id, format!("{line}\n").as_bytes());
    }

    /// Take every line queued for `id`.
    fn drain(&mut self, id: ConnId) -> Vec<String> {
        let mut all = Vec::new();
        for _ in 0..1000 {
            let mut bufs: [&[u8]; 8] = [&[]; 8];
            let k = self.s.outgoing_vectored(id, &mut bufs);
            if k == 0 {
                break;
            }
            let chunk: Vec<u8> = bufs[..k].concat();
            self.s.consume(id, chunk.len());
            all.extend_from_slice(&chunk);
        }
        assert!(!self.s.wants_write(id), "drained");
        let text = String::from_utf8(all).expect("server sends UTF-8");
        text.lines().map(ToString::to_string).collect()
    }

    fn join(&mut self, n: u8, name: &str) -> ConnId {
        let id = self.connect(n);
        self.line(id, name);
        let got = self.drain(id);
        assert!(
            got.iter().any(|l| l.starts_with("WELCOME ")),
            "{name} did not join: {got:?}"
        );
        id
    }

    fn closes(&mut self) -> Vec<ConnId> {
        core::iter::from_fn(|| self.s.poll_close()).collect()
    }
}

fn kinds(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect()
}

fn parsed(line: &str) -> ServerLine<'_> {
    ServerLine::parse(line).expect("server lines parse")
}

#[test]
fn greets_then_asks_for_a_name() {
    let mut h = H::new(open());
    let a = h.connect(1);
    let got = h.drain(a);
    assert_eq!(kinds(&got), ["HELLO", "ASK"]);
    assert!(got[0].starts_with("HELLO chatd/1 "));
    assert_eq!(got[1], "ASK NAME Send your name (1-32 bytes, no spaces).");
}

#[test]
fn join_sends_welcome_who_and_notifies_others() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.connect(2);
    h.drain(b);
    h.line(b, "Bruno");
    let got = h.drain(b);
    assert_eq!(kinds(&got), ["WELCOME", "WHO"]);
    assert_eq!(got[1], "WHO 2026-11-29T14:13:05Z 2 Ana Bruno");
    assert_eq!(h.drain(a), ["JOIN 2026-11-29T14:13:05Z Bruno"]);
    assert_eq!(h.s.name(b), Some("Bruno"));
    assert_eq!(h.s.joined(), 2);
}

#[test]
fn public_message_goes_to_everyone_else_not_back() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let c = h.join(3, "Carla");
    h.drain(a);
    h.drain(b);
    h.line(a, "Oi pessoal");
    assert_eq!(h.drain(a), Vec::<String>::new());
    for id in [b, c] {
        assert_eq!(h.drain(id), ["MSG 2026-11-29T14:13:05Z Ana Oi pessoal"]);
    }
}

#[test]
fn names_are_unique_ignoring_case_and_validated() {
    let mut h = H::new(open());
    h.join(1, "Ana");
    let b = h.connect(2);
    h.drain(b);
    h.line(b, "ANA");
    let got = h.drain(b);
    assert_eq!(kinds(&got), ["ERR", "ASK"]);
    assert!(got[0].starts_with("ERR name-taken ANA is taken"), "{got:?}");
    h.line(b, "two words");
    assert!(h.drain(b)[0].starts_with("ERR name-invalid "));
    h.line(b, "/quit");
    assert!(h.drain(b)[0].starts_with("ERR name-invalid "));
    // Whatever refuses a name line, the server asks again.
    h.send(b, b"\x1b[31mred\n");
    assert_eq!(kinds(&h.drain(b)), ["ERR", "ASK"]);
    h.send(b, b"\xff\n");
    assert_eq!(kinds(&h.drain(b)), ["ERR", "ASK"]);
    h.send(b, &[b'n'; 2000]);
    h.send(b, b"\n");
    assert_eq!(kinds(&h.drain(b)), ["ERR", "ASK"]);
    h.line(b, "ana\u{200b}");
    assert!(
        h.drain(b)[0].starts_with("ERR name-invalid "),
        "invisible characters"
    );
    h.line(b, "Bia");
    assert_eq!(h.s.name(b), Some("Bia"), "a later valid name still works");
}

#[test]
fn private_messages_both_forms_and_unknown_name() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let c = h.join(3, "Carla");
    for id in [a, b, c] {
        h.drain(id);
    }
    h.line(a, "/msg bruno só pra você");
    let want = "PRIV 2026-11-29T14:13:05Z Ana Bruno só pra você";
    assert_eq!(h.drain(b), [want]);
    assert_eq!(h.drain(a), [want], "the sender gets a copy");
    assert!(h.drain(c).is_empty(), "nobody else sees it");
    h.line(b, "@privado:Ana segredo");
    assert_eq!(h.drain(a), ["PRIV 2026-11-29T14:13:05Z Bruno Ana segredo"]);
    h.line(a, "/msg Zed hello");
    let got = h.drain(a);
    assert_eq!(got, ["ERR no-such-name Zed Nobody called Zed is online."]);
    assert_eq!(
        h.s.history().count(),
        0,
        "private messages never enter the history"
    );
}

#[test]
fn late_joiner_gets_last_ten_public_messages_in_order() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    for i in 0..12 {
        h.now = h.now.add_millis(1000);
        if i == 5 {
            h.line(a, "/me dança");
        } else {
            h.line(a, &format!("m{i}"));
        }
    }
    let b = h.connect(2);
    h.drain(b);
    h.line(b, "Bruno");
    let got = h.drain(b);
    let hist: Vec<&String> = got.iter().filter(|l| l.starts_with("HIST ")).collect();
    assert_eq!(hist.len(), HISTORY_LEN);
    let texts: Vec<String> = hist
        .iter()
        .map(|l| match parsed(l) {
            ServerLine::Hist {
                kind, name, text, ..
            } => format!("{}:{name}:{text}", kind.as_str()),
            other => panic!("not a HIST line: {other:?}"),
        })
        .collect();
    let mut want: Vec<String> = (2..12).map(|i| format!("MSG:Ana:m{i}")).collect();
    want[3] = "ME:Ana:dança".to_string();
    assert_eq!(texts, want);
    // Times are the original ones, strictly increasing.
    let times: Vec<_> = hist
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap_or("").to_string())
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
}

#[test]
fn replay_leaves_out_what_would_crowd_the_queue() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let long = "x".repeat(1000);
    for _ in 0..HISTORY_LEN {
        h.line(a, &long);
    }
    let b = h.connect(2);
    h.drain(b);
    h.line(b, "Bruno");
    let got = h.drain(b);
    let n = got.iter().filter(|l| l.starts_with("HIST ")).count();
    assert!(n > 0 && n < HISTORY_LEN, "{n}");
    let info = format!(
        "INFO {} older messages were left out of the replay.",
        HISTORY_LEN - n
    );
    assert!(got.contains(&info), "{got:?}");
    assert_eq!(h.s.phase(b), Phase::Joined);
}

#[test]
fn nick_is_announced_to_all_and_checked() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    h.drain(a);
    h.line(a, "/nick Aninha");
    let want = "NICK 2026-11-29T14:13:05Z Ana Aninha";
    assert_eq!(h.drain(a), [want]);
    assert_eq!(h.drain(b), [want]);
    h.line(a, "/nick bruno");
    assert!(h.drain(a)[0].starts_with("ERR name-taken "));
    h.line(a, "/nick @x");
    assert!(h.drain(a)[0].starts_with("ERR name-invalid "));
    h.line(b, "hi");
    assert_eq!(h.drain(a), ["MSG 2026-11-29T14:13:05Z Bruno hi"]);
    h.line(b, "/msg aninha ok");
    assert_eq!(
        h.drain(a).len(),
        1,
        "the new name receives private messages"
    );
}

#[test]
fn quit_forms_say_goodbye_and_announce_the_reason() {
    for (cmd, reason) in [
        ("/quit tchau", "quit: tchau"),
        ("/sair", "quit"),
        ("@sair", "quit"),
    ] {
        let mut h = H::new(open());
        let a = h.join(1, "Ana");
        let b = h.join(2, "Bruno");
        h.drain(a);
        h.line(b, cmd);
        assert_eq!(h.drain(b), ["BYE quit Goodbye."]);
        assert_eq!(
            h.drain(a),
            [format!("LEAVE 2026-11-29T14:13:05Z Bruno {reason}")]
        );
        assert_eq!(h.closes(), [b]);
        assert!(h.closes().is_empty(), "reported once");
        h.s.closed(h.now, b, CloseReason::Closed);
        assert!(h.drain(a).is_empty(), "no second LEAVE");
        assert_eq!(h.s.connections(), 1);
    }
}

#[test]
fn end_of_stream_and_reset_are_announced() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let c = h.join(3, "Carla");
    h.drain(a);
    h.s.closed(h.now, b, CloseReason::Eof);
    h.s.closed(h.now, c, CloseReason::Reset);
    assert_eq!(
        h.drain(a),
        [
            "LEAVE 2026-11-29T14:13:05Z Bruno connection closed",
            "LEAVE 2026-11-29T14:13:05Z Carla connection reset"
        ]
    );
    // A stale id is ignored, even once the slot is reused.
    let d = h.join(4, "Davi");
    h.s.closed(h.now, b, CloseReason::Eof);
    assert_eq!(h.s.phase(d), Phase::Joined);
}

#[test]
fn bad_lines_get_errors_and_the_connection_survives() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    h.drain(a);
    let mut long = vec![b'x'; 2000];
    long.push(b'\n');
    h.send(a, &long);
    h.send(a, b"bad \xff utf8\n");
    h.send(a, b"nul\0\n");
    h.send(a, b"\x1b[2Jclear\n");
    h.send(a, b"\xc2\x9b31m c1 csi\n");
    h.send(a, b"/frob\n");
    h.send(a, b"/msg\n");
    let got = h.drain(a);
    let codes: Vec<&str> = got
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        codes,
        [
            "too-long",
            "bad-utf8",
            "control-char",
            "control-char",
            "control-char",
            "unknown-command",
            "usage"
        ]
    );
    assert!(
        h.drain(b).is_empty(),
        "nothing of a refused line reaches anyone"
    );
    h.line(a, "tab\tis fine");
    assert_eq!(h.drain(b), ["MSG 2026-11-29T14:13:05Z Ana tab\tis fine"]);
}

#[test]
fn a_line_split_into_single_bytes_works() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    h.drain(a);
    for byte in "olá\r\n".as_bytes() {
        h.send(a, &[*byte]);
    }
    assert_eq!(h.drain(b), ["MSG 2026-11-29T14:13:05Z Ana olá"]);
}

#[test]
fn password_right_goes_on_wrong_is_closed_and_throttled() {
    let mut cfg = open();
    cfg.set_password(b"sesame").unwrap();
    let mut h = H::new(cfg);
    let a = h.connect(1);
    assert_eq!(kinds(&h.drain(a)), ["HELLO", "ASK"]);
    h.line(a, "sesame");
    assert_eq!(
        h.drain(a),
        ["ASK NAME Send your name (1-32 bytes, no spaces)."]
    );
    h.line(a, "Ana");
    assert_eq!(h.s.phase(a), Phase::Joined);

    for _ in 0..crate::config::AUTH_FAILURES_ALLOWED {
        let b = h.connect(2);
        h.drain(b);
        h.line(b, "guess");
        assert_eq!(h.drain(b), ["BYE password Wrong password."]);
        assert_eq!(h.closes(), [b]);
        h.s.closed(h.now, b, CloseReason::Closed);
    }
    let b = h.connect(2);
    assert_eq!(
        h.drain(b),
        ["BYE throttled Too many wrong passwords from your address; wait and try again."]
    );
    h.s.closed(h.now, b, CloseReason::Closed);
    // Another address is not affected, and the penalty ends.
    let c = h.connect(3);
    assert_eq!(kinds(&h.drain(c)), ["HELLO", "ASK"]);
    h.now = h.now.add_millis(crate::config::AUTH_PENALTY_MS);
    let b = h.connect(2);
    assert_eq!(kinds(&h.drain(b)), ["HELLO", "ASK"]);
}

#[test]
fn changing_the_password_applies_to_new_connections() {
    let mut cfg = open();
    cfg.set_password(b"old").unwrap();
    let mut h = H::new(cfg);
    let mut new = Config::default();
    new.set_password(b"new").unwrap();
    h.s.set_password(new.password);
    let a = h.connect(1);
    h.drain(a);
    h.line(a, "new");
    assert_eq!(kinds(&h.drain(a)), ["ASK"]);
    h.s.set_password(None);
    let b = h.connect(2);
    assert_eq!(
        h.drain(b)[1],
        "ASK NAME Send your name (1-32 bytes, no spaces)."
    );
}

#[test]
fn capacity_is_enforced() {
    let mut h = H::new(Config {
        max_clients: 2,
        ..open()
    });
    let a = h.connect(1);
    h.connect(2);
    assert_eq!(h.s.accept(h.now, peer(3)), Err(Full));
    h.s.closed(h.now, a, CloseReason::Eof);
    assert!(h.s.accept(h.now, peer(3)).is_ok(), "a freed slot is reused");
}

#[test]
fn max_clients_is_capped_at_the_slot_count() {
    let h = H::new(Config {
        max_clients: 1000,
        ..open()
    });
    assert_eq!(h.s.config().max_clients, 8);
}

#[test]
fn join_timeout_drops_silent_connections() {
    let mut h = H::new(open());
    let a = h.connect(1);
    h.now = h.now.add_millis(1000);
    let b = h.join(2, "Bruno");
    assert_eq!(
        h.s.poll_at(),
        Some(T0.add_millis(crate::config::JOIN_TIMEOUT_MS))
    );
    h.drain(a);
    h.s.tick(T0.add_millis(crate::config::JOIN_TIMEOUT_MS - 1));
    assert!(h.closes().is_empty());
    h.s.tick(T0.add_millis(crate::config::JOIN_TIMEOUT_MS));
    assert_eq!(h.drain(a), ["BYE timeout No name was given in time."]);
    assert_eq!(h.closes(), [a]);
    assert_eq!(
        h.s.phase(b),
        Phase::Joined,
        "joined clients have no timeout"
    );
    h.s.closed(h.now, a, CloseReason::Closed);
    assert_eq!(h.s.poll_at(), None);
}

#[test]
fn slow_consumer_is_dropped_and_others_are_unaffected() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let slow = h.join(3, "Lento");
    h.drain(a);
    h.drain(b);
    let text = "y".repeat(500);
    let mut sent = 0;
    let mut last = Vec::new();
    while h.s.phase(slow) == Phase::Joined {
        h.line(a, &text);
        sent += 1;
        last = h.drain(b);
        assert!(
            last[0].starts_with("MSG "),
            "Bruno gets every message at once"
        );
        assert!(sent < 2 * RING_BYTES / 500, "never dropped");
    }
    assert!(
        sent >= RING_BYTES / 600,
        "dropped only once it fell a whole ring behind ({sent})"
    );
    assert_eq!(last.len(), 2);
    assert_eq!(last[1], "LEAVE 2026-11-29T14:13:05Z Lento slow consumer");
    assert_eq!(h.closes(), [slow]);
    h.s.check_invariants().unwrap();
}

#[test]
fn a_full_private_queue_also_makes_a_slow_consumer() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let slow = h.join(2, "Lento");
    h.drain(a);
    let text = "z".repeat(400);
    let mut sent = 0;
    let mut got = Vec::new();
    while h.s.phase(slow) == Phase::Joined {
        h.line(a, &format!("/msg Lento {text}"));
        sent += 1;
        got = h.drain(a);
        assert!(sent <= OUT_QUEUE / 400, "never dropped");
    }
    assert!(sent >= OUT_QUEUE / 500, "dropped early ({sent})");
    assert_eq!(kinds(&got), ["PRIV", "LEAVE"]);
    assert_eq!(got[1], "LEAVE 2026-11-29T14:13:05Z Lento slow consumer");
}

#[test]
fn private_and_public_lines_keep_their_order() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let c = h.join(3, "Carla");
    h.drain(a);
    h.drain(b);
    h.line(a, "one");
    h.line(c, "/msg Bruno two");
    h.line(a, "three");
    h.line(b, "mine");
    h.line(c, "/msg Bruno four");
    h.line(b, "/who");
    let got = h.drain(b);
    let texts: Vec<&str> = got
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(texts, ["one", "two", "three", "four", "Carla"], "{got:?}");
    // Partly written lines resume exactly where they stopped.
    h.line(a, "five");
    h.line(c, "/msg Bruno six");
    let mut bytes = Vec::new();
    for _ in 0..200 {
        let (x, y) = h.s.outgoing(b);
        let Some(&first) = x.first().or(y.first()) else {
            break;
        };
        bytes.push(first);
        h.s.consume(b, 1);
    }
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with("MSG ") && text.contains(" Ana five\nPRIV "),
        "{text:?}"
    );
    assert!(text.ends_with(" Carla Bruno six\n"), "{text:?}");
}

#[test]
fn flood_is_warned_then_kicked_and_others_keep_going() {
    let limit = FloodLimit {
        burst: 3,
        per_sec: 1,
    };
    let mut h = H::new(Config {
        flood: Some(limit),
        ..Config::default()
    });
    // Joining costs one line of the bucket.
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    h.drain(a);
    h.drain(b);
    h.line(a, "1");
    h.line(a, "2");
    assert_eq!(h.drain(b).len(), 2);
    h.line(a, "3");
    let got = h.drain(a);
    assert!(got[0].starts_with("ERR flood "), "{got:?}");
    assert!(h.drain(b).is_empty(), "the refused line is not relayed");
    for _ in 0..crate::flood::FLOOD_STRIKES - 1 {
        h.line(a, "spam");
    }
    assert_eq!(h.drain(a), ["BYE flood Disconnected for sending too fast."]);
    assert_eq!(h.drain(b), ["LEAVE 2026-11-29T14:13:05Z Ana flood"]);
    assert_eq!(h.closes(), [a]);
}

#[test]
fn shutdown_notifies_everyone_and_refuses_newcomers() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.connect(2);
    h.drain(a);
    h.drain(b);
    h.s.shutdown(h.now, "chatd is shutting down.");
    let want = "SHUTDOWN 2026-11-29T14:13:05Z chatd is shutting down.";
    assert_eq!(h.drain(a), [want]);
    assert_eq!(h.drain(b), [want]);
    let mut closing = h.closes();
    closing.sort_by_key(|c| c.index());
    assert_eq!(closing, [a, b]);
    assert_eq!(h.s.accept(h.now, peer(3)), Err(Full));
    h.s.closed(h.now, a, CloseReason::Closed);
    assert!(h.drain(b).is_empty(), "no LEAVE during shutdown");
}

#[test]
fn restored_history_is_replayed() {
    let mut h = H::new(open());
    let name = Name::new("Ana").unwrap();
    let e = Entry::new(EntryKind::Msg, T0.timestamp(), name, "from before").unwrap();
    h.s.restore_history(e);
    let b = h.connect(2);
    h.drain(b);
    h.line(b, "Bruno");
    assert!(h
        .drain(b)
        .contains(&"HIST MSG 2026-11-29T14:13:05Z Ana from before".to_string()));
}

#[test]
fn who_lists_everyone_and_help_lists_commands() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    h.join(2, "Bruno");
    h.drain(a);
    h.line(a, "/who");
    assert_eq!(h.drain(a), ["WHO 2026-11-29T14:13:05Z 2 Ana Bruno"]);
    h.line(a, "/help");
    let got = h.drain(a);
    assert_eq!(got.len(), crate::commands::HELP.len());
    assert!(got.iter().all(|l| l.starts_with("INFO ")));
}

/// A transport that takes at most `chunk` bytes a call and then blocks.
struct Pipe {
    written: Vec<u8>,
    chunk: usize,
    calls_left: usize,
    input: Vec<u8>,
}

impl Transport for Pipe {
    type Error = ();
    fn write_vectored(&mut self, bufs: &[&[u8]]) -> nb::Result<usize, ()> {
        if self.calls_left == 0 {
            return Err(nb::Error::WouldBlock);
        }
        self.calls_left -= 1;
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(self.chunk - n);
            self.written.extend_from_slice(&b[..take]);
            n += take;
        }
        Ok(n)
    }
    fn read(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
        if self.input.is_empty() {
            return Err(nb::Error::WouldBlock);
        }
        let n = buf.len().min(self.input.len()).min(3);
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        Ok(n)
    }
}

#[test]
fn flush_handles_partial_writes_and_would_block() {
    let mut h = H::new(open());
    let a = h.connect(1);
    let mut bufs: [&[u8]; 8] = [&[]; 8];
    let k = h.s.outgoing_vectored(a, &mut bufs);
    let want: Vec<u8> = bufs[..k].concat();
    assert!(
        k >= 2 && want.ends_with(b"no spaces).\n"),
        "both lines at once"
    );
    let mut p = Pipe {
        written: Vec::new(),
        chunk: 7,
        calls_left: 2,
        input: Vec::new(),
    };
    assert_eq!(h.s.flush(a, &mut p), Err(nb::Error::WouldBlock));
    assert_eq!(
        p.written,
        want[..7],
        "a short write means the transport is full"
    );
    assert_eq!(h.s.flush(a, &mut p), Err(nb::Error::WouldBlock));
    assert_eq!(p.written, want[..14]);
    assert_eq!(h.s.flush(a, &mut p), Err(nb::Error::WouldBlock));
    assert_eq!(p.written, want[..14], "no calls left: nothing taken");
    p.calls_left = usize::MAX;
    p.chunk = 1 << 20;
    assert_eq!(h.s.flush(a, &mut p), Ok(()));
    assert_eq!(p.written, want);
    assert!(!h.s.wants_write(a));
}

#[test]
fn read_from_feeds_lines_and_reports_eof() {
    let mut h = H::new(open());
    let a = h.connect(1);
    h.drain(a);
    let mut p = Pipe {
        written: Vec::new(),
        chunk: 0,
        calls_left: 0,
        input: b"Ana\n".to_vec(),
    };
    let mut scratch = [0u8; 64];
    assert_eq!(
        h.s.read_from(h.now, a, &mut p, &mut scratch, 2),
        Ok(ReadOutcome::Budget)
    );
    assert_eq!(
        h.s.read_from(h.now, a, &mut p, &mut scratch, 100),
        Ok(ReadOutcome::WouldBlock)
    );
    assert_eq!(h.s.name(a), Some("Ana"));

    struct Eof;
    impl Transport for Eof {
        type Error = ();
        fn write_vectored(&mut self, _: &[&[u8]]) -> nb::Result<usize, ()> {
            Ok(0)
        }
        fn read(&mut self, _: &mut [u8]) -> nb::Result<usize, ()> {
            Ok(0)
        }
    }
    assert_eq!(
        h.s.read_from(h.now, a, &mut Eof, &mut scratch, 100),
        Ok(ReadOutcome::Eof)
    );
    assert_eq!(h.s.phase(a), Phase::Free);
}

#[test]
fn fixed_state_stays_within_the_documented_budget() {
    // README.md ("Memory") states these numbers; keep them true.
    let slot = core::mem::size_of::<Slot>();
    let server = core::mem::size_of::<Server<{ crate::config::DEFAULT_SLOTS }>>();
    std::println!("slot = {slot} B, Server<256> = {server} B");
    assert!(slot <= 5_400, "one slot takes {slot} bytes");
    let ring = core::mem::size_of::<crate::broadcast::Broadcast>();
    std::println!("broadcast ring = {ring} B");
    assert!(ring <= 330_000, "the broadcast ring takes {ring} bytes");
    assert!(
        server <= 1_720_000,
        "the default server takes {server} bytes"
    );
}

#[test]
fn connections_closed_before_poll_close_never_crowd_out_later_ones() {
    // A connection the server wants closed may be closed by its peer first; its entry in the
    // close queue goes stale. Many of those must not keep a later one from being reported.
    let mut h = H::new(open());
    for round in 0..40u8 {
        let a = h.join(1 + round % 4, "Ana");
        h.line(a, "/quit");
        assert_eq!(h.s.phase(a), Phase::Closing);
        h.s.closed(h.now, a, CloseReason::Eof);
    }
    let b = h.join(9, "Bruno");
    h.line(b, "/quit");
    assert_eq!(h.closes(), [b]);
}
