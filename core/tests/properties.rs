//! Property tests of the core under hostile input: random sequences of connects, bytes (valid
//! and hostile, split at random points), closes, partial drains and clock ticks, with the
//! server's invariants checked after every step; a model of public message delivery; and the
//! proof that the wall clock, however it jumps, changes no timer.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use chat_core::config::{reserved_slots, HISTORY_LEN, MAX_SERVER_LINE};
use chat_core::flood::FloodLimit;
use chat_core::names::same_name;
use chat_core::slot::Phase;
use chat_core::testing::Sim;
use chat_core::{CloseReason, Config, ConnId, Duration, Refused, ServerLine, Timestamp};
use proptest::prelude::*;

/// Slots in the servers under test: small, so that `Full` and name clashes happen often.
const SLOTS: usize = 8;

// ---------------------------------------------------------------- input generators

/// Names, valid and not, from a small pool so that clashes and `/msg` hits are common.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["ana", "Ana", "ANA", "bruno", "carla", "José", "JOSÉ", "日本", "x"])
            .prop_map(String::from),
        2 => "[A-Za-z][A-Za-z0-9_]{0,6}",
        1 => prop::sample::select(vec![
            "a b", "/quit", "@sair", "", "\u{1b}[2Jevil", "nul\u{0}", "tab\tname", "\u{a0}x",
            "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
        ])
        .prop_map(String::from),
    ]
}

/// Free text for messages: printable ASCII, some Unicode, a tab.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[ -~]{0,40}", 1 => "[a-zà-ü \t日本]{0,20}"]
}

/// One line a client might send, without its terminator: names, chat, commands, hostile bytes.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let command = (0..14u8, name(), text()).prop_map(|(k, n, t)| match k {
        0 => format!("/msg {n} {t}"),
        1 => format!("@privado:{n} {t}"),
        2 => format!("/nick {n}"),
        3 => format!("/quit {t}"),
        4 => "/quit".to_string(),
        5 => "@sair".to_string(),
        6 => format!("/sair {t}"),
        7 => "/who".to_string(),
        8 => "/help".to_string(),
        9 => format!("/me {t}"),
        10 => format!("//{t}"),
        11 => format!("/{n} {t}"),
        12 => "/MSG".to_string(),
        _ => format!("/NiCk {n}"),
    });
    prop_oneof![
        3 => name().prop_map(String::into_bytes),
        4 => text().prop_map(String::into_bytes),
        4 => command.prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..80),
        1 => (1000..2600usize, any::<u8>()).prop_map(|(n, b)| vec![if b == b'\n' { b'x' } else { b }; n]),
        1 => (text(), prop::sample::select(vec![&[0xffu8][..], &[0xc3, 0x28], &[0xe2, 0x82], &[0xed, 0xa0, 0x80]]))
            .prop_map(|(t, bad)| [t.as_bytes(), bad].concat()),
        1 => (text(), prop::sample::select(vec!["\u{0}", "\u{1b}[31m", "\u{1b}]0;pwned\u{7}", "\u{7f}", "\r", "\u{85}"]))
            .prop_map(|(t, c)| format!("{t}{c}{t}").into_bytes()),
    ]
}

/// A burst of lines joined with `\n` or `\r\n` (the last maybe unterminated), cut into chunks.
fn burst() -> impl Strategy<Value = Vec<Vec<u8>>> {
    (
        prop::collection::vec((line(), 0..4u8), 1..5),
        prop::collection::vec(1..400usize, 0..6),
    )
        .prop_map(|(lines, cuts)| {
            let n = lines.len();
            let mut all = Vec::new();
            for (k, (l, term)) in lines.into_iter().enumerate() {
                all.extend_from_slice(&l);
                match term {
                    0 if k + 1 == n => {}
                    1 => all.extend_from_slice(b"\r\n"),
                    _ => all.push(b'\n'),
                }
            }
            let mut chunks = Vec::new();
            let mut rest = &all[..];
            for c in cuts {
                let (a, b) = rest.split_at(c.min(rest.len()));
                chunks.push(a.to_vec());
                rest = b;
            }
            chunks.push(rest.to_vec());
            chunks
        })
}

