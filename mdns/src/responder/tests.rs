//! The responder on a simulated clock: what it sends, when, and how it reacts to others.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};

use domain::base::iana::{Class, Rtype};
use domain::base::message_builder::{MessageBuilder, StaticCompressor};
use domain::base::{Message, Question, Ttl};
use domain::dep::octseq::Array;
use domain::rdata::{Ptr, Srv, Txt, A};

use super::*;
use crate::browse::Browser;
use crate::names::{self, DnsName};
use crate::service::{txt_for, ServiceType};
use crate::{PORT, SEND_MAX};

const IFACE: u32 = 2;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn t0() -> Instant {
    Instant::from_millis(1_000)
}

fn iface() -> Interface {
    let mut i = Interface::new(IFACE);
    assert!(i.add("10.0.0.1".parse().unwrap(), 24));
    assert!(i.add("fe80::1".parse().unwrap(), 64));
    i
}

fn services(password: bool) -> Vec<Service> {
    vec![Service {
        kind: ServiceType::Chatd,
        port: 5000,
        txt: txt_for(ServiceType::Chatd, password, None).unwrap(),
    }]
}

fn responder() -> Responder {
    let mut r = Responder::new(
        t0(),
        InstanceLabel::new("Studio"),
        HostLabel::from_hostname("studio"),
        &services(false),
        42,
    )
    .unwrap();
    r.set_interfaces(t0(), &[iface()]);
    r
}

/// A name from dotted text (no escapes needed in these tests).
fn n(s: &str) -> DnsName {
    let labels: Vec<&[u8]> = s.split('.').map(str::as_bytes).collect();
    names::from_labels(&labels).unwrap()
}

fn peer(port: u16) -> Source {
    Source {
        addr: SocketAddr::new("10.0.0.7".parse().unwrap(), port),
        iface: IFACE,
    }
}

/// One packet the responder sent.
#[derive(Debug, Clone)]
struct Sent {
    at: Instant,
    t: Transmit,
    bytes: Vec<u8>,
}

impl Sent {
    fn msg(&self) -> Message<&[u8]> {
        Message::from_octets(&self.bytes[..]).unwrap()
    }

    fn is_probe(&self) -> bool {
        let m = self.msg();
        !m.header().qr() && m.header_counts().nscount() > 0
    }

    fn is_response(&self) -> bool {
        self.msg().header().qr()
    }

    /// (owner, type, class, ttl) of each answer record.
    fn answers(&self) -> Vec<(String, Rtype, u16, u32)> {
        let m = self.msg();
        m.answer()
            .unwrap()
            .map(|rr| {
                let rr = rr.unwrap();
                (
                    rr.owner().to_string(),
                    rr.rtype(),
                    rr.class().to_int(),
                    rr.ttl().as_secs(),
                )
            })
            .collect()
    }
}

/// Drive `r` from `from` to `until`, feeding nothing in; return what it sent.
fn drive(r: &mut Responder, from: Instant, until: Instant) -> Vec<Sent> {
    let mut now = from;
    let mut sent = Vec::new();
    let mut buf = [0u8; SEND_MAX];
    for _ in 0..10_000 {
        while let Some(t) = r.poll_transmit(now, &mut buf) {
            sent.push(Sent {
                at: now,
                t,
                bytes: buf[..t.len].to_vec(),
            });
        }
        match r.poll_at() {
            Some(t) if t <= until => now = if t > now { t } else { now + ms(1) },
            _ => return sent,
        }
    }
    panic!("the responder never went quiet");
}

/// Run `r` until its names are announced and it is quiet; return the time then.
fn settle(r: &mut Responder) -> Instant {
    let sent = drive(r, t0(), t0() + ms(10_000));
    assert!(r.is_announced());
    sent.last().map_or(t0(), |s| s.at) + ms(1)
}

/// Compose a query from `questions`, with `known` PTR answers (owner, target, ttl).
fn query(id: u16, questions: &[(&str, Rtype)], known: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut q = MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new()))
        .unwrap()
        .question();
    q.header_mut().set_id(id);
    for (name, t) in questions {
        q.push(Question::new(n(name), *t, Class::IN)).unwrap();
    }
    let mut a = q.answer();
    for (owner, target, ttl) in known {
        a.push((
            n(owner),
            Class::IN,
            Ttl::from_secs(*ttl),
            Ptr::new(n(target)),
        ))
        .unwrap();
    }
    a.finish().as_slice().to_vec()
}

