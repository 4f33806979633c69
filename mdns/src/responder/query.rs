//! Answering queries: which of our records a question asks for, what the querier already
//! knows, and when the answer goes out.

use chat_core::Instant;
use domain::base::iana::Rtype;
use domain::base::{Message, ParsedName, ToName};
use domain::rdata::Ptr;

use super::{
    fam, family_of, Asked, Event, Pending, Phase, Responder, Source, DEFENSE_GAP, MULTICAST_GAP,
    SHARED_DELAY_MS, TIEBREAK_WAIT,
};
use crate::records::{Rec, Set, ANY, IN, TOP_BIT};
use crate::PORT;

impl Responder {
    /// Read a query: while probing, check it for a rival probe; once announced, answer it.
    pub(super) fn on_query(
        &mut self,
        now: Instant,
        msg: &Message<&[u8]>,
        source: Source,
        slot: usize,
    ) {
        if let Phase::Probe { .. } = self.phase {
            if self.lost_tiebreak(msg, slot) {
                let _ = self.events.push_back(Event::LostTieBreak);
                self.phase = Phase::Wait {
                    until: now + TIEBREAK_WAIT,
                };
                self.round = None;
            }
            return;
        }
        if !self.is_announced() {
            return;
        }
        let legacy = source.addr.port() != PORT;
        let iface = &self.slots[slot].iface;
        let mut answers = Set::EMPTY;
        let mut asked: heapless::Vec<(Asked, Rtype), 4> = heapless::Vec::new();
        for q in msg.question() {
            let Ok(q) = q else {
                break;
            };
            let class = q.qclass().to_int() & !TOP_BIT;
            if class != IN && class != ANY {
                continue;
            }
            let found = self.records.answers_to(q.qname(), q.qtype(), iface);
            if found.is_empty() {
                continue;
            }
            answers = answers.union(found);
            if legacy {
                if let Some(what) = self.asked(q.qname()) {
                    let _ = asked.push((what, q.qtype()));
                }
            }
        }
        answers = answers.minus(self.known_answers(msg));
        if answers.is_empty() {
            return;
        }
        let additional = self.records.additional_for(answers, iface);
        let family = family_of(&source.addr);
        if legacy {
            let p = Pending {
                at: now,
                iface: source.iface,
                family,
                to: Some(source.addr),
                answers,
                additional,
                legacy: Some((msg.header().id(), asked)),
            };
            let _ = self.queue.push_back(p);
            return;
        }
        let defense = msg.header_counts().nscount() > 0;
        let gap = if defense { DEFENSE_GAP } else { MULTICAST_GAP };
        let last = &self.slots[slot].last[fam(family)];
        for r in answers.iter() {
            if last[r.index()].is_some_and(|t| now.duration_since(t) < gap) {
                answers = answers.without(r);
            }
        }
        if answers.is_empty() {
            return;
        }
        let at = if answers.has_shared() && !defense {
            let (lo, hi) = SHARED_DELAY_MS;
            now + self.random_ms(lo, hi)
        } else {
            now
        };
        // One answer per interface and family at a time: a new query joins the waiting one.
        if let Some(p) = self
            .queue
            .iter_mut()
            .find(|p| p.to.is_none() && p.iface == source.iface && p.family == family)
        {
            p.answers = p.answers.union(answers);
            p.additional = p.additional.union(additional).minus(p.answers);
            p.at = p.at.min(at);
            return;
        }
        let _ = self.queue.push_back(Pending {
            at,
            iface: source.iface,
            family,
            to: None,
            answers,
            additional,
            legacy: None,
        });
    }

    /// Return which of our names `qname` is, for repeating a legacy question.
    pub(super) fn asked(&self, qname: &ParsedName<&[u8]>) -> Option<Asked> {
        if qname.name_eq(&self.records.enumeration) {
            return Some(Asked::Enumeration);
        }
        if qname.name_eq(&self.records.host) {
            return Some(Asked::Host);
        }
        for (i, s) in self.records.services.iter().enumerate() {
            if qname.name_eq(&s.type_name) {
                return Some(Asked::Type(i as u8));
            }
            if qname.name_eq(&s.instance) {
                return Some(Asked::Instance(i as u8));
            }
        }
        None
    }

    /// Return our records the querier already knows with at least half their TTL left
    /// (known-answer suppression, section 7.1).
    pub(super) fn known_answers(&self, msg: &Message<&[u8]>) -> Set {
        let mut known = Set::EMPTY;
        let Ok(section) = msg.answer() else {
            return known;
        };
        for rr in section {
            let Ok(rr) = rr else {
                break;
            };
            let owner = rr.owner();
            let ttl = rr.ttl().as_secs();
            for (i, s) in self.records.services.iter().enumerate() {
                let i = i as u8;
                let r = match rr.rtype() {
                    Rtype::PTR => {
                        let Ok(Some(p)) = rr.to_record::<Ptr<ParsedName<&[u8]>>>() else {
                            continue;
                        };
                        let target = p.data().ptrdname();
                        if owner.name_eq(&s.type_name) && target.name_eq(&s.instance) {
                            Rec::Ptr(i)
                        } else if owner.name_eq(&self.records.enumeration)
                            && target.name_eq(&s.type_name)
                        {
                            Rec::Enum(i)
                        } else {
                            continue;
                        }
                    }
                    Rtype::SRV | Rtype::TXT if owner.name_eq(&s.instance) => {
                        // Same name and type and no conflict: the same record.
                        if self.conflicting(&rr).is_some() {
                            continue;
                        }
                        if rr.rtype() == Rtype::SRV {
                            Rec::Srv(i)
                        } else {
                            Rec::Txt(i)
                        }
                    }
                    _ => continue,
                };
                if ttl >= r.ttl() / 2 {
                    known = known.with(r);
                }
            }
        }
        known
    }
}
