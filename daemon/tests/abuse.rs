//! The real `chatd` under hostile clients on loopback: too many connections, silent and
//! churning connections, resets mid-line, huge and malformed lines, terminal escapes, a client
//! that never reads, a flooder, signals in the middle of a burst, password guessing, spoofing,
//! and what reaches the logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chat_core::ServerLine;
use chat_testkit::{msg_from, raw_connect, reset, Chatd, Client, TempDir, WAIT};
use nix::sys::signal::Signal;

/// Two clients that can still talk to each other: the server is alive and well.
fn assert_chat_works(d: &Chatd, tag: &str) {
    let mut a = d.join_settled(&format!("{tag}A"));
    let mut b = d.join_settled(&format!("{tag}B"));
    a.sync();
    a.send_raw(format!("still here {tag}\n").as_bytes());
    let l = b.expect("MSG ");
    assert_eq!(
        msg_from(&l, &format!("{tag}A")),
        Some(format!("still here {tag}").as_str()),
        "{l}"
    );
}

#[test]
fn one_connection_over_capacity_gets_bye_full() {
    // Each from an address of its own, so that only the table's size refuses (one address
    // may not take the last slot when it already holds one: see tests/lockout.rs).
    let d = Chatd::start(&["--max-clients", "3"]);
    let mut a = d.join_settled("a");
    let mut others: Vec<Client> = (2..4).map(|n| d.connect_from(loopback(n))).collect();
    for c in &mut others {
        c.expect("ASK NAME");
    }
    let mut extra = d.connect_from(loopback(4));
    let first = extra.line();
    assert!(first.starts_with("BYE full "), "{first}");
    assert!(extra.closes(), "the refused connection stays open");
    // A slot frees up: the next connection gets in.
    drop(others.pop());
    let end = Instant::now() + WAIT;
    loop {
        let mut c = d.connect_from(loopback(5));
        let l = c.line();
        if l.starts_with("HELLO ") {
            break;
        }
        assert!(l.starts_with("BYE full ") && Instant::now() < end, "{l}");
        thread::sleep(Duration::from_millis(20));
    }
    a.sync();
}

/// Return 127.0.0.`n`: loopback gives a test as many source addresses as it wants.
fn loopback(n: u8) -> IpAddr {
    IpAddr::from(Ipv4Addr::new(127, 0, 0, n))
}

#[test]
fn silent_connections_neither_block_chat_nor_stay() {
    let d = Chatd::start(&["--join-timeout", "1"]);
    let mut a = d.join_settled("talker");
    let mut b = d.join_settled("listener");
    // From 25 addresses, 8 each: as many as one address may hold.
    let mut silent: Vec<Client> = (0..200u8)
        .map(|k| d.connect_from(loopback(100 + k / 8)))
        .collect();
    a.send_raw(b"over the silence\n");
    let l = b.expect("MSG ");
    assert_eq!(msg_from(&l, "talker"), Some("over the silence"));
    for c in &mut silent {
        c.expect("ASK NAME");
    }
    for (k, c) in silent.iter_mut().enumerate() {
        let bye = c.expect("BYE ");
        assert!(
            bye.starts_with("BYE timeout "),
            "silent connection {k}: {bye}"
        );
        assert!(c.closes(), "silent connection {k} not closed");
    }
    // The joined clients were not timed out.
    a.send_raw(b"after the timeouts\n");
    let (l, before) = b.skip_to("MSG ");
    assert_eq!(
        msg_from(&l, "talker"),
        Some("after the timeouts"),
        "{before:?}"
    );
}