/// Compose a response claiming `instance` with an SRV to `host`:`port`, and `host` at `addr`.
fn rival(instance: &str, port: u16, host: &str, addr: [u8; 4]) -> Vec<u8> {
    let mut m =
        MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new())).unwrap();
    m.header_mut().set_qr(true);
    m.header_mut().set_aa(true);
    let mut a = m.answer();
    a.push((
        n(instance),
        Class::IN,
        Ttl::from_secs(120),
        Srv::new(0, 0, port, n(host)),
    ))
    .unwrap();
    a.push((
        n(host),
        Class::IN,
        Ttl::from_secs(120),
        A::from_octets(addr[0], addr[1], addr[2], addr[3]),
    ))
    .unwrap();
    a.finish().as_slice().to_vec()
}

#[test]
fn probes_three_times_then_announces_twice() {
    let mut r = responder();
    let sent = drive(&mut r, t0(), t0() + ms(10_000));
    let probes: Vec<&Sent> = sent.iter().filter(|s| s.is_probe()).collect();
    let announced: Vec<&Sent> = sent.iter().filter(|s| s.is_response()).collect();
    // One packet per family on the interface.
    assert_eq!(probes.len(), 3 * 2, "{sent:#?}");
    assert_eq!(announced.len(), 2 * 2);
    assert!(
        probes[0].at <= t0() + ms(250),
        "the first probe within 250 ms"
    );
    assert_eq!(probes[2].at.duration_since(probes[0].at), ms(250));
    assert_eq!(probes[4].at.duration_since(probes[2].at), ms(250));
    assert!(announced[0].at >= probes[4].at + ms(250));
    assert_eq!(announced[2].at.duration_since(announced[0].at), ms(1_000));
    assert!(sent.iter().all(|s| s.t.to.is_none() && s.t.iface == IFACE));
    assert_eq!(
        [sent[0].t.family, sent[1].t.family],
        [Family::V4, Family::V6]
    );
    assert_eq!(r.poll_event(), Some(Event::Announced));
    // The probe asks about the instance and the host, and proposes their records.
    let p = probes[0].msg();
    let qs: Vec<String> = p
        .question()
        .map(|q| q.unwrap().qname().to_string())
        .collect();
    assert_eq!(qs, ["Studio._chatd._tcp.local", "chatd-studio.local"]);
    assert_eq!(p.header_counts().nscount(), 4, "SRV, TXT, A and AAAA");
    // The announcement holds every record, unique ones with the cache-flush bit.
    let answers = announced[0].answers();
    let has = |name: &str, t: Rtype, class: u16, ttl: u32| {
        answers.contains(&(name.to_string(), t, class, ttl))
    };
    assert!(has("_chatd._tcp.local", Rtype::PTR, 1, 4500), "{answers:?}");
    assert!(has("Studio._chatd._tcp.local", Rtype::SRV, 0x8001, 120));
    assert!(has("Studio._chatd._tcp.local", Rtype::TXT, 0x8001, 4500));
    assert!(has("_services._dns-sd._udp.local", Rtype::PTR, 1, 4500));
    assert!(has("chatd-studio.local", Rtype::A, 0x8001, 120));
    assert!(has("chatd-studio.local", Rtype::AAAA, 0x8001, 120));
    // A browser reading the announcement finds the server with its TXT keys.
    let mut b = Browser::new(ServiceType::Chatd).unwrap();
    b.handle(&announced[0].bytes, IFACE);
    let found = b.servers();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].instance, "Studio");
    assert_eq!(found[0].host, "chatd-studio.local");
    assert_eq!(found[0].port, 5000);
    assert_eq!(
        found[0].best().unwrap().ip,
        "10.0.0.1".parse::<IpAddr>().unwrap()
    );
    assert_eq!(found[0].txt_value("proto"), Some("chatd/1"));
    assert_eq!(found[0].txt_value("password"), Some("no"));
}

