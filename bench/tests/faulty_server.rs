//! chat-bench against a deliberately faulty relay: the counts it reports must equal the faults
//! the relay injected (drops, duplicates, swaps), and be all zero against the same relay when it
//! behaves.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the relay did on purpose.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Injected {
    dropped: u64,
    duplicated: u64,
    swapped: u64,
    relayed: u64,
}

#[derive(Default)]
struct Room {
    members: Vec<(usize, TcpStream)>,
    held: HashMap<(usize, usize), Vec<u8>>,
    injected: Injected,
}

/// A tiny chatd-dialect relay on loopback that serves `clients` connections and then stops
/// accepting. With `faulty`, some deliveries are dropped, sent twice, or swapped with the next.
fn start_relay(clients: usize, faulty: bool) -> (u16, Arc<Mutex<Room>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let room = Arc::new(Mutex::new(Room::default()));
    let shared = Arc::clone(&room);
    thread::spawn(move || {
        for _ in 0..clients {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let room = Arc::clone(&shared);
            thread::spawn(move || serve(stream, room, clients, faulty));
        }
    });
    (port, room)
}

fn serve(stream: TcpStream, room: Arc<Mutex<Room>>, clients: usize, faulty: bool) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream);
    out.write_all(b"HELLO chatd/1 faulty relay\nASK NAME Send your name.\n")
        .unwrap();
    let mut name = String::new();
    if lines.read_line(&mut name).unwrap_or(0) == 0 {
        return;
    }
    let name = name.trim().to_string();
    let me: usize = name.trim_start_matches('b').parse().unwrap();
    {
        let mut r = room.lock().unwrap();
        r.members.push((me, out.try_clone().unwrap()));
        let names: Vec<String> = r.members.iter().map(|(i, _)| format!("b{i}")).collect();
        let hello = format!(
            "WELCOME 2026-11-24T00:00:00Z {name} hi\nWHO 2026-11-24T00:00:00Z {} {}\n",
            names.len(),
            names.join(" ")
        );
        out.write_all(hello.as_bytes()).unwrap();
        for (i, s) in r.members.iter_mut() {
            if *i != me {
                let _ = s.write_all(format!("JOIN 2026-11-24T00:00:00Z {name}\n").as_bytes());
            }
        }
    }
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = line.trim_end();
        let fields: Vec<&str> = text.split(' ').collect();
        assert_eq!(fields[0], "cb", "{text}");
        assert_eq!(fields[1].parse::<usize>().unwrap(), me);
        let seq: u32 = fields[2].parse().unwrap();
        let msg = format!("MSG 2026-11-24T00:00:00Z {name} {text}\n").into_bytes();
        let mut guard = room.lock().unwrap();
        let r = &mut *guard;
        for (to, s) in r.members.iter_mut() {
            let to = *to;
            if to == me {
                continue;
            }
            let pair = (me, to);
            if faulty && seq % 10 == 1 && (me + to).is_multiple_of(2) {
                r.injected.dropped += 1;
                continue;
            }
            if faulty && seq % 10 == 6 && to == (me + 1) % clients {
                r.held.insert(pair, msg.clone());
                continue;
            }
            let _ = s.write_all(&msg);
            r.injected.relayed += 1;
            if faulty && seq % 10 == 4 && (me + 2 * to).is_multiple_of(3) {
                let _ = s.write_all(&msg);
                r.injected.duplicated += 1;
            }
            if let Some(late) = r.held.remove(&pair) {
                let _ = s.write_all(&late);
                r.injected.swapped += 1;
                r.injected.relayed += 1;
            }
        }
    }
}

fn bench(port: u16, extra: &[&str]) -> (HashMap<String, String>, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["--proto", "chatd", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--format", "kv", "--timeout", "30", "--linger-ms", "400"])
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let map = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (map, out.status.code().unwrap_or(-1))
}

fn num(map: &HashMap<String, String>, key: &str) -> u64 {
    map.get(key)
        .unwrap_or_else(|| panic!("no {key} in {map:?}"))
        .parse()
        .unwrap()
}

fn check_faults(extra: &[&str], clients: usize, messages: u64) {
    let (port, room) = start_relay(clients, true);
    let n = clients.to_string();
    let mut args = vec!["-n", &n, "-m"];
    let m = messages.to_string();
    args.push(&m);
    args.extend_from_slice(extra);
    let (r, code) = bench(port, &args);
    let injected = room.lock().unwrap().injected;
    assert_eq!(code, 0, "{r:?}");
    assert_eq!(
        r["end"], "quiet",
        "losses mean the run ends by going quiet: {r:?}"
    );
    assert!(injected.dropped > 0 && injected.duplicated > 0 && injected.swapped > 0);
    let expected = clients as u64 * (clients as u64 - 1) * messages;
    assert_eq!(num(&r, "expected"), expected);
    assert_eq!(num(&r, "lost"), injected.dropped, "{r:?} vs {injected:?}");
    assert_eq!(
        num(&r, "duplicated"),
        injected.duplicated,
        "{r:?} vs {injected:?}"
    );
    assert_eq!(
        num(&r, "reordered"),
        injected.swapped,
        "{r:?} vs {injected:?}"
    );
    assert_eq!(num(&r, "delivered"), injected.relayed);
    assert_eq!(num(&r, "delivered") + injected.dropped, expected);
    assert_eq!(num(&r, "unexpected"), 0);
    assert_eq!(num(&r, "latency_samples"), injected.relayed);
}

#[test]
fn fast_mode_counts_exactly_the_injected_faults() {
    check_faults(&["--window", "4"], 5, 30);
}

#[test]
fn paced_mode_counts_exactly_the_injected_faults() {
    check_faults(&["--rate", "400"], 4, 30);
}

#[test]
fn a_correct_relay_gives_a_complete_clean_run() {
    let (port, room) = start_relay(6, false);
    let (r, code) = bench(port, &["-n", "6", "-m", "50", "--window", "3"]);
    assert_eq!(code, 0, "{r:?}");
    assert_eq!(r["end"], "complete");
    assert_eq!(num(&r, "expected"), 6 * 5 * 50);
    assert_eq!(num(&r, "delivered"), 6 * 5 * 50);
    assert_eq!(room.lock().unwrap().injected.relayed, 6 * 5 * 50);
    for k in [
        "lost",
        "duplicated",
        "reordered",
        "unexpected",
        "disconnects",
        "garbled",
    ] {
        assert_eq!(num(&r, k), 0, "{k}: {r:?}");
    }
    assert!(num(&r, "deliveries_per_s") > 0);
}

#[test]
fn a_server_that_never_lets_clients_in_ends_at_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and say nothing; keep the sockets open until the test ends.
    let keeper = thread::spawn(move || {
        let mut held = Vec::new();
        for _ in 0..2 {
            if let Ok((s, _)) = listener.accept() {
                held.push(s);
            }
        }
        thread::sleep(Duration::from_secs(3));
        drop(held);
    });
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "-n",
            "2",
            "--timeout",
            "1",
            "--format",
            "kv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("end=join-timeout"));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by --timeout"
    );
    keeper.join().unwrap();
}

#[test]
fn non_loopback_addresses_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["--addr", "192.0.2.1:5000", "--timeout", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8(out.stderr).unwrap().contains("loopback"));
}
