//! chat-bench against the real chatd binary: the chatd dialect and the IRC one end to end,
//! with exact counts.
//!
//! chatd is found (and built if cargo says it is out of date) by chat-testkit; set `CHATD_BIN`
//! to test another binary.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::process::Command;

use chat_testkit::{Chatd, Launch};

fn bench(port: u16, pid: u32, extra: &[&str]) -> HashMap<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args([
            "--format",
            "kv",
            "--timeout",
            "30",
            "--server-pid",
            &pid.to_string(),
        ])
        .args(extra)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// chatd as bench/run.sh starts it: every client connects from 127.0.0.1.
const SERVER_ARGS: [&str; 6] = [
    "--flood",
    "off",
    "--max-clients",
    "64",
    "--max-per-address",
    "off",
];

fn run_against_chatd(extra: &[&str], clients: u64, messages: u64) {
    let server = Chatd::start(&SERVER_ARGS);
    let port = server.addr.port();
    let mut args = vec!["--proto", "chatd"];
    args.extend_from_slice(extra);
    check_run(&server, port, &args, clients, messages);
}

/// Run chat-bench with `extra` against `port` of `server`, and check that every message
/// reached every other client once, in order, and nothing else happened.
fn check_run(server: &Chatd, port: u16, extra: &[&str], clients: u64, messages: u64) {
    let n = clients.to_string();
    let m = messages.to_string();
    let mut args = vec!["-n", n.as_str(), "-m", m.as_str()];
    args.extend_from_slice(extra);
    let r = bench(port, server.pid(), &args);
    let expected = clients * (clients - 1) * messages;
    assert_eq!(r.get("end").map(String::as_str), Some("complete"), "{r:?}");
    assert_eq!(r["delivered"], expected.to_string(), "{r:?}");
    for k in [
        "lost",
        "duplicated",
        "reordered",
        "unexpected",
        "disconnects",
        "refused",
    ] {
        assert_eq!(r[k], "0", "{k}: {r:?}");
    }
    assert!(
        r["server_peak_rss_kib"].parse::<u64>().unwrap() > 0,
        "{r:?}"
    );
    assert_eq!(r["server_threads"], "1", "{r:?}");
}

#[test]
fn chatd_relays_every_message_once_in_order_paced() {
    run_against_chatd(&["--rate", "200"], 6, 40);
}

#[test]
fn chatd_relays_every_message_once_in_order_window_1() {
    run_against_chatd(&["--window", "1"], 8, 200);
}

/// The slow-consumer false positive of docs/BENCHMARKS.md: a burst of input whose fan-out
/// exceeds a client's 8 KiB queue must not get clients that read promptly disconnected.
/// In flight per receiver: 15 senders x 16 lines x ~85 B = 20 KB, which the sockets hold.
#[test]
fn chatd_keeps_prompt_readers_under_a_window_of_16() {
    run_against_chatd(&["--window", "16"], 16, 300);
}

/// The IRC row of docs/BENCHMARKS.md: chat-bench's IRC mode against chatd's IRC listener,
/// started as bench/run.sh starts it (the channel named as chat-bench's default).
#[test]
fn chatd_s_irc_side_relays_every_message_once_in_order() {
    let server = Launch::new()
        .irc()
        .args(&SERVER_ARGS)
        .args(&["--irc-channel", "#bench"])
        .start();
    let port = server.irc_addr.unwrap().port();
    check_run(
        &server,
        port,
        &["--proto", "irc", "--window", "16"],
        12,
        200,
    );
}

/// The TLS row: chat-bench over TLS against chatd's TLS listener, every delivery counted.
#[test]
fn fast_mode_over_tls_delivers_everything() {
    let server = Launch::new().tls().args(&SERVER_ARGS).start();
    let port = server.tls_addr.unwrap().port();
    check_run(
        &server,
        port,
        &["--proto", "chatd", "--tls", "--window", "16"],
        6,
        40,
    );
}
