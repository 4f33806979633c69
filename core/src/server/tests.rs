//! Unit tests of the server rules, driven on a simulated clock with no sockets.

use super::test_steps::{open, peer, Steps, H};
use super::*;
use crate::config::{HISTORY_LEN, JOIN_TIMEOUT, OUT_QUEUE, RING_BYTES};
use crate::flood::FloodLimit;
use crate::history::EntryKind;
use crate::slot::Phase;
use crate::testing::START;
use crate::time::Duration;
use crate::transport::Transport;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

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
    let got = h.lines(a);
    assert_eq!(kinds(&got), ["HELLO", "ASK"]);
    assert!(got[0].starts_with("HELLO chatd/1 "));
    assert_eq!(got[1], "ASK NAME Send your name (1-32 bytes, no spaces).");
}

#[test]
fn join_sends_welcome_who_and_notifies_others() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.connect(2);
    h.lines(b);
    h.line(b, "Bruno");
    let got = h.lines(b);
    assert_eq!(kinds(&got), ["WELCOME", "WHO"]);
    assert_eq!(got[1], "WHO 2026-11-29T14:13:05Z 2 Ana Bruno");
    assert_eq!(h.lines(a), ["JOIN 2026-11-29T14:13:05Z Bruno"]);
    assert_eq!(h.server.name(b), Some("Bruno"));
    assert_eq!(h.server.joined(), 2);
}

#[test]
fn public_message_goes_to_everyone_else_not_back() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let c = h.join(3, "Carla");
    h.lines(a);
    h.lines(b);
    h.line(a, "Oi pessoal");
    assert_eq!(h.lines(a), Vec::<String>::new());
    for id in [b, c] {
        assert_eq!(h.lines(id), ["MSG 2026-11-29T14:13:05Z Ana Oi pessoal"]);
    }
}

#[test]
fn names_are_unique_ignoring_case_and_validated() {
    let mut h = H::new(open());
    h.join(1, "Ana");
    let b = h.connect(2);
    h.lines(b);
    h.line(b, "ANA");
    let got = h.lines(b);
    assert_eq!(kinds(&got), ["ERR", "ASK"]);
    assert!(got[0].starts_with("ERR name-taken ANA is taken"), "{got:?}");
    h.line(b, "two words");
    assert!(h.lines(b)[0].starts_with("ERR name-invalid "));
    h.line(b, "/quit");
    assert!(h.lines(b)[0].starts_with("ERR name-invalid "));
    // Whatever refuses a name line, the server asks again.
    h.send(b, b"\x1b[31mred\n");
    assert_eq!(kinds(&h.lines(b)), ["ERR", "ASK"]);
    h.send(b, b"\xff\n");
    assert_eq!(kinds(&h.lines(b)), ["ERR", "ASK"]);
    h.send(b, &[b'n'; 2000]);
    h.send(b, b"\n");
    assert_eq!(kinds(&h.lines(b)), ["ERR", "ASK"]);
    h.line(b, "ana\u{200b}");
    assert!(
        h.lines(b)[0].starts_with("ERR name-invalid "),
        "invisible characters"
    );
    h.line(b, "Bia");
    assert_eq!(
        h.server.name(b),
        Some("Bia"),
        "a later valid name still works"
    );
}

#[test]
fn private_messages_both_forms_and_unknown_name() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let c = h.join(3, "Carla");
    for id in [a, b, c] {
        h.lines(id);
    }
    h.line(a, "/msg bruno só pra você");
    let want = "PRIV 2026-11-29T14:13:05Z Ana Bruno só pra você";
    assert_eq!(h.lines(b), [want]);
    assert_eq!(h.lines(a), [want], "the sender gets a copy");
    assert!(h.lines(c).is_empty(), "nobody else sees it");
    h.line(b, "@privado:Ana segredo");
    assert_eq!(h.lines(a), ["PRIV 2026-11-29T14:13:05Z Bruno Ana segredo"]);
    h.line(a, "/msg Zed hello");
    let got = h.lines(a);
    assert_eq!(got, ["ERR no-such-name Zed Nobody called Zed is online."]);
    assert_eq!(
        h.server.history().count(),
        0,
        "private messages never enter the history"
    );
}

