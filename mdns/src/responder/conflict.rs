//! Conflicts over our names: another host's answer that contradicts ours (RFC 6762 section 9),
//! a rival probing for the same name at the same time (section 8.2), and renaming.

use core::cmp::Ordering;
use std::net::IpAddr;

use chat_core::Instant;
use domain::base::iana::Rtype;
use domain::base::message::RecordSection;
use domain::base::rdata::ComposeRecordData;
use domain::base::{Message, ParsedName, ParsedRecord, ToName};
use domain::dep::octseq::Array;
use domain::rdata::{Aaaa, Srv, Txt, A};

use super::{
    Event, Phase, Responder, Which, CONFLICT_BACKOFF, CONFLICT_LIMIT, CONFLICT_WINDOW,
    TIEBREAK_RECORDS,
};
use crate::records::{Records, IN, MAX_SERVICES, TOP_BIT};

impl Responder {
    /// Read a response: someone else's record for one of our unique names, with other data,
    /// is a conflict (sections 8.1 and 9).
    pub(super) fn on_response(&mut self, now: Instant, msg: &Message<&[u8]>) {
        let mut instance = false;
        let mut host = false;
        for section in [msg.answer(), msg.additional()] {
            let Ok(section) = section else {
                break;
            };
            for rr in section {
                let Ok(rr) = rr else {
                    break;
                };
                if rr.ttl().as_secs() == 0 || rr.class().to_int() & !TOP_BIT != IN {
                    continue;
                }
                match self.conflicting(&rr) {
                    Some(Which::Instance) => instance = true,
                    Some(Which::Host) => host = true,
                    None => {}
                }
            }
        }
        if instance {
            self.conflict(now, Which::Instance);
        }
        if host {
            self.conflict(now, Which::Host);
        }
    }

    /// Return which of our names `rr` conflicts with, if any.
    pub(super) fn conflicting(&self, rr: &ParsedRecord<'_, &[u8]>) -> Option<Which> {
        let owner = rr.owner();
        if owner.name_eq(&self.records.host) {
            let addr = match rr.rtype() {
                Rtype::A => IpAddr::V4(rr.to_record::<A>().ok()??.data().addr()),
                Rtype::AAAA => IpAddr::V6(rr.to_record::<Aaaa>().ok()??.data().addr()),
                _ => return None,
            };
            let ours = self.slots.iter().any(|s| s.iface.owns(addr));
            return (!ours).then_some(Which::Host);
        }
        let s = self
            .records
            .services
            .iter()
            .find(|s| owner.name_eq(&s.instance))?;
        let same = match rr.rtype() {
            Rtype::SRV => {
                let srv = rr.to_record::<Srv<ParsedName<&[u8]>>>().ok()??;
                let d = srv.data();
                d.port() == s.service.port
                    && d.priority() == 0
                    && d.weight() == 0
                    && d.target().name_eq(&self.records.host)
            }
            Rtype::TXT => {
                let txt = rr.to_record::<Txt<&[u8]>>().ok()??;
                Some(txt.data()) == s.service.txt.txt().as_ref()
            }
            _ => return None,
        };
        (!same).then_some(Which::Instance)
    }

    /// React to a conflict on `which`: rename while probing, probe again once announced.
    pub(super) fn conflict(&mut self, now: Instant, which: Which) {
        match self.phase {
            Phase::Wait { .. } | Phase::Probe { .. } => {
                self.rename(which);
                let _ = self.events.push_back(Event::Renamed(which));
                if self.conflicts.is_full() {
                    self.conflicts.pop_front();
                }
                let _ = self.conflicts.push_back(now);
                let busy = self.conflicts.len() == CONFLICT_LIMIT
                    && self
                        .conflicts
                        .front()
                        .is_some_and(|&t| now.duration_since(t) < CONFLICT_WINDOW);
                self.phase = if busy {
                    Phase::Wait {
                        until: now + CONFLICT_BACKOFF,
                    }
                } else {
                    Phase::Probe { sent: 0, next: now }
                };
                self.round = None;
            }
            Phase::Announce { .. } | Phase::Run => {
                let _ = self.events.push_back(Event::Conflict(which));
                self.phase = Phase::Probe { sent: 0, next: now };
                self.round = None;
                self.queue.clear();
            }
            Phase::Stopped => {}
        }
    }

    /// Take the next name for `which` and rebuild the records.
    pub(super) fn rename(&mut self, which: Which) {
        match which {
            Which::Instance => {
                self.instance_renames = self.instance_renames.saturating_add(1);
                self.instance = self
                    .base_instance
                    .numbered(self.instance_renames.saturating_add(1));
            }
            Which::Host => {
                self.host_renames = self.host_renames.saturating_add(1);
                self.host = self.base_host.numbered(self.host_renames.saturating_add(1));
            }
        }
        if let Ok(r) = Records::new(&self.instance, &self.host, &self.services) {
            self.records = r;
        }
    }

