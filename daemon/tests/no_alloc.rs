//! Relaying a message allocates nothing on the heap, whichever protocol its sender and its
//! receivers speak.
//!
//! A counting global allocator counts allocations made on the server thread only (a
//! thread-local flag marks it). The daemon runs in-process on its own big-stack thread; after
//! a warm-up, thousands of messages are relayed among many loopback clients, native and IRC,
//! and the count on the server thread must not move.
#![allow(clippy::unwrap_used, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

use chat_core::Dialect;
use chat_testkit::{command_of, params_of, Client, IrcClient, TempDir, WAIT};
use chatd::settings::ListenAddrs;
use chatd::{Daemon, Settings};

struct Counting;

thread_local! {
    static ON_SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

static SERVER_ALLOCS: AtomicU64 = AtomicU64::new(0);

fn count() {
    // `try_with`: during thread teardown the flag may be gone; such allocations are not ours.
    if ON_SERVER_THREAD.try_with(Cell::get).unwrap_or(false) {
        SERVER_ALLOCS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: every method forwards to the system allocator unchanged; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Native clients, then IRC clients.
const NATIVE: usize = 8;
const IRC: usize = 4;
const CLIENTS: usize = NATIVE + IRC;
const ROUNDS: usize = 60;
const PER_ROUND: usize = 5;

/// A client of either protocol.
enum Peer {
    Native(Client),
    Irc(IrcClient),
}

impl Peer {
    /// Say `text` to the room.
    fn say(&mut self, text: &str) {
        match self {
            Peer::Native(c) => c.send(text),
            Peer::Irc(c) => c.send(&format!("PRIVMSG #chat :{text}")),
        }
    }

    /// Read the next line and return whether it is a public message; fail on a goodbye.
    fn next_is_public(&mut self) -> bool {
        match self {
            Peer::Native(c) => {
                let l = c.line();
                assert!(!l.starts_with("LEAVE") && !l.starts_with("BYE"), "{l}");
                l.starts_with("MSG ")
            }
            Peer::Irc(c) => {
                let l = c.line();
                let cmd = command_of(&l);
                assert!(cmd != "QUIT" && cmd != "ERROR", "{l}");
                cmd == "PRIVMSG" && params_of(&l).first().map(String::as_str) == Some("#chat")
            }
        }
    }

    /// Read until `n` more clients have joined.
    fn see_joins(&mut self, n: usize) {
        for _ in 0..n {
            match self {
                Peer::Native(c) => drop(c.expect("JOIN ")),
                Peer::Irc(c) => drop(c.expect("JOIN")),
            }
        }
    }
}

#[test]
fn relaying_messages_allocates_nothing_on_the_server_thread() {
    let dir = TempDir::new("noalloc");
    let settings = Settings {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        irc_listen: ListenAddrs::At(vec!["127.0.0.1:0".parse().unwrap()]),
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
            let native = daemon.local_addrs_of(Dialect::Native)[0];
            let irc = daemon.local_addrs_of(Dialect::Irc)[0];
            tx.send((native, irc, daemon.handle())).unwrap();
            daemon.run().unwrap();
            ON_SERVER_THREAD.with(|f| f.set(false));
        })
        .unwrap();
    let (addr, irc_addr, handle) = rx.recv_timeout(WAIT).unwrap();

    let mut clients = Vec::new();
    for k in 0..CLIENTS {
        if k < NATIVE {
            let mut c = Client::connect(addr);
            c.expect("ASK NAME");
            c.send(&format!("user{k}"));
            c.expect("WELCOME ");
            clients.push(Peer::Native(c));
        } else {
            let mut c = IrcClient::connect(irc_addr);
            c.register(&format!("user{k}"));
            clients.push(Peer::Irc(c));
        }
    }
    // Everybody sees everybody's JOIN before the chat starts.
    for (k, c) in clients.iter_mut().enumerate() {
        c.see_joins(CLIENTS - k - 1);
    }
    // Warm-up: the same traffic as measured, including a periodic history save.
    let clients = run_phase(clients, 10, "warm");
    std::thread::sleep(Duration::from_millis(1200));
    let clients = run_phase(clients, 5, "warm2");

    let before = SERVER_ALLOCS.load(Ordering::SeqCst);
    let clients = run_phase(clients, ROUNDS, "measured");
    // Let a periodic history save happen inside the measured window as well.
    std::thread::sleep(Duration::from_millis(1200));
    let after = SERVER_ALLOCS.load(Ordering::SeqCst);
    let relayed = ROUNDS * PER_ROUND * CLIENTS;
    assert_eq!(
        after - before,
        0,
        "the server thread allocated {} times while relaying {relayed} messages",
        after - before
    );
    assert!(
        before > 0,
        "the counter must see the server's start-up allocations"
    );

    handle.stop();
    drop(clients);
    server.join().unwrap();
    let saved = std::fs::read_to_string(dir.join("history")).unwrap();
    assert_eq!(saved.lines().count(), 10);
}

/// Every client sends `PER_ROUND` messages per round, then reads until it has everybody
/// else's messages for that round, so nobody falls far behind.
fn run_phase(clients: Vec<Peer>, rounds: usize, tag: &str) -> Vec<Peer> {
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
                    c.say(&format!("{tag} {k} {r} {i} olá, mundo"));
                }
                let want = (r + 1) * PER_ROUND * (n - 1);
                while got < want {
                    if c.next_is_public() {
                        got += 1;
                    }
                }
                barrier.wait();
            }
            tx.send((k, c)).unwrap();
        });
    }
    drop(tx);
    let mut out: Vec<(usize, Peer)> = rx.iter().take(n).collect();
    assert_eq!(out.len(), n, "a client thread failed");
    out.sort_by_key(|(k, _)| *k);
    out.into_iter().map(|(_, c)| c).collect()
}