#[test]
fn late_joiner_gets_last_ten_public_messages_in_order() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    for i in 0..12 {
        h.advance(Duration::from_secs(1));
        if i == 5 {
            h.line(a, "/me dança");
        } else {
            h.line(a, &format!("m{i}"));
        }
    }
    let b = h.connect(2);
    h.lines(b);
    h.line(b, "Bruno");
    let got = h.lines(b);
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
    h.lines(b);
    h.line(b, "Bruno");
    let got = h.lines(b);
    let n = got.iter().filter(|l| l.starts_with("HIST ")).count();
    assert!(n > 0 && n < HISTORY_LEN, "{n}");
    let info = format!(
        "INFO {} older messages were left out of the replay.",
        HISTORY_LEN - n
    );
    assert!(got.contains(&info), "{got:?}");
    assert_eq!(h.server.phase(b), Phase::Joined);
}

#[test]
fn nick_is_announced_to_all_and_checked() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    h.lines(a);
    h.line(a, "/nick Aninha");
    let want = "NICK 2026-11-29T14:13:05Z Ana Aninha";
    assert_eq!(h.lines(a), [want]);
    assert_eq!(h.lines(b), [want]);
    h.line(a, "/nick bruno");
    assert!(h.lines(a)[0].starts_with("ERR name-taken "));
    h.line(a, "/nick @x");
    assert!(h.lines(a)[0].starts_with("ERR name-invalid "));
    h.line(b, "hi");
    assert_eq!(h.lines(a), ["MSG 2026-11-29T14:13:05Z Bruno hi"]);
    h.line(b, "/msg aninha ok");
    assert_eq!(
        h.lines(a).len(),
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
        h.lines(a);
        h.line(b, cmd);
        assert_eq!(h.lines(b), ["BYE quit Goodbye."]);
        assert_eq!(
            h.lines(a),
            [format!("LEAVE 2026-11-29T14:13:05Z Bruno {reason}")]
        );
        assert_eq!(h.closes(), [b]);
        assert!(h.closes().is_empty(), "reported once");
        h.server.closed(h.now(), b, CloseReason::Closed);
        assert!(h.lines(a).is_empty(), "no second LEAVE");
        assert_eq!(h.server.connections(), 1);
    }
}

#[test]
fn end_of_stream_and_reset_are_announced() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let c = h.join(3, "Carla");
    h.lines(a);
    h.server.closed(h.now(), b, CloseReason::Eof);
    h.server.closed(h.now(), c, CloseReason::Reset);
    assert_eq!(
        h.lines(a),
        [
            "LEAVE 2026-11-29T14:13:05Z Bruno connection closed",
            "LEAVE 2026-11-29T14:13:05Z Carla connection reset"
        ]
    );
    // A stale id is ignored, even once the slot is reused.
    let d = h.join(4, "Davi");
    h.server.closed(h.now(), b, CloseReason::Eof);
    assert_eq!(h.server.phase(d), Phase::Joined);
}

#[test]
fn bad_lines_get_errors_and_the_connection_survives() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    h.lines(a);
    let mut long = vec![b'x'; 2000];
    long.push(b'\n');
    h.send(a, &long);
    h.send(a, b"bad \xff utf8\n");
    h.send(a, b"nul\0\n");
    h.send(a, b"\x1b[2Jclear\n");
    h.send(a, b"\xc2\x9b31m c1 csi\n");
    h.send(a, b"/frob\n");
    h.send(a, b"/msg\n");
    let got = h.lines(a);
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
        h.lines(b).is_empty(),
        "nothing of a refused line reaches anyone"
    );
    h.line(a, "tab\tis fine");
    assert_eq!(h.lines(b), ["MSG 2026-11-29T14:13:05Z Ana tab\tis fine"]);
}

#[test]
fn a_line_split_into_single_bytes_works() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    h.lines(a);
    for byte in "olá\r\n".as_bytes() {
        h.send(a, &[*byte]);
    }
    assert_eq!(h.lines(b), ["MSG 2026-11-29T14:13:05Z Ana olá"]);
}

