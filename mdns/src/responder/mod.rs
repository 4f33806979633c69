//! The mDNS responder chatd runs: probe for the names, announce them, answer queries, defend
//! or give up the names on a conflict, and say goodbye (RFC 6762 sections 6 to 10).
//!
//! The contract, as for the chat core: feed every packet that arrives on UDP port 5353 to
//! [`Responder::handle`]; then call [`Responder::poll_transmit`] until it returns `None` and
//! send what it composed; call it again at [`Responder::poll_at`]. Report interface and
//! service changes with [`Responder::set_interfaces`] and [`Responder::set_services`], and
//! call [`Responder::shutdown`] (then drain `poll_transmit`) before exiting. Nothing here
//! allocates after [`Responder::new`]: state lives in fixed arrays, packets are parsed in
//! place and composed into a fixed buffer.
//!
//! What is simplified, on purpose:
//! - Names are probed and defended for all interfaces at once, not per interface.
//! - A question with the unicast-response bit is answered by multicast (RFC 6762 section 5.4
//!   allows it when the record was not multicast recently; here it is always done).
//! - Known answers are only read from the same packet (a truncated query's follow-up packets
//!   are not awaited), and only PTR, SRV and TXT records are suppressed by them.

use std::net::SocketAddr;

use chat_core::{Duration, Instant};
use domain::base::iana::{Opcode, Rcode, Rtype};
use domain::base::Message;

use crate::interface::Interface;
use crate::names::{HostLabel, InstanceLabel, NameTooLong};
use crate::records::{Records, Set, TtlMode, MAX_SERVICES, RECORDS};
use crate::service::Service;
use crate::Family;

/// The most interfaces served; more are ignored.
pub const MAX_IFACES: usize = 16;
/// Answers waiting to be sent; a query that finds the queue full is not answered.
const QUEUE: usize = 16;
/// Probes sent before a name counts as ours (RFC 6762 section 8.1).
const PROBES: u8 = 3;
/// Time between probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// The most the first probe waits, so hosts that start together do not probe together.
const PROBE_JITTER_MS: u64 = 250;
/// Announcements after probing (RFC 6762 section 8.3: at least two, a second apart, then
/// twice as far apart).
const ANNOUNCEMENTS: u8 = 2;
/// Time between the first two announcements.
const ANNOUNCE_INTERVAL: Duration = Duration::from_secs(1);
/// A record is multicast on an interface at most this often (RFC 6762 section 6)…
const MULTICAST_GAP: Duration = Duration::from_secs(1);
/// …except in answer to a probe, which may be answered this often.
const DEFENSE_GAP: Duration = Duration::from_millis(250);
/// Shared records are answered after a random delay in this range, in ms (section 6).
const SHARED_DELAY_MS: (u64, u64) = (20, 120);
/// After this many conflicts within [`CONFLICT_WINDOW`], wait [`CONFLICT_BACKOFF`] before
/// each new probe (section 8.1).
const CONFLICT_LIMIT: usize = 15;
/// See [`CONFLICT_LIMIT`].
const CONFLICT_WINDOW: Duration = Duration::from_secs(10);
/// See [`CONFLICT_LIMIT`].
const CONFLICT_BACKOFF: Duration = Duration::from_secs(5);
/// How long the loser of a simultaneous probe waits before probing again (section 8.2).
const TIEBREAK_WAIT: Duration = Duration::from_secs(1);
/// Packets we multicast are remembered this long, to know them when they loop back.
const OWN_MEMORY: Duration = Duration::from_secs(5);
/// How many sent packets are remembered.
const OWN_SENT: usize = 16;
/// Records of one name compared in a simultaneous-probe tie-break.
const TIEBREAK_RECORDS: usize = 2 * crate::interface::MAX_ADDRS + 2;

/// Where a packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The sender's address and port (with the scope of a link-local IPv6 address).
    pub addr: SocketAddr,
    /// The kernel's index of the interface it arrived on.
    pub iface: u32,
}