#[test]
fn connect_disconnect_churn_leaves_the_server_working() {
    let mut d = Chatd::start(&[]);
    let mut watcher = d.join_settled("watcher");
    let end = Instant::now() + Duration::from_secs(8);
    let mut n = 0;
    while n < 3000 && Instant::now() < end {
        if n % 50 == 0 {
            watcher.lines_for(Duration::from_millis(1));
        }
        // From 200 addresses in turn, so that a connection's address is free again long
        // before it comes round (one address may hold 8 at once).
        let mut c = d.connect_from(loopback(20 + (n % 200) as u8));
        match n % 4 {
            0 => drop(c),
            1 => reset(c.stream),
            2 => {
                c.send_raw(b"churn");
                drop(c);
            }
            _ => {
                c.send_raw(format!("churn{n}\n").as_bytes());
                drop(c);
            }
        }
        n += 1;
    }
    assert!(n >= 500, "only {n} connections in the time allowed");
    assert!(d.is_running(), "chatd died under churn");
    assert_chat_works(&d, "churn");
    // The watcher saw only well-formed JOIN/LEAVE traffic (checked line by line) and is still in.
    watcher.sync();
}

#[test]
fn a_reset_in_the_middle_of_a_line_is_a_clean_leave() {
    let d = Chatd::start(&[]);
    let mut a = d.join_settled("resetter");
    let mut b = d.join_settled("bystander");
    a.sync();
    a.send_raw(b"half a li");
    thread::sleep(Duration::from_millis(50));
    reset(a.stream);
    let (l, before) = b.skip_to("LEAVE ");
    assert!(l.contains(" resetter connection "), "{l}");
    assert!(
        before.iter().all(|l| !l.contains("half a li")),
        "{before:?}"
    );
    assert_chat_works(&d, "rst");
}

#[test]
fn a_one_megabyte_line_is_refused_and_the_next_line_works() {
    let d = Chatd::start(&[]);
    let mut a = d.join_settled("big");
    let mut b = d.join_settled("small");
    let mut huge = vec![b'x'; 1 << 20];
    huge.push(b'\n');
    a.send_raw(&huge);
    a.send_raw(b"after the big one\n");
    let err = a.expect("ERR ");
    assert!(err.starts_with("ERR too-long "), "{err}");
    let (l, before) = b.skip_to("MSG ");
    assert_eq!(msg_from(&l, "big"), Some("after the big one"), "{before:?}");
    // Exactly one refusal for the one long line.
    let rest = a.sync();
    assert!(rest.iter().all(|l| !l.starts_with("ERR ")), "{rest:?}");
}

#[test]
fn random_bytes_and_bad_utf8_reach_nobody() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut a = d.join_settled("noise");
    let mut b = d.join_settled("ear");
    a.sync();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..64 {
        let chunk: Vec<u8> = (0..1024).map(|_| (rng.next_u64() >> 24) as u8).collect();
        a.send_raw(&chunk);
    }
    a.send_raw(b"\ncaf\xc3\n\xff\xfeabc\n\xed\xa0\x80\n");
    a.send_raw(b"clean again\n");
    // The connection survives; the noise produced ERRs, all well-formed (checked per line).
    let lines = a.sync();
    assert!(
        lines.iter().any(|l| l.starts_with("ERR bad-utf8 ")),
        "no bad-utf8 error"
    );
    let (l, seen) = b.skip_to("MSG ");
    let mut got = vec![l];
    got.extend(seen);
    got.extend(b.lines_for(Duration::from_millis(300)));
    assert!(
        got.iter()
            .any(|l| msg_from(l, "noise") == Some("clean again")),
        "{got:?}"
    );
    for bad in [&b"\xff"[..], b"\x1b", b"\x00", b"\xed\xa0"] {
        assert!(
            !b.received().windows(bad.len()).any(|w| w == bad),
            "{bad:?} reached another client"
        );
    }
}

