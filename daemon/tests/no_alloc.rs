//! Relaying a message allocates nothing on the heap, whichever protocol its sender and its
//! receivers speak.
//!
//! A counting global allocator counts allocations made on the server thread only
//! (`counted_server`). The daemon runs in-process on its own big-stack thread; after a
//! warm-up, thousands of messages are relayed among many loopback clients, native and IRC, and
//! the count on the server thread must not move.
#![allow(clippy::unwrap_used)]

mod counted_server;

use std::time::Duration;

use chat_core::Dialect;
use chat_testkit::{command_of, params_of, Client, IrcClient, TempDir};
use chatd::settings::ListenAddrs;
use chatd::Settings;
use counted_server::{allocations, run_phase, Chatter, PER_ROUND};

/// Native clients, then IRC clients.
const NATIVE: usize = 8;
const IRC: usize = 4;
const CLIENTS: usize = NATIVE + IRC;
const ROUNDS: usize = 60;

/// A client of either protocol.
enum Peer {
    Native(Client),
    Irc(IrcClient),
}

impl Chatter for Peer {
    fn say(&mut self, text: &str) {
        match self {
            Peer::Native(c) => c.send(text),
            Peer::Irc(c) => c.send(&format!("PRIVMSG #chat :{text}")),
        }
    }

    fn next_is_public(&mut self) -> bool {
        match self {
            Peer::Native(c) => c.next_is_public(),
            Peer::Irc(c) => {
                let l = c.line();
                let cmd = command_of(&l);
                assert!(cmd != "QUIT" && cmd != "ERROR", "{l}");
                cmd == "PRIVMSG" && params_of(&l).first().map(String::as_str) == Some("#chat")
            }
        }
    }
}

impl Peer {
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
    let ((addr, irc_addr), handle, server) = counted_server::start(settings, |daemon| {
        (
            daemon.local_addrs_of(Dialect::Native)[0],
            daemon.local_addrs_of(Dialect::Irc)[0],
        )
    });

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

    let before = allocations();
    let clients = run_phase(clients, ROUNDS, "measured");
    // Let a periodic history save happen inside the measured window as well.
    std::thread::sleep(Duration::from_millis(1200));
    let after = allocations();
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