#[test]
fn password_right_goes_on_wrong_is_closed_and_throttled() {
    let mut cfg = open();
    cfg.set_password(b"sesame").unwrap();
    let mut h = H::new(cfg);
    let a = h.connect(1);
    assert_eq!(kinds(&h.lines(a)), ["HELLO", "ASK"]);
    h.line(a, "sesame");
    assert_eq!(
        h.lines(a),
        ["ASK NAME Send your name (1-32 bytes, no spaces)."]
    );
    h.line(a, "Ana");
    assert_eq!(h.server.phase(a), Phase::Joined);

    for _ in 0..crate::config::AUTH_FAILURES_ALLOWED {
        let b = h.connect(2);
        h.lines(b);
        h.line(b, "guess");
        assert_eq!(h.lines(b), ["BYE password Wrong password."]);
        assert_eq!(h.closes(), [b]);
        h.server.closed(h.now(), b, CloseReason::Closed);
    }
    let b = h.connect(2);
    assert_eq!(
        h.lines(b),
        ["BYE throttled Too many wrong passwords from your address; wait and try again."]
    );
    h.server.closed(h.now(), b, CloseReason::Closed);
    // Another address is not affected, and the penalty ends.
    let c = h.connect(3);
    assert_eq!(kinds(&h.lines(c)), ["HELLO", "ASK"]);
    h.advance(crate::config::AUTH_PENALTY);
    let b = h.connect(2);
    assert_eq!(kinds(&h.lines(b)), ["HELLO", "ASK"]);
}