/// A packet composed by [`Responder::poll_transmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// The interface to send it out of.
    pub iface: u32,
    /// The IP version (and so the socket) to send it on.
    pub family: Family,
    /// `None` for the mDNS group and port; an address for a unicast reply.
    pub to: Option<SocketAddr>,
    /// Its length at the start of the buffer given.
    pub len: usize,
}

/// Which of our names an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The service instance name.
    Instance,
    /// The host name.
    Host,
}

/// Something worth logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Probing succeeded and the first announcement went out.
    Announced,
    /// Another host answered for one of our names while we probed it: we took the next
    /// name ([`Responder::instance`], [`Responder::host`]).
    Renamed(Which),
    /// Another host claimed one of our names after we had announced it: we probe again.
    Conflict(Which),
    /// Another host probing for our name at the same time won the tie-break: we wait a
    /// second and probe again.
    LostTieBreak,
}

/// Why a responder cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// More services than [`MAX_SERVICES`].
    TooManyServices,
    /// A name would be longer than DNS allows.
    NameTooLong,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::TooManyServices => write!(f, "more than {MAX_SERVICES} services"),
            ConfigError::NameTooLong => f.write_str("a name would be too long for DNS"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<NameTooLong> for ConfigError {
    fn from(_: NameTooLong) -> ConfigError {
        ConfigError::NameTooLong
    }
}

/// Where the responder is in its life (RFC 6762 section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting to start probing (random start, tie-break lost, too many conflicts).
    Wait { until: Instant },
    /// `sent` probes out; the next at `next`.
    Probe { sent: u8, next: Instant },
    /// `sent` announcements out; the next at `next`. Queries are answered.
    Announce { sent: u8, next: Instant },
    /// The names are ours; queries are answered.
    Run,
    /// Shut down: nothing more is answered.
    Stopped,
}

/// A message sent on every interface and family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    Probe,
    Announce,
    Goodbye,
}

/// A name a legacy query asked about, to repeat in the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Enumeration,
    Type(u8),
    Instance(u8),
    Host,
}

/// An answer waiting to be sent.
#[derive(Debug, Clone)]
struct Pending {
    at: Instant,
    iface: u32,
    family: Family,
    /// Unicast destination (a legacy query); `None` for the group.
    to: Option<SocketAddr>,
    answers: Set,
    additional: Set,
    /// The query's id and questions, for a legacy reply.
    legacy: Option<(u16, heapless::Vec<(Asked, Rtype), 4>)>,
}

/// An interface and when each record was last multicast on it, per family.
#[derive(Debug, Clone)]
struct Slot {
    iface: Interface,
    last: [[Option<Instant>; RECORDS]; 2],
}

impl Slot {
    fn new(iface: Interface) -> Slot {
        Slot {
            iface,
            last: [[None; RECORDS]; 2],
        }
    }
}

