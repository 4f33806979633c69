//! chat-bench against the real chatd binary: the chatd dialect end to end, with exact counts.
//!
//! The binary is looked up in this workspace's target directory (built by `cargo test
//! --workspace`, which builds chatd for its own tests before any test runs). When it is missing
//! (e.g. `cargo test -p chat-bench` on a fresh tree) the tests say so and do nothing.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chatd_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CHATD_BIN") {
        return PathBuf::from(p);
    }
    // The chat-bench binary under test sits in the same profile directory as chatd.
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_chat-bench"));
    let dir = bench.parent().expect("target dir").to_path_buf();
    let bin = dir.join("chatd");
    let _g = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    if !bin.is_file() {
        // `cargo test -p chat-bench` alone does not build other packages' binaries.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "chatd", "--target-dir"])
            .arg(dir.parent().expect("target root"))
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build -p chatd");
        assert!(
            st.success(),
            "cargo build -p chatd failed; set CHATD_BIN to a chatd binary"
        );
    }
    assert!(bin.is_file(), "no chatd at {}", bin.display());
    bin
}

/// Serialises building chatd between the tests of this file.
static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Start chatd on a free loopback port; return it and the port once it logs `listening`.
fn start_chatd(bin: &PathBuf, state: &std::path::Path) -> (Server, u16) {
    let mut child = Command::new(bin)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--flood",
            "off",
            "--max-clients",
            "64",
        ])
        .arg("--state-dir")
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("addr=127.0.0.1:").nth(1) {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(port.parse::<u16>().unwrap());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("chatd logs its listening address");
    (server, port)
}

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
    let bin = chatd_binary();
    let state =
        std::env::temp_dir().join(format!("chat-bench-test-{}-{clients}", std::process::id()));
    std::fs::create_dir_all(&state).unwrap();
    let (server, port) = start_chatd(&bin, &state);
    let n = clients.to_string();
    let m = messages.to_string();
    let mut args = vec!["-n", n.as_str(), "-m", m.as_str()];
    args.extend_from_slice(extra);
    let r = bench(port, server.0.id(), &args);
    drop(server);
    let _ = std::fs::remove_dir_all(&state);
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
