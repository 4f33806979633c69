//! Property tests of the core under hostile input: random sequences of connects (native and
//! IRC), bytes (valid and hostile, in either protocol, split at random points), closes, partial
//! drains and clock ticks, with the server's invariants checked after every step; a model of
//! message delivery in rooms mixing both protocols; and the proof that the wall clock, however
//! it jumps, changes no timer.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use chat_core::config::{reserved_slots, HISTORY_LEN, MAX_SERVER_LINE};
use chat_core::flood::FloodLimit;
use chat_core::irc::{Ctcp, Message};
use chat_core::names::same_name;
use chat_core::slot::Phase;
use chat_core::testing::Sim;
use chat_core::{CloseReason, Config, ConnId, Dialect, Duration, Refused, ServerLine, Timestamp};
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
    let irc = (0..22u8, name(), text()).prop_map(|(k, n, t)| match k {
        0 => "CAP LS 302".to_string(),
        1 => "CAP REQ :server-time multi-prefix".to_string(),
        2 => "CAP END".to_string(),
        3 => format!("NICK {n}"),
        4 => format!("USER {n} 0 * :{t}"),
        5 => "PASS sesame".to_string(),
        6 => format!("PRIVMSG #chat :{t}"),
        7 => format!("PRIVMSG {n} :{t}"),
        8 => format!("NOTICE #chat :{t}"),
        9 => format!("PRIVMSG #chat :\u{1}ACTION {t}\u{1}"),
        10 => format!("PRIVMSG {n} :\u{1}VERSION\u{1}"),
        11 => "JOIN #chat".to_string(),
        12 => format!("PART #chat :{t}"),
        13 => "JOIN :".to_string(),
        14 => "NAMES #chat".to_string(),
        15 => "WHO #chat".to_string(),
        16 => format!("WHOIS {n}"),
        17 => format!("MODE {n} +i"),
        18 => format!("PING {t}"),
        19 => format!("QUIT :{t}"),
        20 => format!("ISON {n} {t}"),
        _ => format!("JOIN #{t}"),
    });
    prop_oneof![
        3 => name().prop_map(String::into_bytes),
        4 => text().prop_map(String::into_bytes),
        4 => command.prop_map(String::into_bytes),
        4 => irc.prop_map(String::into_bytes),
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
        irc: bool,
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
        4 => (0..4u8, any::<u16>(), any::<bool>()).prop_map(|(ip, port, irc)| Op::Accept { ip, port, irc }),
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

    fn accept(&mut self, peer: SocketAddr, dialect: Dialect) -> Option<ConnId> {
        let expected = self.admission(peer.ip());
        match self.sim.accept_as(peer, dialect) {
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
            Op::Accept { ip, port, irc } => {
                let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + ip)), port);
                self.accept(peer, if irc { Dialect::Irc } else { Dialect::Native });
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
                    let irc = self.sim.server.dialect(id) == Some(Dialect::Irc);
                    let mut bytes = Vec::new();
                    if self.sim.server.phase(id) == Phase::AwaitPassword {
                        if irc {
                            bytes.extend_from_slice(b"PASS ");
                        }
                        bytes.extend(self.sim.server.config().password.iter().flatten());
                        bytes.push(b'\n');
                    }
                    if irc {
                        bytes.extend_from_slice(format!("NICK {name}\r\nUSER u 0 * :r").as_bytes());
                    } else {
                        bytes.extend_from_slice(name.as_bytes());
                    }
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
        for &id in &self.live {
            assert!(
                !s.in_room(id) || s.phase(id) == Phase::Joined,
                "in the room without having joined"
            );
            if s.dialect(id) == Some(Dialect::Native) && s.phase(id) == Phase::Joined {
                assert!(s.in_room(id), "a joined native client out of the room");
            }
        }
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

/// A line with every time stamp in it replaced by `T`: native stamps, IRC `@time=` tags and
/// the `[HH:MM]` of replayed history.
fn without_stamps(line: &str) -> String {
    let hhmm = |w: &str| {
        let b = w.as_bytes();
        b.len() >= 7
            && b[0] == b'['
            && b[3] == b':'
            && b[6] == b']'
            && [1, 2, 4, 5].iter().all(|&k| b[k].is_ascii_digit())
    };
    line.split(' ')
        .map(|w| {
            let w = w.trim_start_matches(':');
            if Timestamp::parse(w).is_ok() || w.starts_with("@time=") || hhmm(w) {
                "T"
            } else {
                w
            }
        })
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

/// What a client in the model sends (in its own protocol).
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
    /// `/who` and `/help` (IRC: `WHO #chat` and `NAMES`), `count` of each, in one write: long
    /// answers for the sender alone.
    Ask {
        count: usize,
    },
    /// IRC: leave the room, keeping the connection (natives: `/who`).
    Part,
    /// IRC: come back to the room (natives: `/who`).
    Rejoin,
}

/// One step of the model.
#[derive(Debug, Clone)]
enum ModelOp {
    Accept { irc: bool },
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
        1 => Just(Act::Part),
        1 => Just(Act::Rejoin),
    ]
}