#[test]
fn terminal_escapes_are_refused_in_messages_and_names() {
    let d = Chatd::start(&[]);
    let mut victim = d.join_settled("victim");
    let mut c = d.connect();
    c.expect("ASK NAME");
    for name in ["\x1b[31mred", "x\x1b]0;owned\x07", "nul\0", "\u{9b}2J"] {
        c.send_raw(format!("{name}\n").as_bytes());
        let e = c.expect("ERR ");
        assert!(e.starts_with("ERR control-char "), "{name:?}: {e}");
    }
    // (A refused line gets no new ASK NAME; the client may simply send another name.)
    c.send_raw(b"attacker\n");
    c.expect("WELCOME ");
    c.expect("WHO ");
    let attacks: [&[u8]; 6] = [
        b"\x1b[2J\x1b[Hscreen wiped\n",
        b"/msg victim \x1b[31mred alert\n",
        b"/me \x1b]0;title\x07\n",
        b"/nick \x1b[1mbold\n",
        b"bell\x07\n",
        "c1 csi \u{9b}31m\n".as_bytes(),
    ];
    for line in attacks {
        c.send_raw(line);
        let e = c.expect("ERR ");
        assert!(e.starts_with("ERR control-char "), "{line:?}: {e}");
    }
    c.send_raw(b"plain words\n");
    let (l, before) = victim.skip_to("MSG ");
    assert_eq!(msg_from(&l, "attacker"), Some("plain words"), "{before:?}");
    assert!(
        !victim.received().contains(&0x1b),
        "an ESC byte reached another client"
    );
    assert!(!victim.received().contains(&0x07) && !victim.received().contains(&0));
    assert!(
        !victim.received().windows(2).any(|w| w == [0xc2, 0x9b]),
        "a C1 CSI reached another client"
    );
}

#[test]
fn a_client_that_never_reads_is_dropped_and_nobody_else_waits() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut sleeper = Client::from_stream(raw_connect(d.addr, None, Some(2048)));
    sleeper.join_settled("sleeper");
    let mut reader = d.join_settled("reader");
    let mut writer = d.join_settled("writer");
    writer.sync();
    let count = 20_000;
    let pad = "p".repeat(100);
    // The reader reads everything, on its own thread, counting messages in order.
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let read = thread::spawn(move || {
        let mut next = 0usize;
        let mut left = None;
        let end = Instant::now() + Duration::from_secs(60);
        while next < count && Instant::now() < end {
            let Some(l) = reader.line_within(Duration::from_secs(5)) else {
                break;
            };
            if let Some(t) = msg_from(&l, "writer") {
                let k: usize = t.split(' ').next().unwrap().parse().unwrap();
                assert_eq!(k, next, "messages out of order or lost");
                next += 1;
            } else if l.contains(" sleeper ") && l.starts_with("LEAVE ") {
                left = Some(l);
            }
        }
        flag.store(true, Ordering::SeqCst);
        (next, left)
    });
    let mut batch = String::new();
    for k in 0..count {
        batch.push_str(&format!("{k} {pad}\n"));
        if batch.len() > 16 * 1024 || k + 1 == count {
            writer.send_raw(batch.as_bytes());
            batch.clear();
        }
    }
    let (got, left) = read.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
    assert_eq!(
        got,
        count,
        "the reader did not get every message (saw the sleeper leave: {left:?}); log:\n{}",
        d.log()
    );
    let left = left.expect("the reader never saw the sleeper leave");
    assert!(left.ends_with(" slow consumer"), "{left}");
    assert!(sleeper.closes(), "the sleeper's connection was not closed");
}

#[test]
fn a_flooder_is_warned_then_dropped_and_others_are_unaffected() {
    let d = Chatd::start(&[]);
    let mut flooder = d.join_settled("flooder");
    let mut b = d.join_settled("calm");
    flooder.sync();
    let burst: String = (0..40).map(|k| format!("f{k}\n")).collect();
    flooder.send_raw(burst.as_bytes());
    let (bye, before) = flooder.skip_to("BYE ");
    assert!(bye.starts_with("BYE flood "), "{bye}");
    let warnings = before
        .iter()
        .filter(|l| l.starts_with("ERR flood "))
        .count();
    assert_eq!(warnings, 1, "{before:?}");
    let (left, seen) = b.skip_to("LEAVE ");
    assert!(left.ends_with(" flooder flood"), "{left}");
    let got: Vec<usize> = seen
        .iter()
        .filter_map(|l| msg_from(l, "flooder"))
        .map(|t| t[1..].parse().unwrap())
        .collect();
    // The name and the /who count too: 18 of the 20-line burst are left for messages.
    assert!((18..=21).contains(&got.len()), "{got:?}");
    assert_eq!(
        got,
        (0..got.len()).collect::<Vec<_>>(),
        "flood messages out of order"
    );
    assert_chat_works(&d, "fl");
}

