//! Drive `Server` with arbitrary event sequences — connects, bytes, closes, drains, ticks,
//! shutdown — and check its invariants after every step, and that every byte it sends forms
//! well-formed lines without control characters.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use arbitrary::Arbitrary;
use chat_core::config::{OUT_QUEUE, RING_BYTES};
use chat_core::flood::FloodLimit;
use chat_core::slot::Phase;
use chat_core::{CloseReason, Config, ConnId, Instant, Server, ServerLine};
use libfuzzer_sys::fuzz_target;

/// Slots: few, so that the server fills up.
const SLOTS: usize = 6;
/// The password when one is set.
const PASSWORD: &[u8] = b"pw";

/// Lines worth sending whole, so the fuzzer gets past joining quickly.
const LINES: &[&[u8]] = &[
    b"pw",
    b"ana",
    b"ANA",
    b"bob",
    b"Jos\xc3\xa9",
    b"hello",
    b"/msg ana hi",
    b"@privado:bob x",
    b"/nick bob",
    b"/nick ana",
    b"/quit",
    b"/quit bye",
    b"@sair",
    b"/sair",
    b"/who",
    b"/help",
    b"/me waves",
    b"//x",
    b"/frob",
    b"/msg",
    b"\x1b[2J",
    b"a\x00b",
    b"\xff\xfe",
    b"",
];

#[derive(Debug, Arbitrary)]
enum Event {
    Accept {
        ip: u8,
        port: u16,
    },
    Bytes {
        who: u8,
        data: Vec<u8>,
    },
    Line {
        who: u8,
        line: u8,
        crlf: bool,
    },
    Long {
        who: u8,
        len: u16,
    },
    /// Many valid lines from one client, a line at a time, draining everyone on pressure if
    /// `drain`: enough of these go round the broadcast ring (by bytes or by records).
    Spam {
        who: u8,
        count: u8,
        len: u16,
        drain: bool,
    },
    Close {
        who: u8,
        reason: u8,
    },
    Drain {
        who: u8,
        amount: Option<u16>,
    },
    PollClose {
        flush: bool,
    },
    Tick {
        ms: u32,
    },
    Shutdown,
}

#[derive(Debug, Arbitrary)]
struct Input {
    max_clients: u8,
    flood: Option<(u8, u8)>,
    password: bool,
    join_timeout_ms: u16,
    events: Vec<Event>,
}

const REASONS: [CloseReason; 5] = [
    CloseReason::Eof,
    CloseReason::Reset,
    CloseReason::Timeout,
    CloseReason::Error,
    CloseReason::Closed,
];

struct Conn {
    id: ConnId,
    partial: Vec<u8>,
    ended: bool,
}

fn drain(server: &mut Server<SLOTS>, c: &mut Conn, amount: Option<usize>) {
    // Take the output a few slices at a time, as a socket write would.
    let mut left = amount.unwrap_or(usize::MAX);
    let mut total = 0;
    while left > 0 {
        let mut bufs: [&[u8]; 64] = [&[]; 64];
        let k = server.outgoing_vectored(c.id, &mut bufs);
        if k == 0 {
            break;
        }
        let mut took = 0;
        for b in &bufs[..k] {
            let n = b.len().min(left - took);
            c.partial.extend_from_slice(&b[..n]);
            took += n;
            if took == left {
                break;
            }
        }
        server.consume(c.id, took);
        total += took;
        left -= took;
    }
    assert!(total <= OUT_QUEUE + RING_BYTES, "{total} bytes pending");
    let mut start = 0;
    while let Some(off) = c.partial[start..].iter().position(|&b| b == b'\n') {
        let text =
            std::str::from_utf8(&c.partial[start..start + off]).expect("server lines are UTF-8");
        assert!(
            !text.chars().any(|ch| ch.is_control() && ch != '\t'),
            "control character sent: {text:?}"
        );
        assert!(!c.ended, "a line after BYE/SHUTDOWN: {text:?}");
        match ServerLine::parse(text) {
            Ok(ServerLine::Unknown(_)) | Err(_) => panic!("unparsable server line {text:?}"),
            Ok(ServerLine::Bye { .. } | ServerLine::Shutdown { .. }) => c.ended = true,
            Ok(_) => {}
        }
        start += off + 1;
    }
    c.partial.drain(..start);
}