#[test]
fn answers_a_browser_after_a_short_delay() {
    let mut r = responder();
    // More than a second after the announcement, which multicast every record.
    let now = settle(&mut r) + ms(1_500);
    let b = Browser::new(ServiceType::Chatd).unwrap();
    let mut buf = [0u8; SEND_MAX];
    let len = b.query(&mut buf).unwrap();
    r.handle(now, &buf[..len], peer(PORT));
    let sent = drive(&mut r, now, now + ms(500));
    assert_eq!(sent.len(), 1, "one answer: {sent:#?}");
    let delay = sent[0].at.duration_since(now);
    assert!(
        (ms(20)..=ms(120)).contains(&delay),
        "a PTR answer waits 20-120 ms: {delay:?}"
    );
    assert_eq!(sent[0].t.to, None, "multicast");
    assert_eq!(
        sent[0].t.family,
        Family::V4,
        "on the family it was asked on"
    );
    let m = sent[0].msg();
    assert_eq!(m.header_counts().ancount(), 1, "the PTR");
    assert_eq!(
        m.header_counts().arcount(),
        4,
        "SRV, TXT, A, AAAA as additional records"
    );
    let mut b = b;
    b.handle(&sent[0].bytes, IFACE);
    assert_eq!(b.servers().len(), 1);
    assert_eq!(b.follow_up(&mut buf), None, "nothing is missing");
}

#[test]
fn multicasts_a_record_at_most_once_a_second() {
    let mut r = responder();
    let now = settle(&mut r) + ms(2_000);
    let q = query(0, &[("Studio._chatd._tcp.local", Rtype::SRV)], &[]);
    r.handle(now, &q, peer(PORT));
    let first = drive(&mut r, now, now + ms(10));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].at, now, "a unique record is answered at once");
    r.handle(now + ms(300), &q, peer(PORT));
    assert!(drive(&mut r, now + ms(300), now + ms(900)).is_empty());
    r.handle(now + ms(1_100), &q, peer(PORT));
    assert_eq!(drive(&mut r, now + ms(1_100), now + ms(1_200)).len(), 1);
}

#[test]
fn known_answers_are_not_repeated() {
    let mut r = responder();
    let now = settle(&mut r) + ms(2_000);
    let ptr = ("_chatd._tcp.local", "Studio._chatd._tcp.local", 4500);
    let q = query(0, &[("_chatd._tcp.local", Rtype::PTR)], &[ptr]);
    r.handle(now, &q, peer(PORT));
    assert!(drive(&mut r, now, now + ms(500)).is_empty());
    // Less than half the TTL left: answered again.
    let stale = ("_chatd._tcp.local", "Studio._chatd._tcp.local", 2000);
    let q = query(0, &[("_chatd._tcp.local", Rtype::PTR)], &[stale]);
    r.handle(now + ms(500), &q, peer(PORT));
    assert_eq!(drive(&mut r, now + ms(500), now + ms(1_000)).len(), 1);
}

#[test]
fn a_legacy_query_gets_a_unicast_reply() {
    let mut r = responder();
    let now = settle(&mut r);
    let q = query(0x1234, &[("_chatd._tcp.local", Rtype::PTR)], &[]);
    let from = peer(40_000);
    r.handle(now, &q, from);
    let sent = drive(&mut r, now, now + ms(500));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].at, now, "no delay for a unicast reply");
    assert_eq!(sent[0].t.to, Some(from.addr));
    let m = sent[0].msg();
    assert_eq!(m.header().id(), 0x1234, "the query's id");
    let qs: Vec<String> = m
        .question()
        .map(|q| q.unwrap().qname().to_string())
        .collect();
    assert_eq!(qs, ["_chatd._tcp.local"], "the question repeated");
    assert!(
        sent[0].answers().iter().all(|a| a.2 == 1 && a.3 <= 10),
        "no cache-flush bit, TTL at most 10 s: {:?}",
        sent[0].answers()
    );
}