/// Collect the `HIST` texts a new client sees.
fn replayed(d: &Chatd, name: &str) -> Vec<String> {
    let mut c = d.connect();
    c.expect("ASK NAME");
    c.send_raw(format!("{name}\n").as_bytes());
    c.expect("WELCOME ");
    c.expect("WHO ");
    c.sync()
        .iter()
        .filter_map(|l| match ServerLine::parse(l) {
            Ok(ServerLine::Hist { text, .. }) => Some(text.to_string()),
            _ => None,
        })
        .collect()
}

/// Read a client's lines on a thread until `SHUTDOWN`; return the sender's message numbers it
/// got, and whether it saw `SHUTDOWN` and then the close. `seen` counts messages as they come.
fn read_until_shutdown(
    mut c: Client,
    seen: Arc<AtomicUsize>,
) -> thread::JoinHandle<(BTreeSet<usize>, bool)> {
    thread::spawn(move || {
        let mut got = BTreeSet::new();
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            let Some(l) = c.line_within(WAIT) else {
                return (got, false);
            };
            if l.starts_with("SHUTDOWN ") {
                return (got, c.closes());
            }
            if let Some(t) = msg_from(&l, "sender") {
                got.insert(t[1..].parse().unwrap());
                seen.fetch_add(1, Ordering::SeqCst);
            }
        }
        (got, false)
    })
}

#[test]
fn sigterm_mid_burst_says_shutdown_exits_zero_and_loses_no_accepted_message() {
    let dir = TempDir::new("term");
    let mut d = Chatd::start_in(dir.path(), &["--flood", "off"]);
    let mut a = d.join_settled("sender");
    let readers: Vec<Client> = ["r1", "r2"].iter().map(|n| d.join_settled(n)).collect();
    a.sync();
    let seen = Arc::new(AtomicUsize::new(0));
    let mut reading: Vec<_> = readers
        .into_iter()
        .map(|r| read_until_shutdown(r, Arc::clone(&seen)))
        .collect();
    let mut out = a.stream.try_clone().unwrap();
    reading.push(read_until_shutdown(a, Arc::new(AtomicUsize::new(0))));
    // The sender writes as fast as it can until the server closes on it.
    let writing = thread::spawn(move || {
        let mut k = 0usize;
        while k < 200_000 {
            let batch: String = (k..k + 50).map(|m| format!("b{m}\n")).collect();
            // A failed batch may still have been partly sent: count it as written.
            k += 50;
            if std::io::Write::write_all(&mut out, batch.as_bytes()).is_err() {
                break;
            }
        }
        k
    });
    let end = Instant::now() + WAIT;
    while seen.load(Ordering::SeqCst) < 500 {
        assert!(
            Instant::now() < end,
            "the burst did not get going; log:\n{}",
            d.log()
        );
        thread::sleep(Duration::from_millis(5));
    }
    d.signal(Signal::SIGTERM);
    let results: Vec<(BTreeSet<usize>, bool)> =
        reading.into_iter().map(|h| h.join().unwrap()).collect();
    let written = writing.join().unwrap();
    for (k, (_, shut)) in results.iter().enumerate() {
        assert!(shut, "client {k} did not get SHUTDOWN and then the close");
    }
    let status = d.wait_exit();
    assert!(
        status.success(),
        "chatd exited with {status}; log:\n{}",
        d.log()
    );
    // Every message accepted before the signal was delivered or saved.
    let d2 = Chatd::start_in(dir.path(), &[]);
    let hist: Vec<usize> = replayed(&d2, "late")
        .iter()
        .map(|t| t[1..].parse().unwrap())
        .collect();
    assert!(!hist.is_empty() && hist.len() <= 10, "{hist:?}");
    assert_eq!(
        hist,
        (hist[0]..hist[0] + hist.len()).collect::<Vec<_>>(),
        "saved history has gaps"
    );
    let newest = *hist.last().unwrap();
    assert!(
        newest < written,
        "saved b{newest} but only {written} were written"
    );
    for (k, (got, _)) in results[..2].iter().enumerate() {
        let max = got.iter().next_back().copied().unwrap_or(0);
        assert!(
            max <= newest,
            "reader {k} saw b{max}, newer than the saved b{newest}"
        );
        for m in 0..=newest {
            assert!(
                got.contains(&m) || hist.contains(&m),
                "b{m} accepted but neither delivered to reader {k} nor saved"
            );
        }
    }
    assert!(results[2].0.is_empty(), "the sender got its own messages");
}