/// Return the index of `family` in per-family arrays.
fn fam(family: Family) -> usize {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// Return the family of an address (IPv4-mapped IPv6 counts as IPv6: it came on that socket).
fn family_of(addr: &SocketAddr) -> Family {
    match addr {
        SocketAddr::V4(_) => Family::V4,
        SocketAddr::V6(_) => Family::V6,
    }
}

/// FNV-1a, to recognise our own packets when multicast loops them back.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The mDNS responder of one chatd.
#[derive(Debug)]
pub struct Responder {
    base_instance: InstanceLabel,
    instance: InstanceLabel,
    instance_renames: u32,
    base_host: HostLabel,
    host: HostLabel,
    host_renames: u32,
    services: heapless::Vec<Service, MAX_SERVICES>,
    records: Records,
    slots: heapless::Vec<Slot, MAX_IFACES>,
    phase: Phase,
    /// A message going out on every interface: the kind and the next (slot, family).
    round: Option<(Round, usize)>,
    queue: heapless::Deque<Pending, QUEUE>,
    events: heapless::Deque<Event, 8>,
    own: [(u64, Option<Instant>); OWN_SENT],
    own_next: usize,
    conflicts: heapless::Deque<Instant, CONFLICT_LIMIT>,
    rng: u64,
}

impl Responder {
    /// Make a responder for `services` under `instance` (e.g. `Studio`) on host `host`
    /// (`chatd-studio`); `seed` varies the random delays between hosts (a process id and the
    /// time will do). It starts probing shortly after `now`, once it has interfaces.
    pub fn new(
        now: Instant,
        instance: InstanceLabel,
        host: HostLabel,
        services: &[Service],
        seed: u64,
    ) -> Result<Responder, ConfigError> {
        let stored: heapless::Vec<Service, MAX_SERVICES> =
            heapless::Vec::from_slice(services).map_err(|_| ConfigError::TooManyServices)?;
        let records = Records::new(&instance, &host, services)?;
        let mut r = Responder {
            base_instance: instance.clone(),
            instance,
            instance_renames: 0,
            base_host: host.clone(),
            host,
            host_renames: 0,
            services: stored,
            records,
            slots: heapless::Vec::new(),
            phase: Phase::Wait { until: now },
            round: None,
            queue: heapless::Deque::new(),
            events: heapless::Deque::new(),
            own: [(0, None); OWN_SENT],
            own_next: 0,
            conflicts: heapless::Deque::new(),
            rng: seed | 1,
        };
        let jitter = r.random_ms(0, PROBE_JITTER_MS);
        r.phase = Phase::Wait {
            until: now + jitter,
        };
        Ok(r)
    }

    /// Return the instance name in use (after any renames).
    pub fn instance(&self) -> &InstanceLabel {
        &self.instance
    }

    /// Return the host name in use (after any renames).
    pub fn host(&self) -> &HostLabel {
        &self.host
    }

    /// Return the services announced.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Return whether the responder has shut down and sent its goodbyes.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Stopped && self.round.is_none()
    }

    /// Return whether the names are probed and queries are being answered.
    pub fn is_announced(&self) -> bool {
        matches!(self.phase, Phase::Announce { .. } | Phase::Run)
    }

    /// Set the interfaces and their addresses. A change once the names are announced probes
    /// them again (RFC 6762 section 8: a new link, or new addresses, may hold a rival).
    pub fn set_interfaces(&mut self, now: Instant, ifaces: &[Interface]) {
        let same = self.slots.len() == ifaces.len().min(MAX_IFACES)
            && self.slots.iter().zip(ifaces).all(|(s, i)| s.iface == *i);
        if same {
            return;
        }
        let mut slots: heapless::Vec<Slot, MAX_IFACES> = heapless::Vec::new();
        for iface in ifaces.iter().take(MAX_IFACES) {
            let slot = match self.slots.iter().find(|s| s.iface == *iface) {
                Some(old) => old.clone(),
                None => Slot::new(iface.clone()),
            };
            let _ = slots.push(slot);
        }
        self.slots = slots;
        if self.is_announced() {
            self.phase = Phase::Probe { sent: 0, next: now };
        }
    }

    /// Set the services (a password added, a TLS port…). A changed TXT record or port is
    /// announced again (section 8.4); a changed set of service types is probed again.
    pub fn set_services(&mut self, now: Instant, services: &[Service]) -> Result<(), ConfigError> {
        if self.services.as_slice() == services {
            return Ok(());
        }
        let stored: heapless::Vec<Service, MAX_SERVICES> =
            heapless::Vec::from_slice(services).map_err(|_| ConfigError::TooManyServices)?;
        let records = Records::new(&self.instance, &self.host, services)?;
        let same_types = self.services.len() == services.len()
            && self
                .services
                .iter()
                .zip(services)
                .all(|(a, b)| a.kind == b.kind);
        self.services = stored;
        self.records = records;
        if self.is_announced() {
            self.phase = if same_types {
                Phase::Announce { sent: 0, next: now }
            } else {
                Phase::Probe { sent: 0, next: now }
            };
        }
        Ok(())
    }

    /// Stop: say goodbye (records with TTL 0) on every interface if anything was announced,
    /// and answer nothing more. Drain [`Responder::poll_transmit`] afterwards.
    pub fn shutdown(&mut self, _now: Instant) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.round = self.is_announced().then_some((Round::Goodbye, 0));
        self.queue.clear();
        self.phase = Phase::Stopped;
    }

    /// Return the next thing worth logging.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Return when [`Responder::poll_transmit`] next has work, if ever.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.round.is_some() {
            return Some(Instant::ZERO);
        }
        let phase = match self.phase {
            Phase::Wait { until } => Some(until),
            Phase::Probe { next, .. } | Phase::Announce { next, .. } => Some(next),
            Phase::Run | Phase::Stopped => None,
        };
        let queued = self.queue.iter().map(|p| p.at).min();
        match (phase, queued) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Compose the next packet due at `now` into `out` (at least [`SEND_MAX`](crate::SEND_MAX) bytes is
    /// enough; a smaller buffer drops what does not fit) and say where it goes.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<Transmit> {
        self.advance(now);
        if let Some(t) = self.next_of_round(now, out) {
            self.remember(now, &t, out);
            return Some(t);
        }
        while let Some(i) = self.queue.iter().position(|p| p.at <= now) {
            let Some(p) = self.take_queued(i) else {
                break;
            };
            if let Some(t) = self.compose_answer(now, &p, out) {
                self.remember(now, &t, out);
                return Some(t);
            }
        }
        None
    }

    /// Handle one packet that arrived on UDP port 5353.
    pub fn handle(&mut self, now: Instant, packet: &[u8], source: Source) {
        if self.phase == Phase::Stopped {
            return;
        }
        let Some(slot) = self
            .slots
            .iter()
            .position(|s| s.iface.index() == source.iface)
        else {
            return;
        };
        if !self.slots[slot].iface.on_link(source.addr.ip()) || self.is_own(now, packet) {
            return;
        }
        let Ok(msg) = Message::from_octets(packet) else {
            return;
        };
        let header = msg.header();
        // RFC 6762 section 18: other opcodes and non-zero rcodes are silently ignored.
        if header.opcode() != Opcode::QUERY || header.rcode() != Rcode::NOERROR {
            return;
        }
        if header.qr() {
            self.on_response(now, &msg);
        } else {
            self.on_query(now, &msg, source, slot);
        }
    }

    /// Move the phase on if its time has come, starting a round of probes or announcements.
    fn advance(&mut self, now: Instant) {
        if self.round.is_some() {
            return;
        }
        match self.phase {
            Phase::Wait { until } if now >= until => {
                self.phase = Phase::Probe { sent: 0, next: now };
                self.advance(now);
            }
            Phase::Probe { sent, next } if now >= next => {
                if sent < PROBES {
                    self.round = Some((Round::Probe, 0));
                    self.phase = Phase::Probe {
                        sent: sent + 1,
                        next: now + PROBE_INTERVAL,
                    };
                } else {
                    self.phase = Phase::Announce { sent: 0, next: now };
                    self.advance(now);
                }
            }
            Phase::Announce { sent, next } if now >= next => {
                if sent < ANNOUNCEMENTS {
                    self.round = Some((Round::Announce, 0));
                    if sent == 0 {
                        let _ = self.events.push_back(Event::Announced);
                    }
                    self.phase = Phase::Announce {
                        sent: sent + 1,
                        next: now + ANNOUNCE_INTERVAL * (1 << sent),
                    };
                } else {
                    self.phase = Phase::Run;
                }
            }
            _ => {}
        }
    }

    /// Compose the next packet of the current round, if any is left.
    fn next_of_round(&mut self, now: Instant, out: &mut [u8]) -> Option<Transmit> {
        while let Some((kind, cursor)) = self.round {
            if cursor >= 2 * self.slots.len() {
                self.round = None;
                return None;
            }
            self.round = Some((kind, cursor + 1));
            let slot = &self.slots[cursor / 2];
            let family = if cursor % 2 == 0 {
                Family::V4
            } else {
                Family::V6
            };
            if !slot.iface.has(family) {
                continue;
            }
            let len = match kind {
                Round::Probe => self.compose_probe(slot, out),
                Round::Announce => {
                    let all = self.records.all(&slot.iface);
                    self.compose(&slot.iface, all, Set::EMPTY, TtlMode::Normal, None, out)
                }
                Round::Goodbye => {
                    let all = self.records.all(&slot.iface);
                    self.compose(&slot.iface, all, Set::EMPTY, TtlMode::Goodbye, None, out)
                }
            };
            let Some(len) = len else {
                continue;
            };
            let iface = slot.iface.index();
            if kind == Round::Announce {
                let all = self.records.all(&slot.iface);
                self.mark_sent(cursor / 2, family, all, now);
            }
            return Some(Transmit {
                iface,
                family,
                to: None,
                len,
            });
        }
        None
    }

    /// Take the queued answer at position `i`.
    fn take_queued(&mut self, i: usize) -> Option<Pending> {
        // Rotate it to the front, keeping the others in order.
        for _ in 0..i {
            let p = self.queue.pop_front()?;
            let _ = self.queue.push_back(p);
        }
        let p = self.queue.pop_front();
        for _ in i..self.queue.len() {
            if let Some(q) = self.queue.pop_front() {
                let _ = self.queue.push_back(q);
            }
        }
        p
    }

    /// Compose a queued answer, leaving out records multicast too recently.
    fn compose_answer(&mut self, now: Instant, p: &Pending, out: &mut [u8]) -> Option<Transmit> {
        let slot = self.slots.iter().position(|s| s.iface.index() == p.iface)?;
        let iface = &self.slots[slot].iface;
        if !iface.has(p.family) && p.to.is_none() {
            return None;
        }
        let (mode, legacy) = match &p.legacy {
            Some((id, asked)) => (TtlMode::Legacy, Some((*id, asked.as_slice()))),
            None => (TtlMode::Normal, None),
        };
        let len = self.compose(iface, p.answers, p.additional, mode, legacy, out)?;
        if p.to.is_none() {
            self.mark_sent(slot, p.family, p.answers, now);
        }
        Some(Transmit {
            iface: p.iface,
            family: p.family,
            to: p.to,
            len,
        })
    }

    /// Note that `set` was multicast on a slot and family at `now`.
    fn mark_sent(&mut self, slot: usize, family: Family, set: Set, now: Instant) {
        if let Some(s) = self.slots.get_mut(slot) {
            for r in set.iter() {
                s.last[fam(family)][r.index()] = Some(now);
            }
        }
    }

    /// Remember a multicast packet's fingerprint, to ignore it when it loops back.
    fn remember(&mut self, now: Instant, t: &Transmit, out: &[u8]) {
        if t.to.is_none() {
            let bytes = out.get(..t.len).unwrap_or_default();
            self.own[self.own_next] = (fingerprint(bytes), Some(now));
            self.own_next = (self.own_next + 1) % OWN_SENT;
        }
    }

    /// Return whether `packet` is one we multicast lately, looped back to us.
    fn is_own(&self, now: Instant, packet: &[u8]) -> bool {
        let f = fingerprint(packet);
        self.own
            .iter()
            .any(|&(h, at)| h == f && at.is_some_and(|at| now.duration_since(at) < OWN_MEMORY))
    }

    /// Return a pseudo-random duration of `lo..=hi` milliseconds (xorshift; the seed varies
    /// it between hosts, which is all the delays need).
    fn random_ms(&mut self, lo: u64, hi: u64) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        Duration::from_millis(lo + self.rng % (hi - lo + 1))
    }
}

mod compose;
mod conflict;
mod query;
#[cfg(test)]
mod tests;