#[test]
fn packets_from_off_the_link_or_odd_ones_are_ignored() {
    let mut r = responder();
    let now = settle(&mut r);
    let q = query(0, &[("_chatd._tcp.local", Rtype::PTR)], &[]);
    let far = Source {
        addr: SocketAddr::new("192.0.2.9".parse().unwrap(), 40_000),
        iface: IFACE,
    };
    r.handle(now, &q, far);
    let other_iface = Source {
        iface: 9,
        ..peer(PORT)
    };
    r.handle(now, &q, other_iface);
    let mut odd = q.clone();
    odd[2] |= 0x10; // opcode 2 (status)
    r.handle(now, &odd, peer(PORT));
    for junk in [&[][..], &[0u8; 5][..], &q[..q.len() - 3]] {
        r.handle(now, junk, peer(PORT));
    }
    assert!(drive(&mut r, now, now + ms(2_000)).is_empty());
    // A link-local IPv6 sender is on the link.
    let v6 = Source {
        addr: SocketAddr::new("fe80::7".parse().unwrap(), PORT),
        iface: IFACE,
    };
    r.handle(now + ms(2_000), &q, v6);
    let sent = drive(&mut r, now + ms(2_000), now + ms(3_000));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].t.family, Family::V6);
}

#[test]
fn own_packets_looping_back_are_not_conflicts() {
    let mut r = responder();
    let mut now = t0();
    let mut buf = [0u8; SEND_MAX];
    for _ in 0..10_000 {
        while let Some(t) = r.poll_transmit(now, &mut buf) {
            let looped = buf[..t.len].to_vec();
            r.handle(now, &looped, peer(PORT));
        }
        match r.poll_at() {
            Some(t) => now = if t > now { t } else { now + ms(1) },
            None => break,
        }
    }
    assert!(r.is_announced());
    assert_eq!(r.instance().as_str(), "Studio");
    assert_eq!(r.poll_event(), Some(Event::Announced));
    assert_eq!(r.poll_event(), None);
}

#[test]
fn a_conflict_while_probing_renames() {
    let mut r = responder();
    // The first probe goes out, then someone answers for the same instance name.
    let sent = drive(&mut r, t0(), t0() + ms(260));
    assert!(sent.iter().any(Sent::is_probe));
    let now = t0() + ms(300);
    let theirs = rival(
        "Studio._chatd._tcp.local",
        6000,
        "other.local",
        [10, 0, 0, 9],
    );
    r.handle(now, &theirs, peer(PORT));
    assert_eq!(r.poll_event(), Some(Event::Renamed(Which::Instance)));
    assert_eq!(r.instance().as_str(), "Studio (2)");
    assert_eq!(
        r.host().as_str(),
        "chatd-studio",
        "only the instance was contested"
    );
    let sent = drive(&mut r, now, now + ms(5_000));
    let probes = sent.iter().filter(|s| s.is_probe()).count();
    assert_eq!(probes, 6, "probing starts again under the new name");
    let p = sent[0].msg();
    let q = p.question().next().unwrap().unwrap();
    assert_eq!(q.qname().to_string(), "Studio\\ (2)._chatd._tcp.local");
    assert!(r.is_announced());
}

#[test]
fn a_host_conflict_renames_the_host() {
    let mut r = responder();
    drive(&mut r, t0(), t0() + ms(260));
    let now = t0() + ms(300);
    let theirs = rival(
        "Other._chatd._tcp.local",
        5000,
        "chatd-studio.local",
        [10, 0, 0, 9],
    );
    r.handle(now, &theirs, peer(PORT));
    assert_eq!(r.poll_event(), Some(Event::Renamed(Which::Host)));
    assert_eq!(r.host().as_str(), "chatd-studio-2");
    assert_eq!(r.instance().as_str(), "Studio");
    // The same address as ours is no conflict: two chatds on one machine share the host.
    let mut r = responder();
    drive(&mut r, t0(), t0() + ms(260));
    let same = rival(
        "Other._chatd._tcp.local",
        5001,
        "chatd-studio.local",
        [10, 0, 0, 1],
    );
    r.handle(now, &same, peer(PORT));
    assert_eq!(r.poll_event(), None);
    assert_eq!(r.host().as_str(), "chatd-studio");
}