fn model_op() -> impl Strategy<Value = ModelOp> {
    prop_oneof![
        3 => any::<bool>().prop_map(|irc| ModelOp::Accept { irc }),
        12 => (any::<usize>(), act()).prop_map(|(who, act)| ModelOp::Send { who, act }),
        1 => (any::<usize>(), close_reason()).prop_map(|(who, reason)| ModelOp::Close { who, reason }),
        1 => (0..5_000u64).prop_map(|ms| ModelOp::Tick { ms }),
    ]
}

/// A message as the model knows it.
struct Said {
    from: String,
    kind: &'static str,
}

/// Read the tag `#k` that starts every text the model sends: it always lands in the first
/// IRC line of a text cut into several.
fn tag_of(text: &str) -> Option<usize> {
    let rest = text.strip_prefix('#')?;
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

/// What a connection received, as `(kind, from, tag)` of each message: native lines read as
/// they are; IRC lines as `PRIVMSG`/`NOTICE` to the channel (`MSG`, or `ME` for an action) or
/// to the receiver (`PRIV`), a message cut into several lines counted once (its first line
/// holds the tag). Replayed history is not live traffic and is left out.
fn received(dialect: Dialect, lines: &[String]) -> Vec<(&'static str, String, usize)> {
    let mut got = Vec::new();
    for l in lines {
        match dialect {
            Dialect::Native => {
                let (kind, from, text) = match ServerLine::parse(l) {
                    Ok(ServerLine::Msg { from, text, .. }) => ("MSG", from, text),
                    Ok(ServerLine::Me { from, text, .. }) => ("ME", from, text),
                    Ok(ServerLine::Priv { from, text, .. }) => ("PRIV", from, text),
                    _ => continue,
                };
                let k = tag_of(text).unwrap_or_else(|| panic!("untagged text in {l:?}"));
                got.push((kind, from.to_string(), k));
            }
            Dialect::Irc => {
                let m = Message::parse(l.as_bytes()).unwrap();
                if !(m.command().is("PRIVMSG") || m.command().is("NOTICE")) {
                    continue;
                }
                let src = m.source().expect("messages have a source");
                if src.user == Some("history") || src.host.is_none() {
                    continue;
                }
                let [target, text] = m.params() else {
                    panic!("a message without target and text: {l:?}");
                };
                let (action, text) = match Ctcp::parse(text) {
                    Some(Ctcp::Action(a)) => (true, a),
                    _ => (false, *text),
                };
                let Some(k) = tag_of(text) else { continue };
                let kind = match (target.starts_with('#'), action) {
                    (true, true) => "ME",
                    (true, false) => "MSG",
                    (false, _) => "PRIV",
                };
                got.push((kind, src.name.to_string(), k));
            }
        }
    }
    got
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, max_shrink_iters: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// With flood control off and every client reading everything (between steps, and whenever
    /// the server reports pressure), in a room of native and IRC clients, each public message
    /// reaches every other client in the room exactly once, in its own protocol, stamped with
    /// the sender's name, in one global order; the sender never gets its own; bursts bigger
    /// than the broadcast ring and piles of long answers drop nobody. Private messages reach
    /// their receiver once (and a native sender's own copy once), in order with the public
    /// ones, whichever protocols the two ends speak. An IRC client that parted gets nothing
    /// of the room until it comes back.
    #[test]
    fn public_messages_reach_every_other_joined_client_once_in_order(
        ops in prop::collection::vec(model_op(), 1..150),
    ) {
        let config = Config { flood: None, max_clients: SLOTS, ..Config::default() };
        let mut h = Harness::new(config);
        let mut said: Vec<Said> = Vec::new();
        // Tags each connection should receive, in order.
        let mut expected: HashMap<ConnId, Vec<usize>> = HashMap::new();
        // Connections the test itself closed; every other close must follow a BYE (ERROR).
        let mut closed_by_peer = HashSet::new();
        let mut dialects: HashMap<ConnId, Dialect> = HashMap::new();
        let mut port = 1000u16;
        for op in ops {
            match op {
                ModelOp::Accept { irc } => {
                    port += 1;
                    // Each from an address of its own: the per-address rules are tested above.
                    let ip = Ipv4Addr::from(0x7f00_0000 | u32::from(port));
                    let dialect = if irc { Dialect::Irc } else { Dialect::Native };
                    if let Some(id) = h.accept(SocketAddr::new(IpAddr::V4(ip), port), dialect) {
                        dialects.insert(id, dialect);
                    }
                }
                ModelOp::Send { who, act } => {
                    if h.live.is_empty() {
                        continue;
                    }
                    let id = h.live[who % h.live.len()];
                    let irc = dialects[&id] == Dialect::Irc;
                    let server = &h.sim.server;
                    let in_room: Vec<ConnId> =
                        h.live.iter().copied().filter(|&c| server.in_room(c)).collect();
                    let joined: Vec<ConnId> =
                        h.live.iter().copied().filter(|&c| server.phase(c) == Phase::Joined).collect();
                    let sender_in_room = in_room.contains(&id);
                    let sender_joined = joined.contains(&id);
                    let me = server.name(id).map(str::to_string);
                    let mut public = |said: &mut Vec<Said>, kind: &'static str| {
                        let k = said.len();
                        said.push(Said { from: me.clone().unwrap(), kind });
                        for &r in in_room.iter().filter(|&&r| r != id) {
                            expected.entry(r).or_default().push(k);
                        }
                        k
                    };
                    let registration = |n: &str| {
                        if irc {
                            format!("NICK {n}\r\nUSER u 0 * :r")
                        } else {
                            n.to_string()
                        }
                    };
                    let line = match act {
                        Act::Say(t) if sender_in_room => {
                            let k = public(&mut said, "MSG");
                            if irc { format!("PRIVMSG #chat :#{k} {t}") } else { format!("#{k} {t}") }
                        }
                        Act::Me(t) if sender_in_room => {
                            let k = public(&mut said, "ME");
                            if irc {
                                format!("PRIVMSG #chat :\u{1}ACTION #{k} {t}\u{1}")
                            } else {
                                format!("/me #{k} {t}")
                            }
                        }
                        Act::Burst { count, pad } if sender_in_room => {
                            let mut all = String::new();
                            for _ in 0..count {
                                let k = public(&mut said, "MSG");
                                let text = format!("#{k} {}", "p".repeat(pad));
                                if irc {
                                    all.push_str(&format!("PRIVMSG #chat :{text}\r\n"));
                                } else {
                                    all.push_str(&format!("{text}\n"));
                                }
                            }
                            all.pop();
                            all
                        }
                        Act::Ask { count } if irc => "WHO #chat\r\nNAMES\r\n".repeat(count),
                        Act::Ask { count } => "/who\n/help\n".repeat(count),
                        // Out of the room (IRC) or not joined yet: try a plausible name instead.
                        Act::Say(_) | Act::Me(_) | Act::Burst { .. } if !sender_joined => {
                            registration(&format!("u{}", port % 7))
                        }
                        Act::Say(_) | Act::Me(_) | Act::Burst { .. } => "PRIVMSG #chat :#x out".into(),
                        // A joined client's bare name would be a message: rename instead.
                        Act::Name(n) | Act::Nick(n) if sender_joined => {
                            if irc { format!("NICK {n}") } else { format!("/nick {n}") }
                        }
                        Act::Name(n) | Act::Nick(n) => registration(&n),
                        // A private message to someone joined: tagged, due to the receiver once,
                        // and to a native sender once (an IRC sender gets no copy).
                        Act::Private(n, t)
                            if sender_joined && !n.is_empty() && !n.contains(char::is_whitespace) =>
                        {
                            let to = joined
                                .iter()
                                .copied()
                                .find(|&c| h.sim.server.name(c).is_some_and(|m| same_name(m, &n)));
                            let k = said.len();
                            let tagged = match to {
                                Some(r) => {
                                    said.push(Said { from: me.clone().unwrap(), kind: "PRIV" });
                                    expected.entry(r).or_default().push(k);
                                    if r != id && !irc {
                                        expected.entry(id).or_default().push(k);
                                    }
                                    format!("#{k} {t}")
                                }
                                None => t,
                            };
                            if irc { format!("PRIVMSG {n} :{tagged}") } else { format!("/msg {n} {tagged}") }
                        }
                        Act::Private(_, _) | Act::Who if irc => "WHO #chat".into(),
                        Act::Private(_, _) | Act::Who => "/who".into(),
                        Act::Quit if irc => "QUIT".into(),
                        Act::Quit => "/quit".into(),
                        Act::Part if irc => "PART #chat".into(),
                        Act::Rejoin if irc => "JOIN #chat".into(),
                        Act::Part | Act::Rejoin => "/who".into(),
                        // A line the server must refuse whole: nothing of it may be relayed.
                        Act::Hostile(mut b, poison) => {
                            b.retain(|&c| c != b'\n' && c != b'#');
                            if irc {
                                // IRC strips formatting instead of refusing it: poison the text
                                // of a message with what IRC refuses too.
                                let mut m = b"PRIVMSG #chat :".to_vec();
                                m.extend_from_slice(&b);
                                b = m;
                            }
                            let at = b.len() / 2;
                            let bad: &[u8] = match poison {
                                0 if !irc => b"\x1b[2J",
                                0 | 1 => b"\0",
                                2 => &[0xff],
                                _ => &[b'y'; 1100],
                            };
                            b.splice(at..at, bad.iter().copied());
                                            let mut bytes = b;
                            bytes.extend_from_slice(if irc { b"\r\n" } else { b"\n" });
                            h.sim.send(id, &bytes);
                            h.sim.drain_all();
                            h.poll_close(true);
                            h.check();
                            continue;
                        }
                    };
                    let mut bytes = line.into_bytes();
                    bytes.extend_from_slice(if irc { b"\r\n" } else { b"\n" });
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
            for (kind, from, k) in received(dialects[&id], lines) {
                prop_assert!(k < said.len(), "a message nobody sent: #{} in {:?}", k, lines);
                prop_assert_eq!(from.as_str(), said[k].from.as_str(), "message stamped with the wrong name: #{}", k);
                prop_assert_eq!(kind, said[k].kind);
                got.push(k);
            }
            let want = expected.get(&id).cloned().unwrap_or_default();
            prop_assert_eq!(got, want, "connection {:?} ({:?}) got the wrong messages", id, dialects[&id]);
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
            let id = h.accept(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2000 + k as u16), Dialect::Native).unwrap();
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