fn close_reason() -> impl Strategy<Value = CloseReason> {
    prop::sample::select(vec![
        CloseReason::Eof,
        CloseReason::Reset,
        CloseReason::Timeout,
        CloseReason::Error,
        CloseReason::Closed,
    ])
}

/// One thing that happens to the server.
#[derive(Debug, Clone)]
enum Op {
    Accept {
        ip: u8,
        port: u16,
    },
    Bytes {
        who: usize,
        chunks: Vec<Vec<u8>>,
    },
    Close {
        who: usize,
        reason: CloseReason,
    },
    Drain {
        who: usize,
        amount: Option<usize>,
    },
    DrainAll,
    Join {
        who: usize,
        name: String,
    },
    Spam {
        who: usize,
        count: usize,
        len: usize,
    },
    PollClose {
        flush: bool,
    },
    Tick {
        ms: u64,
    },
    Shutdown,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4u8, any::<u16>()).prop_map(|(ip, port)| Op::Accept { ip, port }),
        10 => (any::<usize>(), burst()).prop_map(|(who, chunks)| Op::Bytes { who, chunks }),
        1 => (any::<usize>(), close_reason()).prop_map(|(who, reason)| Op::Close { who, reason }),
        3 => (any::<usize>(), prop::option::of(0..3000usize)).prop_map(|(who, amount)| Op::Drain { who, amount }),
        2 => Just(Op::DrainAll),
        4 => (any::<usize>(), name()).prop_map(|(who, name)| Op::Join { who, name }),
        1 => (any::<usize>(), 1..60usize, 1..1000usize).prop_map(|(who, count, len)| Op::Spam { who, count, len }),
        3 => any::<bool>().prop_map(|flush| Op::PollClose { flush }),
        2 => prop_oneof![0..50u64, 0..3_000u64, 50_000..70_000u64].prop_map(|ms| Op::Tick { ms }),
        1 => Just(Op::Shutdown),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (
        1..=SLOTS + 2,
        prop::option::of(
            (1..25u32, 0..6u32).prop_map(|(burst, per_sec)| FloodLimit { burst, per_sec }),
        ),
        prop::sample::select(vec!["", "", "", "sesame", "x", "ana"]),
        prop::sample::select(vec![1_000u64, 60_000]),
        prop::option::of(1..=4usize),
    )
        .prop_map(
            |(max_clients, flood, password, join_timeout_ms, max_per_address)| {
                let mut c = Config {
                    max_clients,
                    flood,
                    join_timeout: Duration::from_millis(join_timeout_ms),
                    max_per_address,
                    ..Config::default()
                };
                c.set_password(password.as_bytes()).unwrap();
                c
            },
        )
}

// ---------------------------------------------------------------- the harness

/// Drives a server through [`Sim`] (which checks every line a client receives) and keeps
/// track of which connections are open.
struct Harness {
    sim: Sim<SLOTS>,
    live: Vec<ConnId>,
    dead: Vec<ConnId>,
    /// The wall clock never went back, so the history must be in time order.
    steady_wall: bool,
}

impl Harness {
    fn new(config: Config) -> Self {
        Harness {
            sim: Sim::new(config),
            live: Vec::new(),
            dead: Vec::new(),
            steady_wall: true,
        }
    }

    /// Pick a live connection, or now and then a stale one.
    fn pick(&self, who: usize) -> Option<ConnId> {
        if !self.dead.is_empty() && (self.live.is_empty() || who.is_multiple_of(16)) {
            return Some(self.dead[who / 16 % self.dead.len()]);
        }
        (!self.live.is_empty()).then(|| self.live[who % self.live.len()])
    }

    fn accept(&mut self, peer: SocketAddr) -> Option<ConnId> {
        let expected = self.admission(peer.ip());
        match self.sim.accept(peer) {
            Ok(id) => {
                assert_eq!(expected, None, "accepted from {peer}");
                assert!(!self.live.contains(&id), "a live id was handed out twice");
                self.live.push(id);
                Some(id)
            }
            Err(refused) => {
                assert_eq!(Some(refused), expected, "refused {peer}");
                None
            }
        }
    }