#[test]
fn a_conflict_after_announcing_probes_again() {
    let mut r = responder();
    let now = settle(&mut r);
    assert_eq!(r.poll_event(), Some(Event::Announced));
    let theirs = rival(
        "Studio._chatd._tcp.local",
        6000,
        "other.local",
        [10, 0, 0, 9],
    );
    r.handle(now, &theirs, peer(PORT));
    assert_eq!(r.poll_event(), Some(Event::Conflict(Which::Instance)));
    assert!(!r.is_announced(), "probing again");
    assert_eq!(r.instance().as_str(), "Studio", "not renamed yet");
    // The rival answers the probe too: now the name is given up.
    drive(&mut r, now, now + ms(10));
    r.handle(now + ms(20), &theirs, peer(PORT));
    assert_eq!(r.poll_event(), Some(Event::Renamed(Which::Instance)));
    assert_eq!(r.instance().as_str(), "Studio (2)");
}

#[test]
fn many_conflicts_slow_probing_down() {
    let mut r = responder();
    drive(&mut r, t0(), t0() + ms(260));
    let mut now = t0() + ms(300);
    for k in 0..CONFLICT_LIMIT {
        // The rival claims whatever name we try next.
        let name = if k == 0 {
            "Studio._chatd._tcp.local".to_string()
        } else {
            format!("Studio ({}).{}", k + 1, "_chatd._tcp.local")
        };
        let mut m =
            MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new())).unwrap();
        m.header_mut().set_qr(true);
        let mut a = m.answer();
        let (first, _) = name.split_once("._chatd").unwrap();
        let owner = names::from_labels(&[first.as_bytes(), b"_chatd", b"_tcp", b"local"]).unwrap();
        a.push((
            owner,
            Class::IN,
            Ttl::from_secs(120),
            Srv::new(0, 0, 1, n("x.local")),
        ))
        .unwrap();
        r.handle(now, a.finish().as_slice(), peer(PORT));
        now += ms(100);
    }
    assert_eq!(
        r.instance().as_str(),
        format!("Studio ({})", CONFLICT_LIMIT + 1)
    );
    let sent = drive(&mut r, now, now + ms(10_000));
    let first = sent.iter().find(|s| s.is_probe()).unwrap();
    assert!(
        first.at.duration_since(now) >= ms(4_000),
        "fifteen conflicts in ten seconds: wait five before probing"
    );
}

#[test]
fn a_simultaneous_probe_is_settled_by_comparing_records() {
    // A rival probes for our instance name at the same time, proposing our TXT record and
    // an SRV record to `host` (records compare by type, then by their bytes: TXT first).
    fn rival_probe(host: &str) -> Vec<u8> {
        let mut q = MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new()))
            .unwrap()
            .question();
        q.push(Question::new(
            n("Studio._chatd._tcp.local"),
            Rtype::ANY,
            Class::IN,
        ))
        .unwrap();
        let mut auth = q.authority();
        let owner = n("Studio._chatd._tcp.local");
        let ours = services(false).remove(0).txt;
        let txt = Txt::from_octets(ours.rdata()).unwrap();
        auth.push((&owner, Class::IN, Ttl::from_secs(4500), txt))
            .unwrap();
        let srv = Srv::new(0, 0, 5000, n(host));
        auth.push((&owner, Class::IN, Ttl::from_secs(120), srv))
            .unwrap();
        auth.finish().as_slice().to_vec()
    }
    // Same TXT; their SRV target sorts after ours ("chatd-studiz" > "chatd-studio"): we
    // lose, wait a second, and probe again under the same name.
    let mut r = responder();
    drive(&mut r, t0(), t0() + ms(260));
    let now = t0() + ms(300);
    r.handle(now, &rival_probe("chatd-studiz.local"), peer(PORT));
    assert_eq!(r.poll_event(), Some(Event::LostTieBreak));
    let sent = drive(&mut r, now, now + ms(5_000));
    let first = sent.iter().find(|s| s.is_probe()).unwrap();
    assert!(first.at.duration_since(now) >= ms(1_000));
    assert_eq!(
        r.instance().as_str(),
        "Studio",
        "a tie-break does not rename"
    );
    // Theirs sorts first ("chatd-studia"): we win and carry on.
    let mut r = responder();
    drive(&mut r, t0(), t0() + ms(260));
    r.handle(now, &rival_probe("chatd-studia.local"), peer(PORT));
    assert_eq!(r.poll_event(), None);
    let sent = drive(&mut r, now, now + ms(5_000));
    assert!(r.is_announced(), "probing went on to the announcement");
    assert!(
        sent[0].at < now + ms(250),
        "without waiting a second: {sent:#?}"
    );
}