#[test]
fn kill_minus_nine_then_restart_comes_back_with_recent_history() {
    let dir = TempDir::new("kill");
    let mut d = Chatd::start_in(dir.path(), &[]);
    let mut a = d.join_settled("keeper");
    for k in 1..=3 {
        a.send_raw(format!("kept {k}\n").as_bytes());
    }
    a.sync();
    let sent = Instant::now();
    let file = d.state_dir.join("history");
    let end = sent + WAIT;
    while !std::fs::read_to_string(&file).is_ok_and(|s| s.contains("kept 3")) {
        assert!(Instant::now() < end, "history not saved within {WAIT:?}");
        thread::sleep(Duration::from_millis(20));
    }
    let lag = sent.elapsed();
    eprintln!("history saved {lag:?} after the last change");
    assert!(
        lag < Duration::from_millis(2500),
        "history saved {lag:?} after the change"
    );
    d.signal(Signal::SIGKILL);
    let status = d.wait_exit();
    assert!(!status.success());
    let d2 = Chatd::start_in(dir.path(), &[]);
    assert_eq!(replayed(&d2, "after"), ["kept 1", "kept 2", "kept 3"]);
    assert_chat_works(&d2, "k9");
}

#[test]
fn repeated_wrong_passwords_are_throttled_per_address() {
    let dir = TempDir::new("auth");
    let pw = dir.path().join("password");
    std::fs::write(&pw, "sesame\n").unwrap();
    let d = Chatd::start_in(dir.path(), &["--password-file", pw.to_str().unwrap()]);
    let from = Some(IpAddr::from(Ipv4Addr::new(127, 0, 0, 1)));
    for k in 1..=3 {
        let mut c = Client::from_stream(raw_connect(d.addr, from, None));
        c.expect("ASK PASSWORD");
        c.send_raw(b"open sesame\n");
        let bye = c.expect("BYE ");
        assert!(bye.starts_with("BYE password "), "attempt {k}: {bye}");
        assert!(c.closes());
    }
    let mut c = Client::from_stream(raw_connect(d.addr, from, None));
    let (bye, before) = c.skip_to("BYE ");
    assert!(bye.starts_with("BYE throttled "), "4th attempt: {bye}");
    assert!(!before.iter().any(|l| l.starts_with("ASK ")), "{before:?}");
    // Another address is not held back by the guesser's failures.
    let mut ok = Client::from_stream(raw_connect(
        d.addr,
        Some(IpAddr::from(Ipv4Addr::new(127, 0, 0, 2))),
        None,
    ));
    ok.expect("ASK PASSWORD");
    ok.send_raw(b"sesame\n");
    ok.join_settled("legit");
}

#[test]
fn a_client_cannot_forge_lines_or_names() {
    let d = Chatd::start(&[]);
    let mut eve = d.join_settled("eve");
    let mut bob = d.join_settled("bob");
    eve.sync();
    eve.send_raw(b"x\nMSG 2026-11-24T14:03:05Z bob forged\nJOIN 2026-11-24T14:03:05Z mallory\n");
    eve.send_raw(b"y\rMSG 2026-11-24T14:03:05Z bob cr\n");
    eve.send_raw(b"/nick BOB\n");
    let e = eve.expect("ERR ");
    assert!(e.starts_with("ERR control-char "), "{e}");
    let e = eve.expect("ERR ");
    assert!(e.starts_with("ERR name-taken "), "{e}");
    eve.send_raw(b"done\n");
    let mut lines = Vec::new();
    loop {
        let l = bob.line();
        let last = msg_from(&l, "eve") == Some("done");
        lines.push(l);
        if last {
            break;
        }
    }
    let texts: Vec<&str> = lines.iter().filter_map(|l| msg_from(l, "eve")).collect();
    assert_eq!(
        texts,
        [
            "x",
            "MSG 2026-11-24T14:03:05Z bob forged",
            "JOIN 2026-11-24T14:03:05Z mallory",
            "done"
        ],
        "{lines:?}"
    );
    for l in &lines {
        assert!(
            l.starts_with("MSG ") && msg_from(l, "eve").is_some(),
            "bob saw a line not from eve: {l}"
        );
    }
}

