//! chatd in the test's own process, on a thread whose heap allocations are counted, and the
//! traffic the allocation tests measure on it (`no_alloc.rs`, `tls_alloc.rs`).
//!
//! A counting global allocator counts the allocations made on the server thread only (a
//! thread-local flag marks it), and the bytes that thread holds. The daemon runs on a big-stack
//! thread of its own; the test's clients, on threads of theirs, are not counted.
#![allow(dead_code, unsafe_code, clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread::JoinHandle;

use chat_testkit::{Client, WAIT};
use chatd::{Daemon, Handle, Settings};

/// Messages every client sends per round of [`run_phase`].
pub const PER_ROUND: usize = 5;

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

/// Return how many allocations (and reallocations) the server thread has made so far.
pub fn allocations() -> u64 {
    SERVER_ALLOCS.load(Ordering::SeqCst)
}

/// Return how many heap bytes the server thread has allocated and not freed.
pub fn live_bytes() -> i64 {
    SERVER_LIVE_BYTES.load(Ordering::SeqCst)
}

/// Bind a daemon with `settings` and run it on a counted thread; return what `addrs` takes
/// from it once bound (where it listens), its handle to stop it, and the thread to join.
pub fn start<T: Send + 'static>(
    settings: Settings,
    addrs: impl FnOnce(&Daemon) -> T + Send + 'static,
) -> (T, Handle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let server = std::thread::Builder::new()
        .name("chatd-server".into())
        .stack_size(32 << 20)
        .spawn(move || {
            ON_SERVER_THREAD.with(|f| f.set(true));
            let mut daemon = Daemon::bind(&settings).unwrap();
            tx.send((addrs(&daemon), daemon.handle())).unwrap();
            daemon.run().unwrap();
            ON_SERVER_THREAD.with(|f| f.set(false));
        })
        .unwrap();
    let (addrs, handle) = rx.recv_timeout(WAIT).unwrap();
    (addrs, handle, server)
}

/// A client in the measured traffic.
pub trait Chatter: Send + 'static {
    /// Say `text` to the room.
    fn say(&mut self, text: &str);
    /// Read the next line and return whether it is a public message; fail on a goodbye.
    fn next_is_public(&mut self) -> bool;
}

impl Chatter for Client {
    fn say(&mut self, text: &str) {
        self.send(text);
    }

    fn next_is_public(&mut self) -> bool {
        let l = self.line();
        assert!(!l.starts_with("LEAVE") && !l.starts_with("BYE"), "{l}");
        l.starts_with("MSG ")
    }
}

/// Every client sends `PER_ROUND` messages per round, then reads until it has everybody
/// else's messages for that round, so nobody falls far behind.
pub fn run_phase<C: Chatter>(clients: Vec<C>, rounds: usize, tag: &str) -> Vec<C> {
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
    let mut out: Vec<(usize, C)> = rx.iter().take(n).collect();
    assert_eq!(out.len(), n, "a client thread failed");
    out.sort_by_key(|(k, _)| *k);
    out.into_iter().map(|(_, c)| c).collect()
}