    /// Return how a connection from `ip` must be refused, if it must: the admission rules
    /// worked out from the connections the harness knows are open.
    fn admission(&self, ip: IpAddr) -> Option<Refused> {
        let s = &self.sim.server;
        let max = s.config().max_clients;
        let open = self.live.len();
        assert_eq!(open, s.connections());
        let mine = self
            .live
            .iter()
            .filter(|&&id| s.peer(id).map(|p| p.ip()) == Some(ip))
            .count();
        let cap = s.config().max_per_address;
        if open >= max || s.is_shutting_down() {
            Some(Refused::Full)
        } else if cap.is_some_and(|c| mine >= c) {
            Some(Refused::PerAddress)
        } else if cap.is_some() && mine > 0 && open >= max - reserved_slots(max) {
            Some(Refused::Reserve)
        } else {
            None
        }
    }

    fn forget(&mut self, id: ConnId) {
        self.live.retain(|&l| l != id);
        self.dead.push(id);
        let s = &self.sim.server;
        assert_eq!(
            s.phase(id),
            Phase::Free,
            "a closed connection keeps its slot"
        );
        assert_eq!(s.name(id), None);
        assert_eq!(self.sim.pending(id), 0);
    }

    /// Close what the server asked to close, as the daemon does.
    fn poll_close(&mut self, flush: bool) {
        for _ in 0..=SLOTS {
            let Some(id) = self.sim.server.poll_close() else {
                return;
            };
            assert!(
                self.live.contains(&id),
                "poll_close named a dead connection"
            );
            assert_eq!(self.sim.server.phase(id), Phase::Closing);
            if flush {
                self.sim.drain(id, None);
            }
            let now = self.sim.now();
            self.sim.server.closed(now, id, CloseReason::Closed);
            self.forget(id);
        }
        panic!("poll_close handed out more ids than there are slots");
    }