#[test]
fn logs_carry_no_message_text() {
    let mut d = Chatd::start(&["--log-level", "debug"]);
    let mut a = d.join_settled("loud");
    let mut b = d.join_settled("quiet");
    a.sync();
    let secrets = [
        "zq-public-7731",
        "zq-private-4410",
        "zq-action-9182",
        "zq-quit-5520",
    ];
    a.send_raw(
        format!(
            "{}\n/msg quiet {}\n/me {}\n",
            secrets[0], secrets[1], secrets[2]
        )
        .as_bytes(),
    );
    b.expect("MSG ");
    b.expect("PRIV ");
    b.expect("ME ");
    a.send_raw(format!("/quit {}\n", secrets[3]).as_bytes());
    b.expect("LEAVE ");
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit().success());
    let log = d.log();
    assert!(
        log.contains("name=loud"),
        "the log lacks the join it should record:\n{log}"
    );
    for s in secrets {
        assert!(!log.contains(s), "message text {s} reached the log:\n{log}");
    }
}

/// One client's burst of long lines (allowed by the flood limit) must not make the server drop
/// the others as slow consumers when they read everything.
#[test]
fn long_lines_within_the_flood_limit_reach_everyone() {
    let d = Chatd::start(&[]);
    let mut a = d.join_settled("longA");
    let mut b = d.join_settled("longB");
    a.sync();
    // Ten lines of 1000 bytes in one write: well within the default 20-line burst.
    let burst: String = (0..10)
        .map(|k| format!("{k} {}\n", "w".repeat(998)))
        .collect();
    a.send_raw(burst.as_bytes());
    for k in 0..10 {
        let Some(l) = b.line_within(WAIT) else {
            panic!("message {k} never came; log:\n{}", d.log());
        };
        let text = msg_from(&l, "longA").unwrap_or_else(|| panic!("unexpected {l}"));
        assert!(text.starts_with(&format!("{k} ")), "{l}");
    }
}

/// Commands whose answer is much longer than the command (`/who` with many people online,
/// `/help`) are answered in full to a client that reads, even several in one write.
#[test]
fn repeated_who_and_help_in_one_write_are_answered_in_full() {
    // 41 people online, all from 127.0.0.1.
    let d = Chatd::start(&["--max-per-address", "off"]);
    let crowd: Vec<Client> = (0..40)
        .map(|k| d.join_settled(&format!("{k:02}-a-rather-long-name-of-32-bytes")[..32]))
        .collect();
    let mut asker = d.join_settled("asker");
    asker.sync();
    asker.send_raw("/who\n".repeat(10).as_bytes());
    asker.send_raw("/help\n".repeat(5).as_bytes());
    asker.send_raw(b"/who\n");
    let mut whos = 0;
    let mut infos = 0;
    while whos < 11 {
        let Some(l) = asker.line_within(WAIT) else {
            panic!(
                "after {whos} WHO lines the asker got no more; log:\n{}",
                d.log()
            );
        };
        whos += usize::from(l.starts_with("WHO "));
        infos += usize::from(l.starts_with("INFO "));
        assert!(!l.starts_with("BYE ") && !l.starts_with("ERR "), "{l}");
    }
    assert_eq!(infos, 5 * chat_core::commands::HELP.len());
    drop(crowd);
}

/// A small deterministic generator for "random" bytes.
struct XorShift(u64);

impl XorShift {
    /// Return the next number.
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
