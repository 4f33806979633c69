//! The chat as clients see it, against the real binary on loopback.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chat_testkit::{raw_connect, Chatd, Client, TempDir};

const QUIET: Duration = Duration::from_millis(300);

#[test]
fn broadcast_reaches_others_but_not_the_sender() {
    let dir = TempDir::new("bcast");
    let s = Chatd::start_in(dir.path(), &[]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    let mut cy = s.join("Cy");
    ana.expect("JOIN ");
    ana.send("Oi pessoal");
    let m = bo.expect("MSG ");
    assert!(m.ends_with(" Ana Oi pessoal"), "{m}");
    let m = cy.expect("MSG ");
    assert!(m.ends_with(" Ana Oi pessoal"), "{m}");
    // The sender gets no echo: the next thing it sees is Bo's reply.
    bo.send("tudo bem?");
    let next = ana.expect("MSG ");
    assert!(
        next.ends_with(" Bo tudo bem?"),
        "no echo expected, got {next}"
    );
}

#[test]
fn private_messages_both_forms_and_unknown_names() {
    let dir = TempDir::new("priv");
    let s = Chatd::start_in(dir.path(), &[]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    let mut cy = s.join("Cy");
    ana.send("/msg bo psst");
    assert!(bo.expect("PRIV ").ends_with(" Ana Bo psst"));
    assert!(ana.expect("PRIV ").ends_with(" Ana Bo psst"));
    bo.send("@privado:Ana de volta");
    assert!(ana.expect("PRIV ").ends_with(" Bo Ana de volta"));
    assert!(bo.expect("PRIV ").ends_with(" Bo Ana de volta"));
    ana.send("/msg carla oi");
    let e = ana.expect("ERR ");
    assert!(e.starts_with("ERR no-such-name carla"), "{e}");
    // Cy saw none of it (only the JOINs).
    while let Some(l) = cy.line_within(QUIET) {
        assert!(
            !l.starts_with("PRIV") && !l.starts_with("MSG"),
            "Cy saw {l}"
        );
    }
}

#[test]
fn names_taken_and_invalid_are_refused_and_asked_again() {
    let dir = TempDir::new("names");
    let s = Chatd::start_in(dir.path(), &[]);
    let _ana = s.join("Ana");
    let mut c = s.connect();
    c.expect("ASK NAME");
    c.send("ANA");
    assert!(c.expect("ERR ").starts_with("ERR name-taken"));
    c.expect("ASK NAME");
    c.send("/bad");
    assert!(c.expect("ERR ").starts_with("ERR name-invalid"));
    c.expect("ASK NAME");
    c.send(&"x".repeat(33));
    assert!(c.expect("ERR ").starts_with("ERR name-invalid"));
    c.expect("ASK NAME");
    c.send("Bia");
    assert!(c.expect("WELCOME ").contains(" Bia "));
}

#[test]
fn late_joiner_gets_the_last_ten_messages_in_order() {
    let dir = TempDir::new("hist");
    let s = Chatd::start_in(dir.path(), &["--flood", "off"]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    for i in 1..=12 {
        ana.send(&format!("m{i}"));
    }
    for i in 1..=12 {
        assert!(bo.expect("MSG ").ends_with(&format!(" Ana m{i}")));
    }
    let mut cy = s.join("Cy");
    cy.expect("WHO ");
    for i in 3..=12 {
        let h = cy.line();
        assert!(
            h.starts_with("HIST MSG ") && h.ends_with(&format!(" Ana m{i}")),
            "{h}"
        );
    }
    assert!(cy.line_within(QUIET).is_none());
}

#[test]
fn bad_lines_get_errors_and_the_connection_survives() {
    let dir = TempDir::new("bad");
    let s = Chatd::start_in(dir.path(), &[]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    let mut long = vec![b'a'; 3000];
    long.push(b'\n');
    ana.send_raw(&long);
    assert!(ana.expect("ERR ").starts_with("ERR too-long"));
    ana.send_raw(b"caf\xe9\n");
    assert!(ana.expect("ERR ").starts_with("ERR bad-utf8"));
    ana.send_raw(b"bell\x07here\n");
    assert!(ana.expect("ERR ").starts_with("ERR control-char"));
    ana.send_raw(b"esc\x1b[31m\n");
    assert!(ana.expect("ERR ").starts_with("ERR control-char"));
    ana.send("still here");
    // Bo got nothing of the refused lines, then the good one.
    let m = bo.expect("MSG ");
    assert!(m.ends_with(" Ana still here"), "{m}");
}

#[test]
fn capacity_full_gets_bye_full() {
    let dir = TempDir::new("full");
    // Both from one address: without the per-address rules, whose reserve would keep the
    // second slot for another address (see tests/lockout.rs).
    let s = Chatd::start_in(
        dir.path(),
        &["--max-clients", "2", "--max-per-address", "off"],
    );
    let _a = s.join("Ana");
    let _b = s.join("Bo");
    let mut c = s.connect();
    let lines = c.read_to_close();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("BYE full "), "{lines:?}");
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_others_carry_on() {
    let dir = TempDir::new("slow");
    let s = Chatd::start_in(dir.path(), &["--flood", "off"]);
    let mut ana = s.join("Ana");
    let mut bo = s.join("Bo");
    let mut slow = Client::from_stream(raw_connect(s.addr, None, Some(2048)));
    slow.expect("ASK NAME");
    slow.send("Slow");
    slow.expect("WELCOME ");
    ana.expect("JOIN ");
    bo.expect("JOIN ");
    let text = "x".repeat(900);
    let mut left = None;
    'outer: for round in 0..400 {
        for k in 0..20 {
            ana.send(&format!("{} {text}", round * 20 + k));
        }
        // Bo keeps up with every line; a LEAVE may come in between.
        let mut got = 0;
        while got < 20 {
            let l = bo.line();
            if l.starts_with("MSG ") {
                assert!(
                    l.contains(&format!(" Ana {} ", round * 20 + got)),
                    "Bo lost a line: want {} got {}",
                    round * 20 + got,
                    &l[..60]
                );
                got += 1;
            } else if l.starts_with("LEAVE ") {
                left = Some(l);
            }
        }
        if left.is_some() {
            break 'outer;
        }
    }
    let left = left.expect("Slow was never dropped");
    assert!(left.ends_with(" Slow slow consumer"), "{left}");
    assert!(s.wait_log("slow-consumer").contains("name=Slow"));
    ana.send("after");
    assert!(bo.expect("MSG ").ends_with(" Ana after"));
}