fn close(
    server: &mut Server<SLOTS>,
    conns: &mut Vec<Conn>,
    k: usize,
    now: Instant,
    reason: CloseReason,
) {
    let c = conns.swap_remove(k);
    server.closed(now, c.id, reason);
    assert_eq!(server.phase(c.id), Phase::Free);
    // A stale id is harmless from now on.
    server.receive(now, c.id, b"/quit\n");
    server.consume(c.id, 1);
}

fuzz_target!(|input: Input| {
    let mut config = Config {
        max_clients: usize::from(input.max_clients % (SLOTS as u8 + 2)),
        flood: input.flood.map(|(b, p)| FloodLimit {
            burst: u32::from(b % 30),
            per_sec: u32::from(p % 8),
        }),
        join_timeout_ms: u64::from(input.join_timeout_ms),
        ..Config::default()
    };
    if input.password {
        config.set_password(PASSWORD).expect("short password");
    }
    let mut server: Server<SLOTS> = Server::new(config);
    let mut now = Instant::from_secs(1_795_961_585);
    let mut conns: Vec<Conn> = Vec::new();
    for event in input.events.into_iter().take(400) {
        let pick = |who: u8, n: usize| (n > 0).then(|| usize::from(who) % n);
        match event {
            Event::Accept { ip, port } => {
                let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, ip % 4)), port);
                if let Ok(id) = server.accept(now, peer) {
                    conns.push(Conn {
                        id,
                        partial: Vec::new(),
                        ended: false,
                    });
                }
            }
            Event::Bytes { who, data } => {
                if let Some(k) = pick(who, conns.len()) {
                    server.receive(now, conns[k].id, &data);
                }
            }
            Event::Line { who, line, crlf } => {
                if let Some(k) = pick(who, conns.len()) {
                    let mut bytes = LINES[usize::from(line) % LINES.len()].to_vec();
                    bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                    server.receive(now, conns[k].id, &bytes);
                }
            }
            Event::Long { who, len } => {
                if let Some(k) = pick(who, conns.len()) {
                    let mut bytes = vec![b'x'; usize::from(len) % 2100];
                    bytes.push(b'\n');
                    server.receive(now, conns[k].id, &bytes);
                }
            }
            Event::Spam {
                who,
                count,
                len,
                drain: on_pressure,
            } => {
                if let Some(k) = pick(who, conns.len()) {
                    let line = format!("{}\n", "s".repeat(usize::from(len) % 1000));
                    for _ in 0..count {
                        server.receive(now, conns[k].id, line.as_bytes());
                        if server.take_pressure() && on_pressure {
                            for c in conns.iter_mut() {
                                drain(&mut server, c, None);
                            }
                        }
                    }
                }
            }
            Event::Close { who, reason } => {
                if let Some(k) = pick(who, conns.len()) {
                    close(
                        &mut server,
                        &mut conns,
                        k,
                        now,
                        REASONS[usize::from(reason) % REASONS.len()],
                    );
                }
            }
            Event::Drain { who, amount } => {
                if let Some(k) = pick(who, conns.len()) {
                    drain(&mut server, &mut conns[k], amount.map(usize::from));
                }
            }
            Event::PollClose { flush } => {
                for _ in 0..=SLOTS {
                    let Some(id) = server.poll_close() else { break };
                    let k = conns
                        .iter()
                        .position(|c| c.id == id)
                        .expect("poll_close names a live connection");
                    assert_eq!(server.phase(id), Phase::Closing);
                    if flush {
                        drain(&mut server, &mut conns[k], None);
                    }
                    close(&mut server, &mut conns, k, now, CloseReason::Closed);
                }
            }
            Event::Tick { ms } => {
                now = now.add_millis(u64::from(ms));
                server.tick(now);
                if let Some(at) = server.poll_at() {
                    assert!(at > now, "poll_at in the past");
                }
            }
            Event::Shutdown => server.shutdown(now, "chatd is shutting down."),
        }
        if let Err(e) = server.check_invariants() {
            panic!("invariant broken: {e}");
        }
        assert_eq!(server.connections(), conns.len());
        assert!(server.history().count() <= 10);
        assert!(server
            .history()
            .zip(server.history().skip(1))
            .all(|(a, b)| a.time <= b.time));
    }
});