    fn step(&mut self, op: Op) {
        let now = self.sim.now();
        match op {
            Op::Accept { ip, port } => {
                let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + ip)), port);
                self.accept(peer);
            }
            Op::Bytes { who, chunks } => {
                if let Some(id) = self.pick(who) {
                    for c in chunks {
                        self.sim.send_unread(id, &c);
                        self.check();
                    }
                }
            }
            Op::Close { who, reason } => {
                if let Some(id) = self.pick(who) {
                    let was_live = self.live.contains(&id);
                    self.sim.server.closed(now, id, reason);
                    if was_live {
                        self.forget(id);
                    }
                }
            }
            Op::Drain { who, amount } => {
                if let Some(id) = self.pick(who) {
                    self.sim.drain(id, amount);
                }
            }
            Op::DrainAll => self.sim.drain_all(),
            Op::Join { who, name } => {
                if let Some(id) = self.pick(who) {
                    let mut bytes = Vec::new();
                    if self.sim.server.phase(id) == Phase::AwaitPassword {
                        bytes.extend(self.sim.server.config().password.iter().flatten());
                        bytes.push(b'\n');
                    }
                    bytes.extend_from_slice(name.as_bytes());
                    bytes.push(b'\n');
                    self.sim.send_unread(id, &bytes);
                }
            }
            Op::Spam { who, count, len } => {
                if let Some(id) = self.pick(who) {
                    let mut bytes = Vec::new();
                    for k in 0..count {
                        bytes.extend_from_slice(
                            format!("spam {k} {}\n", "z".repeat(len)).as_bytes(),
                        );
                    }
                    self.sim.send_unread(id, &bytes);
                }
            }
            Op::PollClose { flush } => self.poll_close(flush),
            Op::Tick { ms } => {
                self.sim.advance(Duration::from_millis(ms));
                let now = self.sim.now();
                self.sim.server.tick(now);
                if let Some(at) = self.sim.server.poll_at() {
                    // poll_at never asks for a time the last tick already handled.
                    assert!(
                        at > now.instant,
                        "poll_at {at:?} is not after the tick at {:?}",
                        now.instant
                    );
                }
            }
            Op::Shutdown => {
                self.sim.server.shutdown(now, "chatd is shutting down.");
                for &id in &self.live {
                    assert_eq!(
                        self.sim.server.phase(id),
                        Phase::Closing,
                        "shutdown left a connection open"
                    );
                }
            }
        }
        self.check();
    }

    /// Everything that must hold between any two steps.
    fn check(&self) {
        let s = &self.sim.server;
        s.check_invariants().unwrap();
        assert_eq!(
            s.connections(),
            self.live.len(),
            "the server and the caller disagree on who is connected"
        );
        assert!(s.connections() <= s.config().max_clients);
        let names: Vec<&str> = self
            .live
            .iter()
            .filter(|&&id| s.phase(id) == Phase::Joined)
            .filter_map(|&id| s.name(id))
            .collect();
        assert_eq!(
            names.len(),
            s.joined(),
            "a joined client without a name, or a name without joining"
        );
        for (k, a) in names.iter().enumerate() {
            for b in &names[k + 1..] {
                assert!(!same_name(a, b), "two clients named {a} and {b}");
            }
        }
        let hist: Vec<_> = s.history().collect();
        assert!(hist.len() <= HISTORY_LEN);
        assert!(
            !self.steady_wall || hist.windows(2).all(|w| w[0].time <= w[1].time),
            "history out of time order"
        );
        for e in &hist {
            assert!(
                !e.text.chars().any(|c| c.is_control() && c != '\t'),
                "control character in history"
            );
        }
        for &id in &self.live {
            // Checks the bound on pending output.
            self.sim.pending(id);
        }
        for &id in &self.dead {
            assert!(!self.live.contains(&id) || s.phase(id) != Phase::Free);
        }
    }

    /// Take every line each connection received so far.
    fn take_all_lines(&mut self) -> HashMap<ConnId, Vec<String>> {
        let ids: Vec<ConnId> = self.live.iter().chain(&self.dead).copied().collect();
        ids.into_iter()
            .map(|id| (id, self.sim.take_lines(id)))
            .collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any sequence of events leaves the server consistent, and every byte it sends is a well
    /// formed line with no control characters.
    #[test]
    fn invariants_hold_under_random_events(config in config(), ops in prop::collection::vec(op(), 1..120)) {
        let mut h = Harness::new(config);
        for op in ops {
            h.step(op);
        }
        // Wind down: everything must close cleanly.
        let now = h.sim.now();
        h.sim.server.shutdown(now, "bye");
        h.poll_close(true);
        prop_assert_eq!(h.sim.server.connections(), 0);
        h.check();
    }
}

// ---------------------------------------------------------------- the wall clock

/// Ten years of seconds: how far the wall clock jumps (a board without a real-time clock that
/// boots in the past and then meets NTP, or the reverse).
const TEN_YEARS: i64 = 10 * 365 * 86_400;