#[test]
fn changing_the_password_applies_to_new_connections() {
    let mut cfg = open();
    cfg.set_password(b"old").unwrap();
    let mut h = H::new(cfg);
    let mut new = Config::default();
    new.set_password(b"new").unwrap();
    h.server.set_password(new.password);
    let a = h.connect(1);
    h.lines(a);
    h.line(a, "new");
    assert_eq!(kinds(&h.lines(a)), ["ASK"]);
    h.server.set_password(None);
    let b = h.connect(2);
    assert_eq!(
        h.lines(b)[1],
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
    assert_eq!(
        h.server.accept(h.now(), peer(3), Dialect::Native),
        Err(Refused::Full)
    );
    h.server.closed(h.now(), a, CloseReason::Eof);
    assert!(
        h.server.accept(h.now(), peer(3), Dialect::Native).is_ok(),
        "a freed slot is reused"
    );
}

#[test]
fn max_clients_is_capped_at_the_slot_count() {
    let h = H::new(Config {
        max_clients: 1000,
        ..open()
    });
    assert_eq!(h.server.config().max_clients, 8);
}

#[test]
fn join_timeout_drops_silent_connections() {
    let mut h = H::new(open());
    let a = h.connect(1);
    h.advance(Duration::from_secs(1));
    let b = h.join(2, "Bruno");
    assert_eq!(h.server.poll_at(), Some(START.instant + JOIN_TIMEOUT));
    h.lines(a);
    h.advance(JOIN_TIMEOUT - Duration::from_millis(1001));
    h.server.tick(h.now());
    assert!(h.closes().is_empty());
    h.advance(Duration::from_millis(1));
    h.server.tick(h.now());
    assert_eq!(h.lines(a), ["BYE timeout No name was given in time."]);
    assert_eq!(h.closes(), [a]);
    assert_eq!(
        h.server.phase(b),
        Phase::Joined,
        "joined clients have no timeout"
    );
    h.server.closed(h.now(), a, CloseReason::Closed);
    assert_eq!(h.server.poll_at(), None);
}

#[test]
fn slow_consumer_is_dropped_and_others_are_unaffected() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.join(2, "Bruno");
    let slow = h.join(3, "Lento");
    h.lines(a);
    h.lines(b);
    let text = "y".repeat(500);
    let mut sent = 0;
    let mut last = Vec::new();
    while h.server.phase(slow) == Phase::Joined {
        h.line(a, &text);
        sent += 1;
        last = h.lines(b);
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
    h.server.check_invariants().unwrap();
}

#[test]
fn a_reader_is_dropped_on_the_very_line_that_leaves_it_behind() {
    // Storing a line looks at every reader only once the ring's tail passes its floor (the
    // slowest reader when it last looked). A stopped reader must still be dropped on the
    // exact line whose storing forgot the first byte it had not read, and a reader lagging
    // within the ring never.
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let lagging = h.join(2, "Bruno");
    let stopped = h.join(3, "Lento");
    h.lines(a);
    h.lines(lagging);
    let text = "w".repeat(700);
    let mut dropped_at = None;
    for k in 0..3 * RING_BYTES / 700 {
        let unread = h.server.slots[stopped.index()].ring_pos;
        h.line(a, &text);
        h.server.check_invariants().unwrap();
        let forgotten = h.server.ring.tail() > unread;
        assert_eq!(
            h.server.phase(stopped) == Phase::Closing,
            forgotten,
            "line {k}: dropped exactly when its unread line is forgotten"
        );
        if forgotten && dropped_at.is_none() {
            dropped_at = Some(k);
        }
        if k < 10 {
            h.lines(stopped);
        }
        if k % 97 == 0 {
            let got = h.lines(lagging);
            assert!(got
                .iter()
                .all(|l| l.starts_with("MSG ") || l.starts_with("LEAVE ")));
        }
    }
    assert!(
        dropped_at.is_some_and(|k| k > RING_BYTES / 800),
        "{dropped_at:?}"
    );
    assert_eq!(h.server.phase(lagging), Phase::Joined);
}

#[test]
fn a_full_private_queue_also_makes_a_slow_consumer() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let slow = h.join(2, "Lento");
    h.lines(a);
    let text = "z".repeat(400);
    let mut sent = 0;
    let mut got = Vec::new();
    while h.server.phase(slow) == Phase::Joined {
        h.line(a, &format!("/msg Lento {text}"));
        sent += 1;
        got = h.lines(a);
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
    h.lines(a);
    h.lines(b);
    h.line(a, "one");
    h.line(c, "/msg Bruno two");
    h.line(a, "three");
    h.line(b, "mine");
    h.line(c, "/msg Bruno four");
    h.line(b, "/who");
    let got = h.lines(b);
    let texts: Vec<&str> = got
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(texts, ["one", "two", "three", "four", "Carla"], "{got:?}");
    // Partly written lines resume exactly where they stopped.
    h.line(a, "five");
    h.line(c, "/msg Bruno six");
    let mut rounds = 0;
    while h.pending(b) > 0 && rounds < 200 {
        h.drain(b, Some(1));
        rounds += 1;
    }
    let got = h.take_lines(b);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("MSG ") && got[0].ends_with(" Ana five"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("PRIV ") && got[1].ends_with(" Carla Bruno six"),
        "{got:?}"
    );
    assert_eq!(
        rounds,
        got.iter().map(|l| l.len() + 1).sum::<usize>(),
        "a byte a round"
    );
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
    h.lines(a);
    h.lines(b);
    h.line(a, "1");
    h.line(a, "2");
    assert_eq!(h.lines(b).len(), 2);
    h.line(a, "3");
    let got = h.lines(a);
    assert!(got[0].starts_with("ERR flood "), "{got:?}");
    assert!(h.lines(b).is_empty(), "the refused line is not relayed");
    for _ in 0..crate::flood::FLOOD_STRIKES - 1 {
        h.line(a, "spam");
    }
    assert_eq!(h.lines(a), ["BYE flood Disconnected for sending too fast."]);
    assert_eq!(h.lines(b), ["LEAVE 2026-11-29T14:13:05Z Ana flood"]);
    assert_eq!(h.closes(), [a]);
}

#[test]
fn shutdown_notifies_everyone_and_refuses_newcomers() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    let b = h.connect(2);
    h.lines(a);
    h.lines(b);
    h.server.shutdown(h.now(), "chatd is shutting down.");
    let want = "SHUTDOWN 2026-11-29T14:13:05Z chatd is shutting down.";
    assert_eq!(h.lines(a), [want]);
    assert_eq!(h.lines(b), [want]);
    let mut closing = h.closes();
    closing.sort_by_key(|c| c.index());
    assert_eq!(closing, [a, b]);
    assert_eq!(
        h.server.accept(h.now(), peer(3), Dialect::Native),
        Err(Refused::Full)
    );
    h.server.closed(h.now(), a, CloseReason::Closed);
    assert!(h.lines(b).is_empty(), "no LEAVE during shutdown");
}

