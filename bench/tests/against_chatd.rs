//! chat-bench against the real chatd binary: the chatd dialect end to end, with exact counts.
//!
//! chatd is found (and built if cargo says it is out of date) by chat-testkit; set `CHATD_BIN`
//! to test another binary.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::process::Command;

use chat_testkit::Chatd;

fn bench(port: u16, pid: u32, extra: &[&str]) -> HashMap<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["--proto", "chatd", "--addr", &format!("127.0.0.1:{port}")])
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

fn run_against_chatd(extra: &[&str], clients: u64, messages: u64) {
    // Every client connects from 127.0.0.1, as in bench/run.sh.
    let server = Chatd::start(&[
        "--flood",
        "off",
        "--max-clients",
        "64",
        "--max-per-address",
        "off",
    ]);
    let n = clients.to_string();
    let m = messages.to_string();
    let mut args = vec!["-n", n.as_str(), "-m", m.as_str()];
    args.extend_from_slice(extra);
    let r = bench(server.addr.port(), server.pid(), &args);
    drop(server);
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

#[test]
fn fast_mode_over_tls_delivers_everything() {
    let server = chat_testkit::Launch::new()
        .tls()
        .args(&["--flood", "off", "--max-clients", "64"])
        .start();
    let port = server.tls_addr.unwrap().port();
    let r = bench(port, server.pid(), &["-n", "6", "-m", "40", "--tls"]);
    drop(server);
    assert_eq!(r.get("end").map(String::as_str), Some("complete"), "{r:?}");
    assert_eq!(r["tls"], "yes", "{r:?}");
    assert_eq!(r["delivered"], (6 * 5 * 40).to_string(), "{r:?}");
    for k in ["lost", "duplicated", "reordered", "disconnects", "refused"] {
        assert_eq!(r[k], "0", "{k}: {r:?}");
    }
}