/// A line with every time stamp in it replaced by `T`.
fn without_stamps(line: &str) -> String {
    line.split(' ')
        .map(|w| if Timestamp::parse(w).is_ok() { "T" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, max_shrink_iters: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Two servers get the same events at the same monotonic instants, but one's wall clock
    /// jumps ten years back or forward between steps: every client gets the same lines apart
    /// from their stamps, at the same step, and every timer (join timeout, flood verdict,
    /// password throttle) and `poll_at` agrees.
    #[test]
    fn a_jumping_wall_clock_changes_no_timer_and_no_verdict(
        config in config(),
        steps in prop::collection::vec((op(), prop::sample::select(vec![0, 0, TEN_YEARS, -TEN_YEARS])), 1..120),
    ) {
        let mut steady = Harness::new(config.clone());
        let mut jumpy = Harness::new(config);
        jumpy.steady_wall = false;
        for (op, jump) in steps {
            jumpy.sim.shift_wall(jump);
            steady.step(op.clone());
            jumpy.step(op);
            prop_assert_eq!(&steady.live, &jumpy.live);
            prop_assert_eq!(steady.sim.server.poll_at(), jumpy.sim.server.poll_at());
            for &id in &steady.live {
                prop_assert_eq!(steady.sim.server.phase(id), jumpy.sim.server.phase(id));
            }
            let (a, b) = (steady.take_all_lines(), jumpy.take_all_lines());
            for (id, lines) in &a {
                let a: Vec<String> = lines.iter().map(|l| without_stamps(l)).collect();
                let b: Vec<String> = b[id].iter().map(|l| without_stamps(l)).collect();
                prop_assert_eq!(a, b, "{:?} was told different things", id);
            }
        }
    }
}

// ---------------------------------------------------------------- the delivery model

/// What a client in the model sends.
#[derive(Debug, Clone)]
enum Act {
    Name(String),
    Say(String),
    Me(String),
    Nick(String),
    Private(String, String),
    Quit,
    Who,
    Hostile(Vec<u8>, u8),
    /// Many public messages in one write, `pad` bytes each: enough to go round the ring.
    Burst {
        count: usize,
        pad: usize,
    },
    /// `/who` and `/help`, `count` of each, in one write: long answers for the sender alone.
    Ask {
        count: usize,
    },
}

/// One step of the model.
#[derive(Debug, Clone)]
enum ModelOp {
    Accept,
    Send { who: usize, act: Act },
    Close { who: usize, reason: CloseReason },
    Tick { ms: u64 },
}

fn act() -> impl Strategy<Value = Act> {
    let word = "[a-z][a-z ]{0,15}";
    prop_oneof![
        3 => name().prop_map(Act::Name),
        8 => word.prop_map(Act::Say),
        2 => word.prop_map(Act::Me),
        1 => name().prop_map(Act::Nick),
        3 => (name(), word).prop_map(|(n, t)| Act::Private(n, t)),
        1 => Just(Act::Quit),
        1 => Just(Act::Who),
        2 => (line(), 0..4u8).prop_map(|(b, p)| Act::Hostile(b, p)),
        1 => (1..400usize, 0..1000usize).prop_map(|(count, pad)| Act::Burst { count, pad }),
        1 => (1..20usize).prop_map(|count| Act::Ask { count }),
    ]
}

fn model_op() -> impl Strategy<Value = ModelOp> {
    prop_oneof![
        3 => Just(ModelOp::Accept),
        12 => (any::<usize>(), act()).prop_map(|(who, act)| ModelOp::Send { who, act }),
        1 => (any::<usize>(), close_reason()).prop_map(|(who, reason)| ModelOp::Close { who, reason }),
        1 => (0..5_000u64).prop_map(|ms| ModelOp::Tick { ms }),
    ]
}

/// A public message as the model knows it.
struct Said {
    from: String,
    kind: &'static str,
}

/// Read the tag `#k` that ends every public message the model sends.
fn tag_of(text: &str) -> usize {
    let k = text
        .rsplit_once('#')
        .map(|(_, k)| k)
        .unwrap_or_else(|| panic!("untagged public text {text:?}"));
    k.parse().unwrap_or_else(|_| panic!("bad tag in {text:?}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, max_shrink_iters: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// With flood control off and every client reading everything (between steps, and whenever
    /// the server reports pressure), each public message reaches every other joined client
    /// exactly once, stamped with the sender's name, in one global order; the sender never
    /// gets its own; bursts bigger than the broadcast ring and piles of long answers drop
    /// nobody. Private messages reach both ends once, in order with the public ones.
    #[test]
    fn public_messages_reach_every_other_joined_client_once_in_order(
        ops in prop::collection::vec(model_op(), 1..150),
    ) {
        let config = Config { flood: None, max_clients: SLOTS, ..Config::default() };
        let mut h = Harness::new(config);
        let mut said: Vec<Said> = Vec::new();
        // Tags each connection should receive, in order.
        let mut expected: HashMap<ConnId, Vec<usize>> = HashMap::new();
        // Connections the test itself closed; every other close must follow a BYE.
        let mut closed_by_peer = HashSet::new();
        let mut port = 1000u16;
        for op in ops {
            match op {
                ModelOp::Accept => {
                    port += 1;
                    // Each from an address of its own: the per-address rules are tested above.
                    let ip = Ipv4Addr::from(0x7f00_0000 | u32::from(port));
                    h.accept(SocketAddr::new(IpAddr::V4(ip), port));
                }
                ModelOp::Send { who, act } => {
                    if h.live.is_empty() {
                        continue;
                    }
                    let id = h.live[who % h.live.len()];
                    let joined: Vec<ConnId> =
                        h.live.iter().copied().filter(|&c| h.sim.server.phase(c) == Phase::Joined).collect();
                    let sender_joined = joined.contains(&id);
                    let public = match &act {
                        Act::Say(_) => Some("MSG"),
                        Act::Me(_) => Some("ME"),
                        _ => None,
                    };
                    let line = match act {
                        Act::Say(t) | Act::Me(t) if sender_joined => {
                            let kind = public.unwrap();
                            let k = said.len();
                            said.push(Said { from: h.sim.server.name(id).unwrap().to_string(), kind });
                            for &r in joined.iter().filter(|&&r| r != id) {
                                expected.entry(r).or_default().push(k);
                            }
                            let prefix = if kind == "ME" { "/me " } else { "" };
                            format!("{prefix}{t} #{k}").into_bytes()
                        }
                        Act::Burst { count, pad } if sender_joined => {
                            let from = h.sim.server.name(id).unwrap().to_string();
                            let mut all = Vec::new();
                            for _ in 0..count {
                                let k = said.len();
                                said.push(Said { from: from.clone(), kind: "MSG" });
                                for &r in joined.iter().filter(|&&r| r != id) {
                                    expected.entry(r).or_default().push(k);
                                }
                                all.extend_from_slice(format!("{} #{k}\n", "p".repeat(pad)).as_bytes());
                            }
                            all
                        }
                        Act::Ask { count } => "/who\n/help\n".repeat(count).into_bytes(),
                        // Not joined yet: try a plausible name instead.
                        Act::Say(_) | Act::Me(_) | Act::Burst { .. } => {
                            format!("u{}", port % 7).into_bytes()
                        }
                        // A joined client's bare name would be a message: rename instead.
                        Act::Name(n) if sender_joined => format!("/nick {n}").into_bytes(),
                        Act::Name(n) => n.into_bytes(),
                        Act::Nick(n) => format!("/nick {n}").into_bytes(),
                        // A private message to someone online: tagged, due to both ends once.
                        Act::Private(n, t)
                            if sender_joined && !n.is_empty() && !n.contains(char::is_whitespace) =>
                        {
                            let to = joined
                                .iter()
                                .copied()
                                .find(|&c| h.sim.server.name(c).is_some_and(|m| same_name(m, &n)));
                            match to {
                                Some(r) => {
                                    let k = said.len();
                                    said.push(Said { from: h.sim.server.name(id).unwrap().to_string(), kind: "PRIV" });
                                    expected.entry(r).or_default().push(k);
                                    if r != id {
                                        expected.entry(id).or_default().push(k);
                                    }
                                    format!("/msg {n} {t} #{k}").into_bytes()
                                }
                                None => format!("/msg {n} {t}").into_bytes(),
                            }
                        }
                        Act::Private(_, _) => b"/who".to_vec(),
                        Act::Quit => b"/quit".to_vec(),
                        Act::Who => b"/who".to_vec(),
                        // A line the server must refuse whole: nothing of it may be relayed.
                        Act::Hostile(mut b, poison) => {
                            b.retain(|&c| c != b'\n' && c != b'#');
                            let at = b.len() / 2;
                            let bad: &[u8] = match poison {
                                0 => b"\x1b[2J",
                                1 => b"\0",
                                2 => &[0xff],
                                _ => &[b'y'; 1100],
                            };
                            b.splice(at..at, bad.iter().copied());
                            b
                        }
                    };
                    let mut bytes = line;
                    bytes.push(b'\n');
                    // As the daemon does: writing out whenever input stops early, so that no
                    // client that reads is ever taken for slow.
                    h.sim.send(id, &bytes);
                }
                ModelOp::Close { who, reason } => {
                    if let Some(&id) = h.live.get(who % h.live.len().max(1)) {
                        let now = h.sim.now();
                        h.sim.server.closed(now, id, reason);
                        closed_by_peer.insert(id);
                        h.forget(id);
                    }
                }
                ModelOp::Tick { ms } => {
                    h.sim.advance(Duration::from_millis(ms));
                    let now = h.sim.now();
                    h.sim.server.tick(now);
                }
            }
            h.sim.drain_all();
            h.poll_close(true);
            h.check();
        }
        let all = h.take_all_lines();
        for id in &h.dead {
            prop_assert!(
                closed_by_peer.contains(id) || h.sim.ended(*id),
                "{:?} was closed without BYE (dropped as a slow consumer while reading?): {:?}",
                id,
                all.get(id).map(|l| &l[l.len().saturating_sub(3)..])
            );
        }
        // Compare what each connection got with what it should have got.
        for (&id, lines) in &all {
            let mut got = Vec::new();
            for l in lines {
                let (kind, from, text) = match ServerLine::parse(l) {
                    Ok(ServerLine::Msg { from, text, .. }) => ("MSG", from, text),
                    Ok(ServerLine::Me { from, text, .. }) => ("ME", from, text),
                    Ok(ServerLine::Priv { from, text, .. }) => ("PRIV", from, text),
                    _ => continue,
                };
                let k = tag_of(text);
                prop_assert!(k < said.len(), "a message nobody sent: {}", l);
                prop_assert_eq!(from, said[k].from.as_str(), "message stamped with the wrong name: {}", l);
                prop_assert_eq!(kind, said[k].kind);
                got.push(k);
            }
            let want = expected.get(&id).cloned().unwrap_or_default();
            prop_assert_eq!(got, want, "connection {:?} got the wrong public messages", id);
        }
        for (id, want) in &expected {
            prop_assert!(want.is_empty() || all.get(id).is_some_and(|l| !l.is_empty()), "{:?} got nothing", id);
        }
    }
}

// ---------------------------------------------------------------- output per input byte

/// The most bytes one byte from a client can add to another client's queue: a 2-byte line `x\n`
/// from a sender with a 32-byte name becomes a 59-byte `MSG` line for each receiver. On top
/// of that, the first line of a chunk may complete a line buffered earlier, which adds at most
/// one `MAX_SERVER_LINE`. So a caller that feeds a client's input in slices of at most
/// `(room - MAX_SERVER_LINE) / 32` bytes, writing out between slices, never overflows the
/// queue of a client that keeps reading.
const MAX_EXPANSION: usize = 32;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever a client sends, the bytes queued for any *other* client grow by at most
    /// `MAX_EXPANSION` per byte received, plus one line it may complete.
    #[test]
    fn output_to_others_is_bounded_per_input_byte(
        names in prop::collection::vec("[a-z]{1,32}", 2..5),
        lines in prop::collection::vec((line(), any::<bool>()), 1..40),
        sender in any::<usize>(),
    ) {
        let mut h = Harness::new(Config { flood: None, ..Config::default() });
        let mut ids = Vec::new();
        for (k, n) in names.iter().enumerate() {
            let id = h.accept(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2000 + k as u16)).unwrap();
            h.sim.send_unread(id, format!("{n}{k}\n").as_bytes());
            ids.push(id);
        }
        let from = ids[sender % ids.len()];
        for (l, newline) in lines {
            h.sim.drain_all();
            let mut bytes = l;
            if newline {
                bytes.push(b'\n');
            }
            h.sim.send_unread(from, &bytes);
            for &other in ids.iter().filter(|&&o| o != from) {
                let out = h.sim.pending(other);
                prop_assert!(
                    out <= MAX_EXPANSION * bytes.len() + MAX_SERVER_LINE,
                    "{} bytes in gave {} bytes out", bytes.len(), out
                );
            }
            h.poll_close(true);
            if h.sim.server.phase(from) == Phase::Free {
                break;
            }
        }
    }
}