#[test]
fn restored_history_is_replayed() {
    let mut h = H::new(open());
    let name = Name::new("Ana").unwrap();
    let e = Entry::new(EntryKind::Msg, START.wall, name, "from before").unwrap();
    h.server.restore_history(e);
    let b = h.connect(2);
    h.lines(b);
    h.line(b, "Bruno");
    assert!(h
        .lines(b)
        .contains(&"HIST MSG 2026-11-29T14:13:05Z Ana from before".to_string()));
}

#[test]
fn who_lists_everyone_and_help_lists_commands() {
    let mut h = H::new(open());
    let a = h.join(1, "Ana");
    h.join(2, "Bruno");
    h.lines(a);
    h.line(a, "/who");
    assert_eq!(h.lines(a), ["WHO 2026-11-29T14:13:05Z 2 Ana Bruno"]);
    h.line(a, "/help");
    let got = h.lines(a);
    assert_eq!(got.len(), crate::commands::HELP.len());
    assert!(got.iter().all(|l| l.starts_with("INFO ")));
}

/// A transport that takes at most `chunk` bytes a call and then blocks.
struct Pipe {
    written: Vec<u8>,
    chunk: usize,
    calls_left: usize,
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
}

#[test]
fn flush_handles_partial_writes_and_would_block() {
    let mut h = H::new(open());
    let a = h.connect(1);
    let mut bufs: [&[u8]; 8] = [&[]; 8];
    let k = h.server.outgoing_vectored(a, &mut bufs);
    let want: Vec<u8> = bufs[..k].concat();
    assert!(
        k >= 2 && want.ends_with(b"no spaces).\n"),
        "both lines at once"
    );
    let mut p = Pipe {
        written: Vec::new(),
        chunk: 7,
        calls_left: 2,
    };
    assert_eq!(h.server.flush(a, &mut p), Err(nb::Error::WouldBlock));
    assert_eq!(
        p.written,
        want[..7],
        "a short write means the transport is full"
    );
    assert_eq!(h.server.flush(a, &mut p), Err(nb::Error::WouldBlock));
    assert_eq!(p.written, want[..14]);
    assert_eq!(h.server.flush(a, &mut p), Err(nb::Error::WouldBlock));
    assert_eq!(p.written, want[..14], "no calls left: nothing taken");
    p.calls_left = usize::MAX;
    p.chunk = 1 << 20;
    assert_eq!(h.server.flush(a, &mut p), Ok(()));
    assert_eq!(p.written, want);
    assert_eq!(h.pending(a), 0);
}

#[test]
fn input_stops_after_the_line_that_fills_the_ring_and_always_progresses() {
    let line = format!("{}\n", "p".repeat(900));
    let burst = line.repeat(2 * RING_BYTES / line.len());
    // Fed whole, and a line a call: the request to write out comes after the same lines.
    let mut where_stopped = Vec::new();
    for per_call in [burst.len(), line.len()] {
        let mut h = H::new(open());
        let a = h.join(1, "Ana");
        let b = h.join(2, "Bruno");
        h.lines(a);
        h.lines(b);
        let mut rest = burst.as_bytes();
        let mut stops = Vec::new();
        while !rest.is_empty() {
            let give = &rest[..per_call.min(rest.len())];
            let fed = h.server.input(h.now(), a, give);
            assert!(fed.used >= 1 && fed.used <= give.len());
            rest = &rest[fed.used..];
            if fed.write_out {
                stops.push(rest.len());
                assert!(
                    rest.is_empty() || rest.starts_with(b"ppp"),
                    "it stops between lines"
                );
                assert!(h.pending(b) > 0);
                h.lines(b);
            }
        }
        // A quarter of the ring between stops: about eight for two rings' worth.
        assert!((6..=9).contains(&stops.len()), "{stops:?}");
        assert_eq!(
            h.server.phase(b),
            Phase::Joined,
            "a reader is never taken for slow"
        );
        h.lines(b);
        // Fed without writing out, the same burst laps the ring and drops the reader.
        let c = h.join(3, "Carla");
        h.lines(a);
        h.lines(b);
        assert!(h.send_unread(a, burst.as_bytes()) >= 6);
        assert_eq!(h.server.phase(b), Phase::Closing);
        assert_eq!(h.server.phase(c), Phase::Closing);
        where_stopped.push(stops);
    }
    assert_eq!(where_stopped[0], where_stopped[1]);
}

