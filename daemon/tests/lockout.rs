//! A hostile LAN against the real chatd on loopback (issue 10, items 1–3): one address cannot
//! take every slot, the last slots stay open to newcomers, the password throttle holds for
//! every guess however many connections carry them, and guessing from many addresses in turn
//! is slowed by a budget shared by all. Loopback gives a test as many source addresses as it
//! wants: every 127.x.y.z is this machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use chat_core::config::{AUTH_BUDGET_BURST, AUTH_BUDGET_REFILL, AUTH_FAILURES_ALLOWED};
use chat_testkit::{msg_from, Chatd, Client, Launch};

fn ip(b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, b, c))
}

const ASK_NAME: &str = "ASK NAME Send your name (1-32 bytes, no spaces).";

/// Connect from `from` and return the connection and the first line it got.
fn first_line(d: &Chatd, from: IpAddr) -> (Client, String) {
    let mut c = d.connect_from(from);
    let l = c.line();
    (c, l)
}

/// Connect from `from` until a connection is refused (at most `tries`); return the ones
/// that got in and the refusal's `BYE` line.
fn fill(d: &Chatd, from: IpAddr, tries: usize) -> (Vec<Client>, Option<String>) {
    let mut kept = Vec::new();
    for _ in 0..tries {
        let (mut c, l) = first_line(d, from);
        if l.starts_with("HELLO ") {
            kept.push(c);
        } else {
            assert!(c.closes(), "a refused connection stays open: {l}");
            return (kept, Some(l));
        }
    }
    (kept, None)
}

/// Join as `name` from `from` and say something that `other` must hear.
fn join_and_chat(d: &Chatd, from: IpAddr, name: &str, other: &mut Client) -> Client {
    let mut c = d.connect_from(from);
    c.join_settled(name);
    c.send(&format!("hello from {name}"));
    let l = other.expect("MSG ");
    assert_eq!(
        msg_from(&l, name),
        Some(format!("hello from {name}").as_str())
    );
    c
}

#[test]
fn one_address_with_256_idle_connections_cannot_lock_others_out() {
    // Before: all 256 got HELLO and every other address got `BYE full`.
    let d = Chatd::start(&[]);
    let mut watcher = d.connect_from(ip(0, 9));
    watcher.join_settled("watcher");
    let hog = ip(0, 2);
    let mut kept = Vec::new();
    let mut refused = 0;
    for k in 0..256 {
        let (mut c, l) = first_line(&d, hog);
        if l.starts_with("HELLO ") {
            kept.push(c);
        } else {
            assert!(
                l.starts_with("BYE too-many Too many connections from your address"),
                "{k}: {l}"
            );
            assert!(c.closes(), "{k}: the refused connection stays open");
            refused += 1;
        }
    }
    assert_eq!((kept.len(), refused), (8, 248));
    let log = d.wait_log("refused peer=127.0.0.2:");
    assert!(log.ends_with("reason=per-address"), "{log}");
    join_and_chat(&d, ip(0, 3), "ana", &mut watcher);
    // The hog's own connections still work: it is capped, not banned.
    let mut own = kept.pop().unwrap();
    own.join("hog");
}

#[test]
fn the_last_slots_go_to_addresses_with_no_connection() {
    // 20 slots keep ceil(20 / 16) = 2 for addresses that hold none.
    let d = Chatd::start(&["--max-clients", "20"]);
    let (a, a_bye) = fill(&d, ip(0, 2), 20);
    assert_eq!(a.len(), 8, "{a_bye:?}");
    let (b, _) = fill(&d, ip(0, 3), 20);
    assert_eq!(b.len(), 8);
    let (c, c_bye) = fill(&d, ip(0, 4), 20);
    assert_eq!(c.len(), 2, "18 of 20 taken: only new addresses now");
    let c_bye = c_bye.unwrap();
    assert!(
        c_bye.starts_with("BYE too-many The last free slots are kept for new addresses"),
        "{c_bye}"
    );
    let log = d.wait_log("reason=reserve");
    assert!(log.contains("refused peer=127.0.0.4:"), "{log}");
    let (_n1, l1) = first_line(&d, ip(0, 5));
    let (_n2, l2) = first_line(&d, ip(0, 6));
    assert!(
        l1.starts_with("HELLO ") && l2.starts_with("HELLO "),
        "{l1} / {l2}"
    );
    let (mut full, l3) = first_line(&d, ip(0, 7));
    assert!(l3.starts_with("BYE full "), "the table is full now: {l3}");
    assert!(full.closes());
}