    /// Compare a rival probe's proposed records with ours for each name both claim; return
    /// true if theirs sort later, which makes us the loser (section 8.2).
    pub(super) fn lost_tiebreak(&self, msg: &Message<&[u8]>, slot: usize) -> bool {
        let iface = &self.slots[slot].iface;
        let mut names: heapless::Vec<(Which, Option<u8>), { MAX_SERVICES + 1 }> =
            heapless::Vec::new();
        let _ = names.push((Which::Host, None));
        for i in 0..self.records.services.len() {
            let _ = names.push((Which::Instance, Some(i as u8)));
        }
        for (which, service) in names {
            let name = match service {
                Some(i) => match self.records.services.get(usize::from(i)) {
                    Some(s) => &s.instance,
                    None => continue,
                },
                None => &self.records.host,
            };
            let Some(theirs) = rival_records(msg, name) else {
                continue;
            };
            let mut ours = Sorted::new();
            match (which, service) {
                (Which::Host, _) => {
                    for a in iface.v4() {
                        ours.add(Rtype::A.to_int(), &a.octets());
                    }
                    for a in iface.v6() {
                        ours.add(Rtype::AAAA.to_int(), &a.octets());
                    }
                }
                (Which::Instance, Some(i)) => {
                    let Some(s) = self.records.services.get(usize::from(i)) else {
                        continue;
                    };
                    let mut buf = Array::<300>::new();
                    if Srv::new(0, 0, s.service.port, &self.records.host)
                        .compose_rdata(&mut buf)
                        .is_ok()
                    {
                        ours.add(Rtype::SRV.to_int(), buf.as_ref());
                    }
                    ours.add(Rtype::TXT.to_int(), s.service.txt.rdata());
                }
                (Which::Instance, None) => continue,
            }
            if theirs.cmp_records(&ours) == Ordering::Greater {
                return true;
            }
        }
        false
    }
}

/// Records of one name, as (type, uncompressed rdata), kept sorted for a tie-break.
struct Sorted {
    recs: heapless::Vec<(u16, Array<300>), TIEBREAK_RECORDS>,
}

impl Sorted {
    fn new() -> Sorted {
        Sorted {
            recs: heapless::Vec::new(),
        }
    }

    /// Add a record (data past 300 bytes is cut: it still sorts after anything shorter).
    fn add(&mut self, rtype: u16, rdata: &[u8]) {
        let mut a = Array::<300>::new();
        let _ = domain::dep::octseq::builder::OctetsBuilder::append_slice(
            &mut a,
            &rdata[..rdata.len().min(300)],
        );
        let at = self
            .recs
            .iter()
            .position(|(t, d)| (rtype, rdata) < (*t, d.as_ref()))
            .unwrap_or(self.recs.len());
        let _ = self.recs.insert(at, (rtype, a));
    }

    /// Compare two lists record by record; if one is a prefix of the other, the longer
    /// one is later.
    fn cmp_records(&self, other: &Sorted) -> Ordering {
        for (a, b) in self.recs.iter().zip(&other.recs) {
            let o = (a.0, a.1.as_ref()).cmp(&(b.0, b.1.as_ref()));
            if o != Ordering::Equal {
                return o;
            }
        }
        self.recs.len().cmp(&other.recs.len())
    }
}

/// Return the records a probe proposes for `name` (its authority section), or `None` if it
/// proposes none.
fn rival_records(msg: &Message<&[u8]>, name: &impl ToName) -> Option<Sorted> {
    let section: RecordSection<'_, &[u8]> = msg.authority().ok()?;
    let mut found = Sorted::new();
    let mut any = false;
    for rr in section {
        let Ok(rr) = rr else {
            break;
        };
        if !rr.owner().name_eq(name) {
            continue;
        }
        any = true;
        if rr.rtype() == Rtype::SRV {
            // Its target name may be compressed: compose it plain, as section 8.2 compares.
            if let Ok(Some(srv)) = rr.to_record::<Srv<ParsedName<&[u8]>>>() {
                let mut buf = Array::<300>::new();
                if srv.data().compose_rdata(&mut buf).is_ok() {
                    found.add(Rtype::SRV.to_int(), buf.as_ref());
                }
            }
        } else if rr.rtype() == Rtype::TXT {
            if let Ok(Some(t)) = rr.to_record::<Txt<&[u8]>>() {
                let mut buf = Array::<300>::new();
                // Data past 300 bytes is cut (see `Sorted::add`).
                let _ = t.data().compose_rdata(&mut buf);
                found.add(Rtype::TXT.to_int(), buf.as_ref());
            }
        } else if let Ok(Some(a)) = rr.to_record::<A>() {
            found.add(Rtype::A.to_int(), &a.data().addr().octets());
        } else if let Ok(Some(a)) = rr.to_record::<Aaaa>() {
            found.add(Rtype::AAAA.to_int(), &a.data().addr().octets());
        }
        // Other types (none that chatd proposes) are left out of the comparison.
    }
    any.then_some(found)
}