#[test]
fn input_stops_when_a_private_queue_runs_low() {
    for reading in [true, false] {
        let mut h = H::new(open());
        let a = h.join(1, "Ana");
        let b = h.join(2, "Bruno");
        h.lines(b);
        let burst = format!("/msg Bruno {}\n", "q".repeat(300)).repeat(OUT_QUEUE / 300);
        let fed = h.server.input(h.now(), a, burst.as_bytes());
        assert!(
            fed.write_out && fed.used < burst.len(),
            "it stops before the queue overflows"
        );
        assert!(burst.as_bytes()[..fed.used].ends_with(b"\n"));
        let rest = &burst.as_bytes()[fed.used..];
        let stops = if reading {
            h.send(a, rest)
        } else {
            h.send_unread(a, rest)
        };
        assert!(stops >= 1);
        // Only a caller that writes out at each stop keeps its readers.
        assert_eq!(h.server.phase(b) == Phase::Joined, reading);
    }
}

#[test]
fn input_uses_everything_it_cannot_act_on() {
    let mut h = H::new(open());
    let a = h.connect(1);
    h.lines(a);
    let used = |fed: Fed| {
        assert!(!fed.write_out);
        fed.used
    };
    assert_eq!(
        used(h.server.input(h.now(), a, b"An")),
        2,
        "a partial line is kept"
    );
    assert_eq!(used(h.server.input(h.now(), a, b"a\n")), 2);
    assert_eq!(h.server.name(a), Some("Ana"));
    let bye = b"/quit\nthese bytes come after the goodbye\n";
    assert_eq!(used(h.server.input(h.now(), a, bye)), bye.len());
    assert_eq!(h.server.phase(a), Phase::Closing);
    h.server.closed(h.now(), a, CloseReason::Closed);
    let stale = h.server.input(h.now(), a, b"stale\n");
    assert_eq!(used(stale), 6, "a stale id takes all");
    assert_eq!(used(h.server.input(h.now(), a, b"")), 0);
}

#[test]
fn fixed_state_stays_within_the_documented_budget() {
    // README.md ("Memory") states these numbers; keep them true.
    let slot = core::mem::size_of::<Slot>();
    let server = core::mem::size_of::<Server<{ crate::config::DEFAULT_SLOTS }>>();
    std::println!(
        "slot = {slot} B, Server<{}> = {server} B",
        crate::config::DEFAULT_SLOTS
    );
    assert!(slot <= 6_100, "one slot takes {slot} bytes");
    let burst = core::mem::size_of::<crate::burst::Burst>();
    std::println!("burst = {burst} B");
    assert!(burst <= 650, "a slot's burst takes {burst} bytes");
    let ring = core::mem::size_of::<crate::broadcast::Broadcast>();
    std::println!("broadcast ring = {ring} B (two: native and IRC)");
    assert!(ring <= 330_000, "the broadcast ring takes {ring} bytes");
    let history = core::mem::size_of::<crate::history::History>();
    std::println!("history = {history} B");
    assert!(history <= 22_000, "the history takes {history} bytes");
    assert!(
        server <= 6_930_000,
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
        assert_eq!(h.server.phase(a), Phase::Closing);
        h.server.closed(h.now(), a, CloseReason::Eof);
    }
    let b = h.join(9, "Bruno");
    h.line(b, "/quit");
    assert_eq!(h.closes(), [b]);
}
