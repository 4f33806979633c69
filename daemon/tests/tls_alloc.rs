//! What TLS costs the daemon thread in heap: bytes per connection, and allocations per
//! relayed message.
//!
//! rustls 0.23's unbuffered API allocates once per record it decrypts and once per record it
//! encrypts (see `daemon/src/tls/session.rs`); everything else is allocated when a connection
//! is accepted. A counting global allocator counts what the server thread allocates
//! (`counted_server`, as in `no_alloc.rs`). The test asserts the bound the docs
//! state — at most one allocation per record received plus one per delivery — and prints the
//! measured figures (`cargo test -p chatd --test tls_alloc -- --nocapture`), which
//! docs/BENCHMARKS.md quotes.
#![allow(clippy::unwrap_used)]

mod counted_server;

use chat_testkit::{Client, TempDir};
use chatd::settings::ListenAddrs;
use chatd::Settings;
use counted_server::{allocations, live_bytes, run_phase, PER_ROUND};

const CLIENTS: usize = 12;
const ROUNDS: usize = 60;

#[test]
fn tls_connections_cost_fixed_memory_and_one_allocation_per_record() {
    let dir = TempDir::new("tls-alloc");
    let settings = Settings {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        tls_listen: ListenAddrs::At(vec!["127.0.0.1:0".parse().unwrap()]),
        flood: None,
        state_dir: Some(dir.path().to_path_buf()),
        // Twelve clients from one address.
        max_per_address: None,
        ..Settings::default()
    };
    let (addr, handle, server) = counted_server::start(settings, |daemon| daemon.tls_addrs()[0]);

    // Memory: what the server thread holds per joined TLS connection.
    let mut first = Client::connect_tls(addr);
    first.join_settled("first");
    let live_before = live_bytes();
    let allocs_before = allocations();
    let mut clients = vec![first];
    for k in 1..CLIENTS {
        let mut c = Client::connect_tls(addr);
        c.join_settled(&format!("user{k}"));
        clients.push(c);
    }
    for (k, c) in clients.iter_mut().enumerate() {
        for _ in k + 1..CLIENTS {
            c.expect("JOIN ");
        }
    }
    let joined = (CLIENTS - 1) as i64;
    let per_conn = (live_bytes() - live_before) / joined;
    let handshake_allocs = (allocations() - allocs_before) / joined as u64;
    println!("tls-memory bytes-per-connection={per_conn} allocations-per-accept-and-handshake={handshake_allocs}");
    let buffers = (chatd::tls::session::IN_BUF + chatd::tls::session::OUT_BUF) as i64;
    assert!(
        per_conn >= buffers && per_conn < buffers + 16 * 1024,
        "a TLS connection holds its two buffers and a few KiB of rustls state: {per_conn} bytes"
    );

    // Allocations per message, after a warm-up of the same traffic.
    let clients = run_phase(clients, 10, "warm");
    let before = allocations();
    let clients = run_phase(clients, ROUNDS, "measured");
    let allocs = allocations() - before;
    let messages = (ROUNDS * PER_ROUND * CLIENTS) as u64;
    let deliveries = messages * (CLIENTS as u64 - 1);
    println!(
        "tls-allocations messages={messages} deliveries={deliveries} allocations={allocs} \
         per-message={:.2} per-delivery={:.3}",
        allocs as f64 / messages as f64,
        allocs as f64 / deliveries as f64
    );
    // Each message is one record from its sender (one allocation to decrypt it) and reaches
    // every other client in a record it shares with whatever else was pending (at most one
    // allocation each).
    assert!(
        allocs <= messages + deliveries,
        "{allocs} allocations for {messages} messages and {deliveries} deliveries"
    );
    assert!(
        allocs > 0,
        "the counter must see rustls's per-record allocations"
    );

    handle.stop();
    drop(clients);
    server.join().unwrap();
}
