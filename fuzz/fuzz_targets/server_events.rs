//! Drive `Server` with arbitrary event sequences — connects in either protocol (native or
//! IRC), bytes, closes, drains, ticks, shutdown — and check its invariants after every step,
//! and (through `chat_core::testing`) that every byte it sends forms well-formed lines of the
//! receiver's protocol: native lines without control characters, IRC lines that parse and fit
//! in 512 bytes, nothing after `BYE`/`SHUTDOWN`/`ERROR`.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use arbitrary::Arbitrary;
use chat_core::flood::FloodLimit;
use chat_core::slot::Phase;
use chat_core::testing::Sim;
use chat_core::{CloseReason, Config, ConnId, Dialect, Duration};
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
    // IRC, as real clients send it (and some of what they should not).
    b"CAP LS 302",
    b"CAP REQ :multi-prefix server-time",
    b"CAP END",
    b"JOIN :",
    b"PASS pw",
    b"PASS nope",
    b"NICK ana",
    b"NICK bob",
    b"NICK #bad",
    b"USER ana 0 * :Ana",
    b"USER root root 127.0.0.1 :root",
    b"PRIVMSG #chat :hello",
    b"PRIVMSG #chat :\x01ACTION waves\x01",
    b"PRIVMSG #chat :\x02bold\x02 \x034red",
    b"PRIVMSG #chat :\x01VERSION\x01",
    b"PRIVMSG ana :hi",
    b"PRIVMSG bob :\x01ACTION pokes\x01",
    b"NOTICE #chat :bot",
    b"NOTICE ana :\x01VERSION x\x01",
    b"PRIVMSG #other :x",
    b"JOIN #chat",
    b"JOIN 0",
    b"PART #chat :bye",
    b"NAMES",
    b"WHO #chat",
    b"WHO ana",
    b"WHOIS bob",
    b"LIST",
    b"TOPIC #chat :x",
    b"MODE #chat",
    b"MODE ana +i",
    b"ISON ana bob",
    b"USERHOST ana",
    b"AWAY :x",
    b"PING x",
    b"PONG chatd",
    b"QUIT :bye",
    b"@a=b :src PRIVMSG #chat :tagged",
];

#[derive(Debug, Arbitrary)]
enum Event {
    Accept {
        ip: u8,
        port: u16,
        irc: bool,
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
    /// Many valid lines from one client, a line at a time, writing out to everyone when the
    /// server asks if `drain`: enough of these go round the broadcast ring (by bytes or by
    /// records). `irc` sends them as `PRIVMSG #chat`.
    Spam {
        who: u8,
        count: u8,
        len: u16,
        drain: bool,
        irc: bool,
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

/// Close connection `k` and check that its id is harmless from then on.
fn close(sim: &mut Sim<SLOTS>, conns: &mut Vec<ConnId>, k: usize, reason: CloseReason) {
    let id = conns.swap_remove(k);
    sim.server.closed(sim.now(), id, reason);
    assert_eq!(sim.server.phase(id), Phase::Free);
    sim.send(id, b"/quit\n");
    sim.server.consume(id, 1);
    assert_eq!(sim.server.outgoing_vectored(id, &mut [&[][..]; 2]), 0);
}

fuzz_target!(|input: Input| {
    let mut config = Config {
        max_clients: usize::from(input.max_clients % (SLOTS as u8 + 2)),
        flood: input.flood.map(|(b, p)| FloodLimit {
            burst: u32::from(b % 30),
            per_sec: u32::from(p % 8),
        }),
        join_timeout: Duration::from_millis(u64::from(input.join_timeout_ms)),
        ..Config::default()
    };
    if input.password {
        config.set_password(PASSWORD).expect("short password");
    }
    let mut sim: Sim<SLOTS> = Sim::new(config);
    let mut conns: Vec<ConnId> = Vec::new();
    for event in input.events.into_iter().take(400) {
        let pick = |who: u8, n: usize| (n > 0).then(|| usize::from(who) % n);
        match event {
            Event::Accept { ip, port, irc } => {
                let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, ip % 4)), port);
                let dialect = if irc { Dialect::Irc } else { Dialect::Native };
                if let Ok(id) = sim.accept_as(peer, dialect) {
                    conns.push(id);
                }
            }
            Event::Bytes { who, data } => {
                if let Some(k) = pick(who, conns.len()) {
                    sim.send_unread(conns[k], &data);
                }
            }
            Event::Line { who, line, crlf } => {
                if let Some(k) = pick(who, conns.len()) {
                    let mut bytes = LINES[usize::from(line) % LINES.len()].to_vec();
                    bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                    sim.send_unread(conns[k], &bytes);
                }
            }
            Event::Long { who, len } => {
                if let Some(k) = pick(who, conns.len()) {
                    let mut bytes = vec![b'x'; usize::from(len) % 2100];
                    bytes.push(b'\n');
                    sim.send_unread(conns[k], &bytes);
                }
            }
            Event::Spam {
                who,
                count,
                len,
                drain,
                irc,
            } => {
                if let Some(k) = pick(who, conns.len()) {
                    let text = "s".repeat(usize::from(len) % 1000);
                    let line = if irc {
                        format!("PRIVMSG #chat :{text}\r\n")
                    } else {
                        format!("{text}\n")
                    };
                    for _ in 0..count {
                        if drain {
                            sim.send(conns[k], line.as_bytes());
                        } else {
                            sim.send_unread(conns[k], line.as_bytes());
                        }
                    }
                }
            }
            Event::Close { who, reason } => {
                if let Some(k) = pick(who, conns.len()) {
                    let reason = REASONS[usize::from(reason) % REASONS.len()];
                    close(&mut sim, &mut conns, k, reason);
                }
            }
            Event::Drain { who, amount } => {
                if let Some(k) = pick(who, conns.len()) {
                    sim.drain(conns[k], amount.map(usize::from));
                }
            }
            Event::PollClose { flush } => {
                for _ in 0..=SLOTS {
                    let Some(id) = sim.server.poll_close() else {
                        break;
                    };
                    let k = conns
                        .iter()
                        .position(|&c| c == id)
                        .expect("poll_close names a live connection");
                    assert_eq!(sim.server.phase(id), Phase::Closing);
                    if flush {
                        sim.drain(id, None);
                    }
                    close(&mut sim, &mut conns, k, CloseReason::Closed);
                }
            }
            Event::Tick { ms } => {
                sim.advance(Duration::from_millis(u64::from(ms)));
                let now = sim.now();
                sim.server.tick(now);
                if let Some(at) = sim.server.poll_at() {
                    assert!(at > now.instant, "poll_at in the past");
                }
            }
            Event::Shutdown => {
                let now = sim.now();
                sim.server.shutdown(now, "chatd is shutting down.");
            }
        }
        let server = &sim.server;
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
