//! Any bytes arriving on UDP port 5353 are harmless: the mDNS responder (in each of its phases,
//! as a multicast or a legacy unicast packet) and the browser never panic; everything the
//! responder sends afterwards is a DNS message that fits the send buffer and parses again; and
//! the browser's findings stay within its bounds.
#![no_main]

use std::net::SocketAddr;

use chat_core::{Duration, Instant};
use chat_mdns::browse::{MAX_HOST_ADDRS, MAX_INSTANCES};
use chat_mdns::service::txt_for;
use chat_mdns::{
    Browser, HostLabel, InstanceLabel, Interface, Responder, Service, ServiceType, Source, SEND_MAX,
};
use domain::base::Message;
use libfuzzer_sys::fuzz_target;

const IFACE: u32 = 2;

fn responder(now: Instant) -> Option<Responder> {
    let services = [
        Service {
            kind: ServiceType::Chatd,
            port: 5000,
            txt: txt_for(ServiceType::Chatd, true, None).ok()?,
        },
        Service {
            kind: ServiceType::Irc,
            port: 6667,
            txt: txt_for(ServiceType::Irc, true, None).ok()?,
        },
    ];
    let mut r = Responder::new(
        now,
        InstanceLabel::new("Studio"),
        HostLabel::from_hostname("studio"),
        &services,
        1,
    )
    .ok()?;
    let mut iface = Interface::new(IFACE);
    iface.add("10.0.0.1".parse().ok()?, 24);
    iface.add("fe80::1".parse().ok()?, 64);
    r.set_interfaces(now, &[iface]);
    Some(r)
}

/// Drain what `r` sends until `until`, checking each packet, and feed it to `b`.
fn drain(r: &mut Responder, b: &mut Browser, from: Instant, until: Instant) {
    let mut buf = [0u8; SEND_MAX];
    let mut now = from;
    for _ in 0..1_000 {
        while let Some(t) = r.poll_transmit(now, &mut buf) {
            assert!(t.len <= SEND_MAX);
            let bytes = &buf[..t.len];
            assert!(Message::from_octets(bytes).is_ok(), "sent a broken message");
            b.handle(bytes, t.iface);
        }
        match r.poll_at() {
            Some(t) if t <= until => {
                now = if t > now {
                    t
                } else {
                    now + Duration::from_millis(1)
                }
            }
            _ => return,
        }
    }
    panic!("the responder never went quiet");
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the phase (probing or announced), the sender's port (5353 or a
    // legacy port) and family; the rest is the packet.
    let Some((&mode, packet)) = data.split_first() else {
        return;
    };
    let t0 = Instant::from_millis(0);
    let Some(mut r) = responder(t0) else {
        return;
    };
    let mut b = match Browser::new(ServiceType::Chatd) {
        Ok(b) => b,
        Err(_) => return,
    };
    let now = if mode & 1 == 0 {
        t0 + Duration::from_millis(300)
    } else {
        t0 + Duration::from_millis(3_000)
    };
    drain(&mut r, &mut b, t0, now);
    let port = if mode & 2 == 0 { 5353 } else { 40_000 };
    let addr: SocketAddr = if mode & 4 == 0 {
        SocketAddr::from(([10, 0, 0, 7], port))
    } else {
        SocketAddr::new("fe80::7".parse().unwrap_or([0u16; 8].into()), port)
    };
    r.handle(now, packet, Source { addr, iface: IFACE });
    b.handle(packet, IFACE);
    drain(&mut r, &mut b, now, now + Duration::from_secs(10));
    let found = b.servers();
    assert!(found.len() <= MAX_INSTANCES);
    for s in &found {
        assert!(!s.addrs.is_empty() && s.addrs.len() <= MAX_HOST_ADDRS);
    }
    let mut buf = [0u8; SEND_MAX];
    if let Some(len) = b.follow_up(&mut buf) {
        assert!(Message::from_octets(&buf[..len]).is_ok());
    }
    r.shutdown(now);
    drain(&mut r, &mut b, now, now + Duration::from_secs(1));
    assert!(r.is_done());
});
