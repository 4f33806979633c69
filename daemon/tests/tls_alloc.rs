//! What TLS costs the daemon thread in heap: bytes per connection, and allocations per
//! relayed message.
//!
//! rustls 0.23's unbuffered API allocates once per record it decrypts and once per record it
//! encrypts (see `daemon/src/tls/session.rs`); everything else is allocated when a connection
//! is accepted. A counting global allocator counts what the server thread allocates (a
//! thread-local flag marks it), as in `no_alloc.rs`. The test asserts the bound the docs
//! state — at most one allocation per record received plus one per delivery — and prints the
//! measured figures (`cargo test -p chatd --test tls_alloc -- --nocapture`), which
//! docs/BENCHMARKS.md quotes.
#![allow(clippy::unwrap_used, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};

use chat_testkit::{Client, TempDir, WAIT};
use chatd::settings::ListenAddrs;
use chatd::{Daemon, Settings};

struct Counting;

thread_local! {
    static ON_SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

static SERVER_ALLOCS: AtomicU64 = AtomicU64::new(0);
static SERVER_LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

fn on_server() -> bool {
    // `try_with`: during thread teardown the flag may be gone; such allocations are not ours.
    ON_SERVER_THREAD.try_with(Cell::get).unwrap_or(false)
}

fn grew(n: usize) {
    if on_server() {
        SERVER_ALLOCS.fetch_add(1, Ordering::SeqCst);
        SERVER_LIVE_BYTES.fetch_add(n as i64, Ordering::SeqCst);
    }
}

fn shrank(n: usize) {
    if on_server() {
        SERVER_LIVE_BYTES.fetch_sub(n as i64, Ordering::SeqCst);
    }
}

// SAFETY: every method forwards to the system allocator unchanged; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        shrank(layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CLIENTS: usize = 12;
const ROUNDS: usize = 60;
const PER_ROUND: usize = 5;

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
    let (tx, rx) = mpsc::channel();
    let server = std::thread::Builder::new()
        .name("chatd-server".into())
        .stack_size(32 << 20)
        .spawn(move || {
            ON_SERVER_THREAD.with(|f| f.set(true));
            let mut daemon = Daemon::bind(&settings).unwrap();
            tx.send((daemon.tls_addrs()[0], daemon.handle())).unwrap();
            daemon.run().unwrap();
            ON_SERVER_THREAD.with(|f| f.set(false));
        })
        .unwrap();
    let (addr, handle) = rx.recv_timeout(WAIT).unwrap();

    // Memory: what the server thread holds per joined TLS connection.
    let mut first = Client::connect_tls(addr);
    first.join_settled("first");
    let live_before = SERVER_LIVE_BYTES.load(Ordering::SeqCst);
    let allocs_before = SERVER_ALLOCS.load(Ordering::SeqCst);
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
    let per_conn = (SERVER_LIVE_BYTES.load(Ordering::SeqCst) - live_before) / joined;
    let handshake_allocs = (SERVER_ALLOCS.load(Ordering::SeqCst) - allocs_before) / joined as u64;
    println!("tls-memory bytes-per-connection={per_conn} allocations-per-accept-and-handshake={handshake_allocs}");
    let buffers = (chatd::tls::session::IN_BUF + chatd::tls::session::OUT_BUF) as i64;
    assert!(
        per_conn >= buffers && per_conn < buffers + 16 * 1024,
        "a TLS connection holds its two buffers and a few KiB of rustls state: {per_conn} bytes"
    );

    // Allocations per message, after a warm-up of the same traffic.
    let clients = run_phase(clients, 10, "warm");
    let before = SERVER_ALLOCS.load(Ordering::SeqCst);
    let clients = run_phase(clients, ROUNDS, "measured");
    let allocs = SERVER_ALLOCS.load(Ordering::SeqCst) - before;
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

/// Every client sends `PER_ROUND` messages per round, then reads until it has everybody
/// else's messages for that round, so nobody falls far behind.
fn run_phase(clients: Vec<Client>, rounds: usize, tag: &str) -> Vec<Client> {
    let n = clients.len();
    let (tx, rx) = mpsc::channel();
    let barrier = Arc::new(Barrier::new(n));
    for (k, mut c) in clients.into_iter().enumerate() {
        let barrier = Arc::clone(&barrier);
        let tag = tag.to_string();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut got = 0;
            for r in 0..rounds {
                for i in 0..PER_ROUND {
                    c.send(&format!("{tag} {k} {r} {i} olá, mundo"));
                }
                let want = (r + 1) * PER_ROUND * (n - 1);
                while got < want {
                    let l = c.line();
                    assert!(!l.starts_with("LEAVE") && !l.starts_with("BYE"), "{l}");
                    if l.starts_with("MSG ") {
                        got += 1;
                    }
                }
                barrier.wait();
            }
            tx.send((k, c)).unwrap();
        });
    }
    drop(tx);
    let mut out: Vec<(usize, Client)> = rx.iter().take(n).collect();
    assert_eq!(out.len(), n, "a client thread failed");
    out.sort_by_key(|(k, _)| *k);
    out.into_iter().map(|(_, c)| c).collect()
}