#[test]
fn a_probe_for_our_name_is_answered_at_once() {
    let mut r = responder();
    let now = settle(&mut r);
    let mut q = MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new()))
        .unwrap()
        .question();
    q.push(Question::new(
        n("Studio._chatd._tcp.local"),
        Rtype::ANY,
        Class::IN,
    ))
    .unwrap();
    let mut auth = q.authority();
    auth.push((
        n("Studio._chatd._tcp.local"),
        Class::IN,
        Ttl::from_secs(120),
        Srv::new(0, 0, 7000, n("x.local")),
    ))
    .unwrap();
    let probe = auth.finish().as_slice().to_vec();
    // Even within a second of the announcement, a probe is answered (a quarter second is
    // the least gap between defences), and at once.
    let now = now + ms(300);
    r.handle(now, &probe, peer(PORT));
    let sent = drive(&mut r, now, now + ms(100));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].at, now);
    let answers = sent[0].answers();
    assert!(answers.iter().any(|a| a.1 == Rtype::SRV) && answers.iter().any(|a| a.1 == Rtype::TXT));
}

#[test]
fn shutdown_says_goodbye() {
    let mut r = responder();
    let now = settle(&mut r);
    r.shutdown(now);
    let sent = drive(&mut r, now, now + ms(100));
    assert_eq!(sent.len(), 2, "one per family");
    for s in &sent {
        let answers = s.answers();
        assert_eq!(answers.len(), 6);
        assert!(answers.iter().all(|a| a.3 == 0), "TTL 0: {answers:?}");
    }
    assert!(r.is_done());
    assert_eq!(r.poll_at(), None);
    // Nothing is answered any more.
    let q = query(0, &[("_chatd._tcp.local", Rtype::PTR)], &[]);
    r.handle(now, &q, peer(PORT));
    assert!(drive(&mut r, now, now + ms(1_000)).is_empty());
    // Before anything was announced, there is nothing to say goodbye to.
    let mut quiet = responder();
    quiet.shutdown(t0());
    assert!(drive(&mut quiet, t0(), t0() + ms(1_000)).is_empty());
    assert!(quiet.is_done());
}

#[test]
fn a_new_txt_is_announced_again() {
    let mut r = responder();
    let now = settle(&mut r);
    r.set_services(now, &services(false)).unwrap();
    assert!(
        drive(&mut r, now, now + ms(100)).is_empty(),
        "no change, nothing sent"
    );
    r.set_services(now, &services(true)).unwrap();
    let sent = drive(&mut r, now, now + ms(5_000));
    assert!(
        sent.iter().all(Sent::is_response),
        "no probing for a TXT change"
    );
    assert_eq!(sent.len(), 4, "two announcements, both families");
    let mut b = Browser::new(ServiceType::Chatd).unwrap();
    b.handle(&sent[0].bytes, IFACE);
    assert_eq!(b.servers()[0].txt_value("password"), Some("yes"));
}

#[test]
fn new_addresses_are_probed_and_announced() {
    let mut r = responder();
    let now = settle(&mut r);
    r.set_interfaces(now, &[iface()]);
    assert!(
        drive(&mut r, now, now + ms(100)).is_empty(),
        "no change, nothing sent"
    );
    let mut moved = iface();
    assert!(moved.add("10.0.0.2".parse().unwrap(), 24));
    r.set_interfaces(now, &[moved]);
    let sent = drive(&mut r, now, now + ms(5_000));
    assert_eq!(sent.iter().filter(|s| s.is_probe()).count(), 6);
    let last = sent.iter().rfind(|s| s.is_response()).unwrap();
    let a = last.answers().iter().filter(|a| a.1 == Rtype::A).count();
    assert_eq!(a, 2, "both addresses announced");
}

#[test]
fn the_queue_is_bounded() {
    let mut r = responder();
    let now = settle(&mut r);
    let q = query(7, &[("_chatd._tcp.local", Rtype::PTR)], &[]);
    for port in 0..1_000u16 {
        r.handle(now, &q, peer(10_000 + port));
    }
    let sent = drive(&mut r, now, now + ms(100));
    assert_eq!(sent.len(), QUEUE, "the rest were not answered");
}
