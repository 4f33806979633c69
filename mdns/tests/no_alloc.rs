//! The responder allocates nothing once made: reading queries and responses (valid or not),
//! composing answers, announcements, renames and goodbyes all happen in fixed buffers.
#![allow(clippy::unwrap_used, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chat_core::{Duration, Instant};
use chat_mdns::service::txt_for;
use chat_mdns::{
    Browser, HostLabel, InstanceLabel, Interface, Responder, Service, ServiceType, Source, SEND_MAX,
};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to the system allocator unchanged; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::SeqCst) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::SeqCst) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_responder_allocates_nothing_per_packet() {
    let services = vec![Service {
        kind: ServiceType::Chatd,
        port: 5000,
        txt: txt_for(ServiceType::Chatd, false, None).unwrap(),
    }];
    let mut iface = Interface::new(2);
    iface.add("10.0.0.1".parse().unwrap(), 24);
    iface.add("fe80::1".parse().unwrap(), 64);
    let mut other_iface = iface.clone();
    other_iface.add("10.0.0.2".parse().unwrap(), 24);
    let t0 = Instant::from_millis(0);
    let mut r = Responder::new(
        t0,
        InstanceLabel::new("Studio"),
        HostLabel::from_hostname("studio"),
        &services,
        7,
    )
    .unwrap();
    r.set_interfaces(t0, std::slice::from_ref(&iface));
    let mut query = [0u8; SEND_MAX];
    let qlen = Browser::new(ServiceType::Chatd)
        .unwrap()
        .query(&mut query)
        .unwrap();
    // A rival's answer claiming our instance name with another port (built before counting).
    let rival = {
        use domain::base::iana::Class;
        use domain::base::message_builder::{MessageBuilder, StaticCompressor};
        use domain::base::Ttl;
        use domain::dep::octseq::Array;
        use domain::rdata::Srv;
        let name =
            chat_mdns::names::from_labels(&[b"Studio", b"_chatd", b"_tcp", b"local"]).unwrap();
        let host = chat_mdns::names::from_labels(&[b"elsewhere", b"local"]).unwrap();
        let mut m =
            MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new())).unwrap();
        m.header_mut().set_qr(true);
        let mut a = m.answer();
        a.push((
            &name,
            Class::IN,
            Ttl::from_secs(120),
            Srv::new(0, 0, 6000, &host),
        ))
        .unwrap();
        a.finish().as_slice().to_vec()
    };
    let mut buf = vec![0u8; SEND_MAX];
    let mut looped = vec![0u8; SEND_MAX];
    let mut looped_len = 0;
    let from = |port| Source {
        addr: SocketAddr::new("10.0.0.7".parse().unwrap(), port),
        iface: 2,
    };

    COUNTING.store(true, Ordering::SeqCst);
    let mut now = t0;
    let mut count = 0;
    for step in 0..2_000u64 {
        now += Duration::from_millis(10);
        r.handle(now, &query[..qlen], from(5353));
        r.handle(now, &query[..qlen], from(40_000));
        r.handle(now, &query[..qlen - 1], from(5353));
        // Its own last packet, looped back by the kernel.
        r.handle(now, &looped[..looped_len], from(5353));
        if step == 500 {
            r.set_interfaces(now, std::slice::from_ref(&other_iface));
        }
        if step == 1_000 || step == 1_002 {
            r.handle(now, &rival, from(5353));
        }
        while let Some(t) = r.poll_transmit(now, &mut buf) {
            count += 1;
            looped[..t.len].copy_from_slice(&buf[..t.len]);
            looped_len = t.len;
        }
        let _ = r.poll_event();
        let _ = r.poll_at();
    }
    r.shutdown(now);
    while r.poll_transmit(now, &mut buf).is_some() {
        count += 1;
    }
    COUNTING.store(false, Ordering::SeqCst);

    assert_eq!(
        r.instance().as_str(),
        "Studio (2)",
        "the rival took the name"
    );
    assert!(count > 100, "the responder answered ({count} packets)");
    assert!(r.is_done());
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst),
        0,
        "allocations while running"
    );
}