#[test]
fn a_hog_that_reconnects_after_each_join_timeout_never_locks_others_out() {
    // Two hog addresses refill the slots after every join timeout; before, they took every
    // free slot and each newcomer got `BYE full`. Now they get 8 and the rest short of the
    // last slot (16 keep 1 for addresses with no connection), so a newcomer always gets in.
    let d = Chatd::start(&["--max-clients", "16", "--join-timeout", "1"]);
    let mut watcher = d.connect_from(ip(0, 9));
    watcher.join_settled("watcher");
    for round in 0..3u8 {
        let (mut hog, _) = fill(&d, ip(0, 2), 16);
        let (more, _) = fill(&d, ip(0, 3), 16);
        hog.extend(more);
        assert!(
            hog.len() <= 14,
            "round {round}: the hog holds {}",
            hog.len()
        );
        let newcomer = join_and_chat(&d, ip(1, round + 1), &format!("new{round}"), &mut watcher);
        drop(newcomer);
        let leave = watcher.expect("LEAVE ");
        assert!(leave.contains(&format!(" new{round} ")), "{leave}");
        // The hog's connections time out; it comes back next round.
        for (k, h) in hog.iter_mut().enumerate() {
            let bye = h.expect("BYE ");
            assert!(
                bye.starts_with("BYE timeout "),
                "round {round}, hog {k}: {bye}"
            );
            assert!(h.closes());
        }
    }
}

#[test]
fn eight_connections_opened_at_once_get_three_guesses_checked_not_eight() {
    // Before: the throttle was consulted only on connect, so every connection opened before
    // the third failure had its guess checked, and the eighth, right, one got in.
    let d = Launch::new().password("sesame").start();
    let from = ip(0, 2);
    let mut conns: Vec<Client> = (0..8)
        .map(|_| {
            let mut c = d.connect_from(from);
            c.expect("ASK PASSWORD");
            c
        })
        .collect();
    let allowed = usize::from(AUTH_FAILURES_ALLOWED);
    for (k, c) in conns.iter_mut().enumerate() {
        c.send(if k == 7 { "sesame" } else { "open sesame" });
        let got = c.line();
        if k < allowed {
            assert_eq!(got, "BYE password Wrong password.", "guess {k}");
        } else {
            assert_eq!(
                got,
                "BYE throttled Too many wrong passwords from your address; wait and try again.",
                "guess {k}"
            );
        }
        assert!(c.closes(), "guess {k}: still open");
    }
    let log = d.log();
    assert_eq!(
        log.matches("auth-failure peer=127.0.0.2:").count(),
        allowed,
        "{log}"
    );
    assert_eq!(
        log.matches("auth-throttled peer=127.0.0.2:").count(),
        8 - allowed,
        "{log}"
    );
    // Another address may still log in.
    let mut ok = d.connect_from(ip(0, 3));
    ok.expect("ASK PASSWORD");
    ok.send("sesame");
    assert_eq!(ok.line(), ASK_NAME);
}

/// Guess once from `from`; return whether the guess was checked (`BYE password`) rather than
/// held (`BYE throttled`, before or after `ASK PASSWORD`).
fn guess_once(d: &Chatd, from: IpAddr, guess: &str) -> bool {
    let (mut c, hello) = first_line(d, from);
    if hello.starts_with("BYE throttled ") {
        return false;
    }
    assert!(hello.starts_with("HELLO "), "{from}: {hello}");
    c.expect("ASK PASSWORD");
    c.send(guess);
    let bye = c.line();
    assert!(c.closes(), "{from}: {bye}");
    match bye.split(' ').nth(1) {
        Some("password") => true,
        Some("throttled") => false,
        _ => panic!("{from}: {bye}"),
    }
}

#[test]
fn forty_addresses_guessing_in_turn_are_slowed_by_the_global_budget() {
    // Before: a table of 32 addresses evicting the oldest meant 40 addresses in turn were
    // never throttled: all 120 guesses were checked.
    let d = Launch::new().password("sesame").start();
    let start = Instant::now();
    let mut checked = 0u64;
    for round in 0..3 {
        for n in 1..=40 {
            if guess_once(&d, ip(1, n), &format!("guess{round}")) {
                checked += 1;
            }
        }
    }
    // The server's budget refills one guess per AUTH_BUDGET_REFILL of its own time, which
    // is within the test's.
    let earned = start.elapsed().as_millis() / AUTH_BUDGET_REFILL.as_millis();
    let most = u64::from(AUTH_BUDGET_BURST) + u64::try_from(earned).unwrap() + 1;
    assert!(
        checked >= u64::from(AUTH_BUDGET_BURST),
        "{checked} guesses checked"
    );
    assert!(
        checked <= most,
        "{checked} of 120 guesses checked; at most {most} may be"
    );
    d.wait_log("auth-budget-exhausted peer=127.0.1.");
}

#[test]
fn a_blocked_address_stays_blocked_while_many_others_fail() {
    // Before: 32 other addresses failing once each pushed the blocked one out of the table,
    // and it could guess again at once.
    let d = Launch::new().password("sesame").start();
    let guesser = ip(0, 2);
    for k in 0..AUTH_FAILURES_ALLOWED {
        assert!(guess_once(&d, guesser, "nope"), "failure {k}");
    }
    for n in 1..=40 {
        guess_once(&d, ip(2, n), "other");
    }
    let (mut c, l) = first_line(&d, guesser);
    assert!(l.starts_with("BYE throttled "), "unblocked: {l}");
    assert!(c.closes());
}
